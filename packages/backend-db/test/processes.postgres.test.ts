import { processSuite } from './process-suite.ts';

processSuite('postgresql', { workers: 3, tasks: 3000 });
