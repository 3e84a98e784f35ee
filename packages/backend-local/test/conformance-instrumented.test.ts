// The conformance suite again, with threads whose setup added an `execute` instrumentation
// hook: each task then waits in its thread for the attempt metadata the main thread sends,
// and timeouts, cancellation (before and while it runs) and closing must still work.
import { describe, expect, it } from 'vitest';
import { describeBackendConformance, waitForResult } from '@djtasks/tasks/testing';
import { ThreadPoolBackend } from '@djtasks/backend-local';
import { executeHookCalls } from './fixtures/thread-tasks.ts';
import { useThreadPool } from './helpers.ts';

describeBackendConformance('ThreadPoolBackend with instrumented threads', {
  backend: () => ({
    backend: ThreadPoolBackend,
    options: {
      maxWorkers: 2,
      closeTimeoutMs: 2_000,
      abortTimeoutMs: 500,
      threadSetup: new URL('./fixtures/instrumented-setup.ts', import.meta.url),
    },
  }),
  executes: true,
  isolatesProcessExit: true,
});

describe('ThreadPoolBackend with an instrumented thread', () => {
  it("runs each task's function through the thread's execute hook", async () => {
    useThreadPool({
      maxWorkers: 1,
      threadSetup: new URL('./fixtures/instrumented-setup.ts', import.meta.url),
    });
    const first = await executeHookCalls.enqueue();
    await waitForResult(first, { timeoutMs: 30_000 });
    const second = await executeHookCalls.enqueue();
    await waitForResult(second, { timeoutMs: 30_000 });
    expect([first.returnValue, second.returnValue]).toEqual([1, 2]);
  });
});
