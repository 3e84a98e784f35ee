import { processSuite } from './process-suite.ts';

processSuite('sqlite', { workers: 2, tasks: 2000 });
