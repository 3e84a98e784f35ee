import { badRowsSuite } from './bad-rows-suite.ts';
import { onMariadb } from './helpers.ts';

onMariadb('bad rows', () => badRowsSuite('mariadb'));
