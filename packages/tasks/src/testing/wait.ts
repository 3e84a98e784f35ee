import { setTimeout as sleep } from 'node:timers/promises';
import type { TaskResult } from '../result.ts';

/**
 * Refresh `result` until it is finished (or, with `until`, until `until(result)` holds),
 * polling with a growing interval. Rejects after `timeoutMs` with the last status seen.
 */
export async function waitForResult<TReturn>(
  result: TaskResult<TReturn>,
  options: { timeoutMs?: number; until?: (result: TaskResult<TReturn>) => boolean } = {},
): Promise<TaskResult<TReturn>> {
  const { timeoutMs = 10_000, until = (r: TaskResult<TReturn>) => r.isFinished } = options;
  const deadline = Date.now() + timeoutMs;
  let interval = 5;
  while (!until(result)) {
    if (Date.now() > deadline) {
      throw new Error(
        `Task result ${result.id} (${result.task.name}) did not reach the expected state within ${timeoutMs} ms; last status ${result.status}`,
      );
    }
    await sleep(interval);
    interval = Math.min(interval * 2, 100);
    await result.refresh();
  }
  return result;
}
