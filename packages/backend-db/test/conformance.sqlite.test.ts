import { conformance } from './conformance.ts';

conformance('sqlite');
