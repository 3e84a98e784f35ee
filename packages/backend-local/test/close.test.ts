import { BroadcastChannel } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { TaskResultStatus, type TaskResult } from '@djtasks/tasks';
import { blocksCpu, neverEnding, noop, sleeps, waitForResult } from '@djtasks/tasks/testing';
import { SETUP_CHANNEL } from './fixtures/setup.ts';
import { threadInfo } from './fixtures/thread-tasks.ts';
import { useThreadPool } from './helpers.ts';

const running = <T>(result: TaskResult<T>) =>
  waitForResult(result, { until: (r) => r.status !== TaskResultStatus.READY });

describe('ThreadPoolBackend close()', () => {
  it('lets running tasks finish within closeTimeoutMs', async () => {
    const { backend } = useThreadPool({ maxWorkers: 2, closeTimeoutMs: 10_000 });
    const results = [await sleeps.enqueue(300), await sleeps.enqueue(300)];
    for (const result of results) await running(result);
    await backend.close();
    for (const result of results) {
      await result.refresh();
      expect(result.status).toBe(TaskResultStatus.SUCCESSFUL);
      expect(result.returnValue).toBe(300);
    }
    expect(backend.stats.threads).toBe(0);
  });

  it('fires the signal of tasks still running after closeTimeoutMs', async () => {
    const { backend } = useThreadPool({ maxWorkers: 1, closeTimeoutMs: 50 });
    const result = await running(await neverEnding.enqueue());
    await backend.close();
    await result.refresh();
    expect(result.status).toBe(TaskResultStatus.FAILED);
    expect(result.errors[0]?.message).toBe('aborted by the backend');
  });

  it('terminates threads whose task ignores its signal', async () => {
    const { backend } = useThreadPool({ maxWorkers: 1, closeTimeoutMs: 50, abortTimeoutMs: 50 });
    const result = await running(await blocksCpu.enqueue(60_000));
    await backend.close();
    await result.refresh();
    expect(result.status).toBe(TaskResultStatus.FAILED);
    expect(result.errors[0]?.exceptionClassPath).toBe('WorkerThreadError');
    expect(result.errors[0]?.message).toContain('terminated by close()');
    expect(backend.stats.threads).toBe(0);
  });

  it('logs the queued and deferred tasks it drops as lost, and refuses new ones', async () => {
    const { backend, logger } = useThreadPool({ maxWorkers: 1 });
    const busy = await running(await sleeps.enqueue(200));
    const queued = await noop.enqueueMany([[], [], []]);
    const deferred = await noop.using({ runAfter: new Date(Date.now() + 60_000) }).enqueue();
    expect(backend.stats).toMatchObject({ queued: 3, deferred: 1, running: 1 });
    await backend.close();

    await busy.refresh();
    expect(busy.status).toBe(TaskResultStatus.SUCCESSFUL);
    const lost = logger.lines.find((line) => line.text.includes('they are lost'));
    expect(lost?.level).toBe('warn');
    expect(lost?.text).toContain('closed with 4 task(s) that had not run');
    for (const result of [...queued, deferred]) {
      expect(lost?.text).toContain(`id=${result.id}`);
      await result.refresh();
      expect(result.status).toBe(TaskResultStatus.READY);
    }
    await expect(noop.enqueue()).rejects.toThrow(
      "ThreadPoolBackend 'default' is closed; cannot enqueue task 'djtasks.fixtures.noop'.",
    );
    await expect(backend.close()).resolves.toBeUndefined();
  });

  it('runs the threadSetup hook once per thread and its teardown on close', async () => {
    const channel = new BroadcastChannel(SETUP_CHANNEL);
    const events: { event: string; workerId: string }[] = [];
    channel.onmessage = (message) => {
      events.push((message as { data: { event: string; workerId: string } }).data);
    };
    try {
      const { backend } = useThreadPool({
        maxWorkers: 2,
        threadSetup: new URL('./fixtures/setup.ts', import.meta.url),
      });
      const results = await threadInfo.enqueueMany(Array.from({ length: 6 }, () => []));
      for (const result of results) {
        await waitForResult(result);
        expect(result.returnValue.setupCalls).toBe(1);
      }
      await backend.close();
      await waitFor(() => events.filter((e) => e.event === 'teardown').length === 2);
      const setups = events.filter((e) => e.event === 'setup').map((e) => e.workerId);
      const teardowns = events.filter((e) => e.event === 'teardown').map((e) => e.workerId);
      expect(setups.sort()).toEqual(teardowns.sort());
      expect(new Set(results.map((r) => r.workerIds[0]))).toEqual(new Set(setups));
    } finally {
      channel.close();
    }
  });
});

async function waitFor(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(condition()).toBe(true);
}
