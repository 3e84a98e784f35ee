import { onMariadb } from './helpers.ts';
import { queueLossSuite } from './queue-loss-suite.ts';

onMariadb('queue loss', () => queueLossSuite('mariadb'));
