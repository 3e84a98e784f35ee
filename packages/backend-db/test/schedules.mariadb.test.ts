import { schedulesSuite } from './schedules-suite.ts';
import { onMariadb } from './helpers.ts';

onMariadb('schedules', () => schedulesSuite('mariadb', 2));
