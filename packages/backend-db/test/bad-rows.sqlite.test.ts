import { badRowsSuite } from './bad-rows-suite.ts';

badRowsSuite('sqlite');
