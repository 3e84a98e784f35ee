import { schedulesSuite } from './schedules-suite.ts';

schedulesSuite('postgresql', 3);
