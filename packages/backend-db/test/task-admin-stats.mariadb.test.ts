import { onMariadb } from './helpers.ts';
import { taskAdminStatsSuite } from './task-admin-stats-suite.ts';

onMariadb('task admin statistics', () => taskAdminStatsSuite('mariadb'));
