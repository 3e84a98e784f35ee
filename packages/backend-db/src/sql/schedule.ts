/**
 * The schedule table's SQL. A tick is fired by moving the schedule's `last_tick_at` forward to
 * it (compare-and-set: only if it is still earlier) in the transaction that inserts the task,
 * so of any number of workers racing for one tick exactly one inserts its task: PostgreSQL
 * makes the others wait on the row and then re-check `last_tick_at < tick`, SQLite runs one
 * writer at a time.
 */
import type { EntityManager } from '@mikro-orm/sql';
import { dbDate, readDate, type DialectName } from '../dialect.ts';
import { SCHEDULE_TABLE as S } from '../schema.ts';
import { runnerOf } from './runner.ts';
import type { Statement } from './statement.ts';

/** One schedule's row. */
export interface ScheduleRow {
  name: string;
  lastTickAt: Date;
  lastTaskId: string | null;
}

const SELECT_SCHEDULES: Statement = {
  name: 'djtasks_select_schedules',
  postgresql: `select name, last_tick_at, last_task_id from ${S} where backend_name = $1`,
  sqlite: `select name, last_tick_at, last_task_id from ${S} where backend_name = ?`,
  mysql: `select name, last_tick_at, last_task_id from ${S} where backend_name = ?`,
};

/** Backend, name, first tick. */
const INSERT_SCHEDULE: Statement = {
  name: 'djtasks_insert_schedule',
  postgresql: `insert into ${S} (backend_name, name, last_tick_at) values ($1, $2, $3) on conflict do nothing`,
  sqlite: `insert into ${S} (backend_name, name, last_tick_at) values (?, ?, ?) on conflict do nothing`,
  // A no-op update on the key: the row another worker recorded first stays as it is.
  mysql: `insert into ${S} (backend_name, name, last_tick_at) values (?, ?, ?) on duplicate key update name = name`,
};

/** Tick, backend, name. */
const CLAIM_TICK: Statement = {
  name: 'djtasks_claim_tick',
  postgresql: `update ${S} set last_tick_at = $1 where backend_name = $2 and name = $3 and last_tick_at < $1 returning name`,
  sqlite: `update ${S} set last_tick_at = ?1 where backend_name = ?2 and name = ?3 and last_tick_at < ?1 returning name`,
  // No RETURNING on UPDATE: the count of rows it matched (mysql2 counts matched rows, and the
  // condition matches only a row it moves forward) says whether it fired; tick, backend, name, tick.
  mysql: `update ${S} set last_tick_at = ? where backend_name = ? and name = ? and last_tick_at < ?`,
};

/** Task id, backend, name. */
const RECORD_TICK_TASK: Statement = {
  name: 'djtasks_record_tick_task',
  postgresql: `update ${S} set last_task_id = $1 where backend_name = $2 and name = $3`,
  sqlite: `update ${S} set last_task_id = ? where backend_name = ? and name = ?`,
  mysql: `update ${S} set last_task_id = ? where backend_name = ? and name = ?`,
};

/** The rows of `backendName`'s schedules. */
export async function selectSchedules(
  em: EntityManager,
  backendName: string,
): Promise<ScheduleRow[]> {
  const rows = await runnerOf(em).all<{
    name: string;
    last_tick_at: unknown;
    last_task_id: string | null;
  }>(SELECT_SCHEDULES, [backendName]);
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
  await runnerOf(em, dialect).run(INSERT_SCHEDULE, [backendName, name, dbDate(dialect, now)]);
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
  if (dialect === 'mysql') {
    const at = dbDate(dialect, tick);
    return (await runnerOf(em, dialect).run(CLAIM_TICK, [at, backendName, name, at])) === 1;
  }
  const rows = await runnerOf(em, dialect).all<{ name: string }>(CLAIM_TICK, [
    dbDate(dialect, tick),
    backendName,
    name,
  ]);
  return rows.length === 1;
}

/** Record the task that the schedule's last tick enqueued. */
export async function recordTickTask(
  em: EntityManager,
  backendName: string,
  name: string,
  taskId: string,
): Promise<void> {
  await runnerOf(em).run(RECORD_TICK_TASK, [taskId, backendName, name]);
}
