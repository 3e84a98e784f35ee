import { cancelSuite } from './cancel-suite.ts';
import { onMariadb } from './helpers.ts';

onMariadb('cancellation', () => cancelSuite('mariadb'));
