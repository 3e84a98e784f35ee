/** The task admin API for schedules: the results a schedule's ticks enqueued, newest first. */
import type { EntityManager } from '@mikro-orm/sql';
import type { DatabaseBackend } from './backend.ts';
import { dialectOf } from './dialect.ts';
import { InvalidResultQuery } from './task-admin-errors.ts';
import { selectRowsByKeyPrefix } from './task-admin-queries.ts';
import { summaryOf, type TaskResultSummary } from './task-admin-rows.ts';

/**
 * The results that schedule `schedule.name` enqueued (its task, keyed `schedule:<name>:<tick>`
 * as every worker keys a tick), newest tick first, at most `limit` (1 to 1000, default 5).
 * Read through the unique key index of migration 0008.
 */
export async function listScheduleResults(
  backend: DatabaseBackend,
  schedule: { name: string; task: string },
  limit = 5,
): Promise<TaskResultSummary[]> {
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
    throw new InvalidResultQuery('limit', `must be a whole number from 1 to 1000 (got ${limit})`);
  const em = (await backend.getOrm()).em.fork() as unknown as EntityManager;
  // The prefix of `tickKey(schedule, tick)` in @djtasks/tasks: the ISO tick after it sorts by time.
  const rows = await selectRowsByKeyPrefix(
    em,
    dialectOf(em),
    backend.alias,
    schedule.task,
    `schedule:${schedule.name}:`,
    limit,
  );
  return rows.map(summaryOf);
}
