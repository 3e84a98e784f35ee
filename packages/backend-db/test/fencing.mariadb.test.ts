import { fencingSuite } from './fencing-suite.ts';
import { onMariadb } from './helpers.ts';

onMariadb('fencing', () => fencingSuite('mariadb'));
