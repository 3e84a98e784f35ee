import { taskAdminSuite } from './task-admin-suite.ts';

taskAdminSuite('sqlite');
