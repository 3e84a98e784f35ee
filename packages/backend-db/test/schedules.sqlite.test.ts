import { schedulesSuite } from './schedules-suite.ts';

schedulesSuite('sqlite', 2);
