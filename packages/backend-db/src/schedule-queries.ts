/**
 * The schedule table's SQL. A tick is fired by moving the schedule's `last_tick_at` forward to
 * it (compare-and-set: only if it is still earlier) in the transaction that inserts the task,
 * so of any number of workers racing for one tick exactly one inserts its task: PostgreSQL
 * makes the others wait on the row and then re-check `last_tick_at < tick`, SQLite runs one
 * writer at a time.
 */
import type { EntityManager } from '@mikro-orm/sql';
import { dbDate, readDate, type DialectName } from './dialect.ts';
import { claimTickMysql, insertScheduleMysql } from './mysql-queries.ts';
import { SCHEDULE_TABLE as S } from './schema.ts';

/** One schedule's row. */
export interface ScheduleRow {
  name: string;
  lastTickAt: Date;
  lastTaskId: string | null;
}

/** The rows of `backendName`'s schedules. */
export async function selectSchedules(
  em: EntityManager,
  backendName: string,
): Promise<ScheduleRow[]> {
  const rows = await em.execute<
    { name: string; last_tick_at: unknown; last_task_id: string | null }[]
  >(`select name, last_tick_at, last_task_id from ${S} where backend_name = ?`, [backendName]);
  return rows.map((row) => ({
    name: row.name,
    lastTickAt: readDate(row.last_tick_at)!,
    lastTaskId: row.last_task_id,
  }));
}

/**
 * Record a schedule first seen now: its ticks count from `now` (none before it is filled).
 * Does nothing if another worker recorded it first.
 */
export async function insertSchedule(
  em: EntityManager,
  dialect: DialectName,
  backendName: string,
  name: string,
  now: Date,
): Promise<void> {
  if (dialect === 'mysql') return insertScheduleMysql(em, backendName, name, now);
  await em.execute(
    `insert into ${S} (backend_name, name, last_tick_at) values (?, ?, ?) on conflict do nothing`,
    [backendName, name, dbDate(dialect, now)],
    'run',
  );
}

/**
 * Claim `tick` of schedule `name`: true if this transaction moved `last_tick_at` forward to
 * it, false if another worker fired it (or a later tick) already.
 */
export async function claimTick(
  em: EntityManager,
  dialect: DialectName,
  backendName: string,
  name: string,
  tick: Date,
): Promise<boolean> {
  if (dialect === 'mysql') return claimTickMysql(em, backendName, name, tick);
  const rows = await em.execute<{ name: string }[]>(
    `update ${S} set last_tick_at = ? ` +
      `where backend_name = ? and name = ? and last_tick_at < ? returning name`,
    [dbDate(dialect, tick), backendName, name, dbDate(dialect, tick)],
  );
  return rows.length === 1;
}

/** Record the task that the schedule's last tick enqueued. */
export async function recordTickTask(
  em: EntityManager,
  backendName: string,
  name: string,
  taskId: string,
): Promise<void> {
  await em.execute(
    `update ${S} set last_task_id = ? where backend_name = ? and name = ?`,
    [taskId, backendName, name],
    'run',
  );
}
