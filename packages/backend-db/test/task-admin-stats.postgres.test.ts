import { taskAdminStatsSuite } from './task-admin-stats-suite.ts';

taskAdminStatsSuite('postgresql');
