import { processSuite } from './process-suite.ts';
import { onMariadb } from './helpers.ts';

onMariadb('worker processes', () => processSuite('mariadb', { workers: 3, tasks: 2000 }));
