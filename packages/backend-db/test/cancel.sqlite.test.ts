import { cancelSuite } from './cancel-suite.ts';

cancelSuite('sqlite');
