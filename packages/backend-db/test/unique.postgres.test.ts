import { uniqueSuite } from './unique-suite.ts';

uniqueSuite('postgresql');
