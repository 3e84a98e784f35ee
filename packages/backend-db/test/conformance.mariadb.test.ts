import { conformance } from './conformance.ts';
import { onMariadb } from './helpers.ts';

onMariadb('conformance', () => conformance('mariadb'));
