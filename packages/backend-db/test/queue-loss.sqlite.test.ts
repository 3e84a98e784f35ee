import { queueLossSuite } from './queue-loss-suite.ts';

queueLossSuite('sqlite');
