import { taskAdminSuite } from './task-admin-suite.ts';
import { onMariadb } from './helpers.ts';

onMariadb('task admin', () => taskAdminSuite('mariadb'));
