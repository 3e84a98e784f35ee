/**
 * Task work runs off the main thread: checked by a handshake, not by timing. Each task spins
 * without yielding until a file exists, and only the main thread's event loop (a timer) creates
 * it. If the work ran on the main thread, the timer could not fire until the spin gave up
 * (20 s, far beyond any scheduling delay), and the task would return false. How long the main
 * loop is delayed while tasks run is measured by `pnpm bench`, not asserted here.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { taskStarted, TaskResultStatus, type TaskSignalPayload } from '@djtasks/tasks';
import { waitForResult } from '@djtasks/tasks/testing';
import { spinsUntilFileExists } from './fixtures/thread-tasks.ts';
import { useThreadPool } from './helpers.ts';

const SPIN_CAP_MS = 20_000;

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'djtasks-event-loop-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Resolve once `taskStarted` has been sent `count` times (from now on). */
function startedCount(count: number): Promise<void> {
  let seen = 0;
  return new Promise((resolve) => {
    const receiver = (_payload: TaskSignalPayload): void => {
      if (++seen === count) {
        taskStarted.disconnect(receiver);
        resolve();
      }
    };
    taskStarted.connect(receiver);
  });
}

describe('ThreadPoolBackend and the main event loop', () => {
  it('keeps the main event loop turning while tasks spin in both threads', async () => {
    useThreadPool({ maxWorkers: 2 });
    const path = join(dir, 'go');
    const started = startedCount(2);
    const results = await spinsUntilFileExists.enqueueMany([
      [path, SPIN_CAP_MS],
      [path, SPIN_CAP_MS],
    ]);
    await started;
    // Both tasks are spinning now; this timer fires only if the main loop is free.
    await sleep(1);
    writeFileSync(path, '');
    for (const result of results) {
      await waitForResult(result, { timeoutMs: 60_000 });
      expect(result.status, JSON.stringify(result.errors)).toBe(TaskResultStatus.SUCCESSFUL);
      expect(result.returnValue).toBe(true);
    }
  }, 60_000);

  it('(control) the same spin on the main thread blocks the timer that would end it', async () => {
    const path = join(dir, 'go');
    const timer = setTimeout(() => writeFileSync(path, ''), 0);
    try {
      expect(await spinsUntilFileExists.call(path, 200)).toBe(false);
    } finally {
      clearTimeout(timer);
    }
  });
});
