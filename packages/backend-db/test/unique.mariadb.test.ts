import { uniqueSuite } from './unique-suite.ts';
import { onMariadb } from './helpers.ts';

onMariadb('unique tasks', () => uniqueSuite('mariadb'));
