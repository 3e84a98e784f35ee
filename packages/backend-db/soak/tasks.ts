/**
 * The soak test's task: every run appends its start and end to an append-only log file (one
 * JSON line each), so the runs can be checked against the rows afterwards.
 */
import { appendFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { task } from '@djtasks/tasks';

function log(entry: Record<string, unknown>): void {
  const file = process.env['DJTASKS_SOAK_LOG'];
  if (!file) throw new Error('DJTASKS_SOAK_LOG is not set');
  appendFileSync(file, `${JSON.stringify({ ...entry, pid: process.pid, t: Date.now() })}\n`);
}

/** Log the start, work for `ms` (watching the signal), log the end and return the attempt. */
export const soakTask = task(
  { name: 'soak.task', takesContext: true, maxAttempts: 10, backoff: () => 0 },
  async (context, ms: number) => {
    const { id } = context.taskResult;
    const attempt = context.attempt;
    log({ id, attempt, event: 'start' });
    try {
      await sleep(ms, undefined, { signal: context.signal });
    } catch {
      log({ id, attempt, event: 'aborted' });
      throw new Error(`attempt ${attempt} aborted`);
    }
    log({ id, attempt, event: 'end' });
    return attempt;
  },
);
