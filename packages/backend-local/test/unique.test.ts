import { describe, expect, it } from 'vitest';
import { TaskResultStatus } from '@djtasks/tasks';
import { neverEnding, noop, waitForResult } from '@djtasks/tasks/testing';
import { useThreadPool } from './helpers.ts';

describe('ThreadPoolBackend unique keys', () => {
  it('returns the queued or running task holding the key; the key is free once it has finished', async () => {
    const { backend } = useThreadPool({ maxWorkers: 1, closeTimeoutMs: 50, abortTimeoutMs: 50 });
    const running = await neverEnding.using({ uniqueKey: 'hold' }).enqueue();
    await waitForResult(running, { until: (r) => r.status === TaskResultStatus.RUNNING });
    const again = await neverEnding.using({ uniqueKey: 'hold' }).enqueue();
    expect(again.id).toBe(running.id);
    expect(again.status).toBe(TaskResultStatus.RUNNING);
    // Queued behind it (one thread): the same key returns the READY one, for every entry.
    const queued = await noop.using({ uniqueKey: 'q' }).enqueueMany([[], [], []]);
    expect(new Set(queued.map((result) => result.id)).size).toBe(1);
    expect(backend.stats.queued).toBe(1);
    await backend.cancel(running.id);
    await waitForResult(running, { until: (r) => r.isFinished });
    const first = queued[0]!;
    await waitForResult(first, { until: (r) => r.isFinished });
    expect(first.status).toBe(TaskResultStatus.SUCCESSFUL);
    const after = await noop.using({ uniqueKey: 'q' }).enqueue();
    expect(after.id).not.toBe(first.id);
    await waitForResult(after, { until: (r) => r.isFinished });
  });
});
