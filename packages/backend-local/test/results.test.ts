import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { TaskResultDoesNotExist, TaskResultStatus } from '@djtasks/tasks';
import { addNumbers, neverEnding, waitForResult } from '@djtasks/tasks/testing';
import { echoText } from './fixtures/thread-tasks.ts';
import { finishedCount, useThreadPool } from './helpers.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function heapAfterGc(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

describe('ThreadPoolBackend results', () => {
  it('forgets the oldest finished results beyond maxResults, never READY or RUNNING ones', async () => {
    const { backend } = useThreadPool({ maxWorkers: 2, maxResults: 5, closeTimeoutMs: 50 });
    const long = await neverEnding.enqueue();
    await waitForResult(long, { until: (r) => r.status === TaskResultStatus.RUNNING });
    const done = finishedCount(20);
    const quick = await addNumbers.enqueueMany(Array.from({ length: 20 }, (_, i) => [i, i]));
    // Nothing has run yet (the threads report in a later turn of the event loop).
    expect(backend.stats.results).toBe(21);
    await expect(addNumbers.getResult(quick[0]!.id)).resolves.toBeDefined();
    await done;

    expect(backend.stats.results).toBe(6);
    for (const result of quick.slice(0, 15)) {
      await expect(addNumbers.getResult(result.id)).rejects.toThrow(TaskResultDoesNotExist);
      await expect(result.refresh()).rejects.toThrow(
        `Task result '${result.id}' does not exist on backend 'default'`,
      );
    }
    for (const result of quick.slice(15)) {
      const kept = await addNumbers.getResult(result.id);
      expect(kept.returnValue.sum).toBe((result.args[0]! as number) * 2);
    }
    const stillRunning = await neverEnding.getResult(long.id);
    expect(stillRunning.status).toBe(TaskResultStatus.RUNNING);
  });

  it('keeps memory flat as the number of finished tasks grows', async () => {
    const { backend } = useThreadPool({ maxWorkers: 2, maxResults: 100 });
    const payload = (i: number) => `${i}:`.padEnd(4096, 'x');
    const run = async (from: number, count: number) => {
      const done = finishedCount(count);
      for (let i = from; i < from + count; i += 500) {
        await echoText.enqueueMany(
          Array.from({ length: Math.min(500, from + count - i) }, (_, j) => [payload(i + j)]),
        );
      }
      await done;
    };
    await run(0, 2_000);
    const before = heapAfterGc();
    await run(2_000, 8_000);
    const after = heapAfterGc();
    expect(backend.stats.results).toBe(100);
    // Kept, 8,000 more results would hold 8,000 × 2 × 4 KB = 64 MB (argument and return value).
    expect(after - before).toBeLessThan(16 * 1024 * 1024);
  });
});
