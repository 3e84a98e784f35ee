import { fencingSuite } from './fencing-suite.ts';

fencingSuite('sqlite');
