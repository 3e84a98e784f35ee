import { monitorEventLoopDelay } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { TaskResultStatus } from '@djtasks/tasks';
import { blocksCpu, waitForResult } from '@djtasks/tasks/testing';
import { useThreadPool } from './helpers.ts';

/** CPU time of each task; the main thread's delay must stay far below it. */
const TASK_MS = 400;

async function measure(work: () => Promise<void>) {
  const histogram = monitorEventLoopDelay({ resolution: 5 });
  histogram.enable();
  // The monitor measures between its own timer ticks; let it tick before the work starts.
  await new Promise((resolve) => setTimeout(resolve, 30));
  try {
    await work();
  } finally {
    histogram.disable();
  }
  return { p99Ms: histogram.percentile(99) / 1e6, maxMs: histogram.max / 1e6 };
}

describe('ThreadPoolBackend and the main event loop', () => {
  it('stays responsive while CPU-bound tasks run in the threads', async () => {
    useThreadPool({ maxWorkers: 2 });
    // Start the threads first, so that their start-up is not part of the measurement.
    await waitForResult(await blocksCpu.enqueue(1));
    const inThreads = await measure(async () => {
      const results = await blocksCpu.enqueueMany([[TASK_MS], [TASK_MS], [TASK_MS], [TASK_MS]]);
      for (const result of results) {
        await waitForResult(result);
        expect(result.status).toBe(TaskResultStatus.SUCCESSFUL);
      }
    });
    // The same work on the main thread shows what the monitor sees when the loop is blocked.
    const onMainThread = await measure(async () => {
      await blocksCpu.call(TASK_MS);
      await new Promise((resolve) => setTimeout(resolve, 20));
    });
    expect(onMainThread.maxMs).toBeGreaterThanOrEqual(TASK_MS * 0.9);
    expect(inThreads.p99Ms).toBeLessThan(TASK_MS / 4);
  });
});
