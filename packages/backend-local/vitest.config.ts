import { defineProject } from 'vitest/config';
import { V8_WASM_WORKAROUND } from '../../test-support/v8-wasm-workaround.ts';

export default defineProject({
  test: {
    name: 'backend-local',
    environment: 'node',
    include: ['test/**/*.test.ts'],
    // Real threads on a loaded 2-core machine: leave room, the tests themselves take ~1 s each.
    testTimeout: 30_000,
    // A V8 crash in worker threads that exit: see test-support/v8-wasm-workaround.ts.
    execArgv: V8_WASM_WORKAROUND,
  },
});
