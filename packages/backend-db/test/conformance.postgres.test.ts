import { conformance } from './conformance.ts';

conformance('postgresql');
