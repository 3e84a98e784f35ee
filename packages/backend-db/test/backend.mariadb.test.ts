import { backendSuite } from './backend-suite.ts';
import { onMariadb } from './helpers.ts';

onMariadb('backend suite', () => backendSuite('mariadb'));
