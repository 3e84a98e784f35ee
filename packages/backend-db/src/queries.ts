/**
 * The queue's SQL for producers and for `cancel()`: insert, read one row, cancel. Every
 * function takes the `EntityManager` to run through, so it joins whatever transaction that
 * manager is in. The worker's statements are in `claim-queries.ts` and `outcome-queries.ts`,
 * the admin commands' in `admin-queries.ts`.
 */
import type { EntityManager } from '@mikro-orm/sql';
import { dbDate, placeholders, type DialectName } from './dialect.ts';
import { updateReturningRow } from './mysql-queries.ts';
import type { TaskRow } from './rows.ts';
import { TASK_RESULT_TABLE as T } from './schema.ts';

/** The columns of a new row. */
export interface NewTaskRow {
  id: string;
  taskName: string;
  queueName: string;
  backendName: string;
  priority: number;
  args: string;
  runAfter: Date | null;
  enqueuedAt: Date;
  /** JSON object of strings (`'{}'` for none). */
  metadata: string;
}

/** The columns a new task row sets, in the order {@link pushRowParams} gives their values. */
export const INSERT_COLUMNS =
  'id, status, task_name, queue_name, backend_name, priority, args, run_after, available_at, enqueued_at, metadata';
/** How many values {@link pushRowParams} pushes per row. */
export const INSERT_COLUMN_COUNT = 11;

/**
 * Push the values of `row` for {@link INSERT_COLUMNS} onto `params` (one place for every insert
 * of a new task: plain, chunked and keyed), without an array per row.
 */
export function pushRowParams(params: unknown[], dialect: DialectName, row: NewTaskRow): void {
  params.push(
    row.id,
    'READY',
    row.taskName,
    row.queueName,
    row.backendName,
    row.priority,
    row.args,
    dbDate(dialect, row.runAfter),
    dbDate(dialect, row.runAfter ?? row.enqueuedAt),
    dbDate(dialect, row.enqueuedAt),
    row.metadata,
  );
}
/** Rows per INSERT statement: keeps the parameter count under every database's limit. */
export const INSERT_CHUNK = 3000;

/**
 * Insert rows of one task with one statement (per {@link INSERT_CHUNK} rows). On PostgreSQL the
 * ids and arguments travel as one JSON parameter, which PostgreSQL parses far faster than
 * thousands of bound parameters.
 */
export async function insertRows(
  em: EntityManager,
  dialect: DialectName,
  rows: readonly NewTaskRow[],
): Promise<void> {
  if (dialect === 'postgresql' && rows.length > 1 && sameTask(rows)) {
    const first = rows[0]!;
    await em.execute(
      `insert into ${T} (${INSERT_COLUMNS}) ` +
        `select x.id, 'READY', ?, ?, ?, ?, x.args, ?::timestamptz, ?::timestamptz, ?::timestamptz, x.metadata ` +
        `from json_to_recordset(?::json) as x(id text, args text, metadata text)`,
      [
        first.taskName,
        first.queueName,
        first.backendName,
        first.priority,
        first.runAfter,
        first.runAfter ?? first.enqueuedAt,
        first.enqueuedAt,
        JSON.stringify(rows.map((row) => ({ id: row.id, args: row.args, metadata: row.metadata }))),
      ],
      'run',
    );
    return;
  }
  for (let start = 0; start < rows.length; start += INSERT_CHUNK) {
    const chunk = rows.slice(start, start + INSERT_CHUNK);
    const params: unknown[] = [];
    for (const row of chunk) pushRowParams(params, dialect, row);
    const values = chunk.map(() => `(${placeholders(INSERT_COLUMN_COUNT)})`).join(', ');
    await em.execute(`insert into ${T} (${INSERT_COLUMNS}) values ${values}`, params, 'run');
  }
}

function sameTask(rows: readonly NewTaskRow[]): boolean {
  const first = rows[0]!;
  return rows.every(
    (row) =>
      row.taskName === first.taskName &&
      row.queueName === first.queueName &&
      row.priority === first.priority &&
      row.runAfter === first.runAfter &&
      row.enqueuedAt === first.enqueuedAt,
  );
}

/** Fetch one row by id. */
export async function selectRow(em: EntityManager, id: string): Promise<TaskRow | undefined> {
  const rows = await em.execute<TaskRow[]>(`select * from ${T} where id = ?`, [id]);
  return rows[0];
}

/** Cancel a READY row: CANCELLED now. Returns the row as updated, or undefined if it was not READY. */
export async function cancelReadyRow(
  em: EntityManager,
  dialect: DialectName,
  id: string,
  now: Date,
): Promise<TaskRow | undefined> {
  const update =
    `update ${T} set status = 'CANCELLED', finished_at = ?, cancel_requested_at = ? ` +
    `where id = ? and status = 'READY'`;
  const params = [dbDate(dialect, now), dbDate(dialect, now), id];
  if (dialect === 'mysql') return updateReturningRow(em, id, update, params);
  const rows = await em.execute<TaskRow[]>(`${update} returning *`, params);
  return rows[0];
}

/**
 * Ask the worker running a RUNNING row to cancel it (its heartbeat reads the column). Returns
 * the row, or undefined if it is not RUNNING.
 */
export async function requestCancel(
  em: EntityManager,
  dialect: DialectName,
  id: string,
  now: Date,
): Promise<TaskRow | undefined> {
  const update =
    `update ${T} set cancel_requested_at = coalesce(cancel_requested_at, ?) ` +
    `where id = ? and status = 'RUNNING'`;
  const params = [dbDate(dialect, now), id];
  if (dialect === 'mysql') return updateReturningRow(em, id, update, params);
  const rows = await em.execute<TaskRow[]>(`${update} returning *`, params);
  return rows[0];
}

/** Which queues a worker takes tasks from. */
export interface QueueFilter {
  backendName: string;
  /** Queue names, or `'*'` for all. */
  queues: readonly string[] | '*';
  /** With `'*'`: queue names to leave alone. */
  excludeQueues: readonly string[];
}

export function queueWhere(filter: QueueFilter, prefix = ''): { sql: string; params: unknown[] } {
  const col = (name: string) => `${prefix}${name}`;
  let sql = `${col('backend_name')} = ?`;
  const params: unknown[] = [filter.backendName];
  if (filter.queues !== '*') {
    sql += ` and ${col('queue_name')} in (${placeholders(filter.queues.length)})`;
    params.push(...filter.queues);
  } else if (filter.excludeQueues.length > 0) {
    sql += ` and ${col('queue_name')} not in (${placeholders(filter.excludeQueues.length)})`;
    params.push(...filter.excludeQueues);
  }
  return { sql, params };
}
