/**
 * The SQL of the task admin API (`task-admin.ts`): list with filters and keyset pagination,
 * counts, workers, retry and delete. Every statement is limited to one backend's rows.
 */
import type { EntityManager } from '@mikro-orm/sql';
import { dbDate, placeholders, type DialectName } from './dialect.ts';
import { updateReturningRow } from './mysql-returning.ts';
import type { TaskRow } from './rows.ts';
import { TASK_RESULT_TABLE as T, WORKER_TABLE } from './schema.ts';

/** The filters of a list query, already checked. */
export interface RowFilter {
  backendName: string;
  statuses: readonly string[];
  queues: readonly string[];
  taskNames: readonly string[];
  workerId: string | undefined;
  enqueuedAfter: Date | undefined;
  enqueuedBefore: Date | undefined;
  finishedAfter: Date | undefined;
  finishedBefore: Date | undefined;
  errorText: string | undefined;
  uniqueKey: string | undefined;
  uniqueKeyPrefix: string | undefined;
}

/** Where the previous page ended: the last row's enqueue time (ms) and id. */
export interface RowCursor {
  enqueuedAt: number;
  id: string;
}

/** `text` as a LIKE pattern matching it anywhere, with `%`, `_` and `\` taken literally. */
function containsPattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/**
 * `unique_key` starts with `prefix` (case and LIKE wildcards taken literally), in a form the
 * key index of migration 0008 serves: PostgreSQL's LIKE on its pattern opclass, SQLite's
 * range over its binary order (its LIKE ignores ASCII case and would not use the index), and
 * the same range on MariaDB/MySQL (the key column's utf8mb4_bin collation orders by code point).
 */
function keyPrefix(dialect: DialectName, prefix: string): { sql: string; params: unknown[] } {
  if (dialect === 'postgresql') {
    return { sql: `unique_key like ? escape '\\'`, params: [containsPattern(prefix).slice(1)] };
  }
  // The smallest string greater than every string that starts with the prefix: the prefix
  // with its last character's code point one higher.
  const chars = [...prefix];
  const last = chars.at(-1)!.codePointAt(0)!;
  if (last >= 0x10ffff) {
    return {
      sql: `unique_key >= ? and substr(unique_key, 1, ?) = ?`,
      params: [prefix, chars.length, prefix],
    };
  }
  const end = chars.slice(0, -1).join('') + String.fromCodePoint(last + 1);
  return { sql: `unique_key >= ? and unique_key < ?`, params: [prefix, end] };
}

/**
 * Rows of task `taskName` whose unique key starts with `prefix`, greatest key first, at most
 * `limit`: a schedule's ticks (keyed `schedule:<name>:<ISO tick>`), newest first.
 */
export async function selectRowsByKeyPrefix(
  em: EntityManager,
  dialect: DialectName,
  backendName: string,
  taskName: string,
  prefix: string,
  limit: number,
): Promise<TaskRow[]> {
  const condition = keyPrefix(dialect, prefix);
  return em.execute<TaskRow[]>(
    `select * from ${T} where backend_name = ? and ${condition.sql} and task_name = ? ` +
      `order by unique_key desc limit ?`,
    [backendName, ...condition.params, taskName, limit],
  );
}

/**
 * Rows newest first (enqueue time, then id, both descending) after `cursor`, at most `limit`.
 * A keyset page: rows inserted meanwhile are newer than any cursor, so they never shift a
 * later page (nothing skipped or repeated). The `(backend_name, enqueued_at, id)` and
 * `(backend_name, status, enqueued_at, id)` indexes of migration 0006 serve the order.
 */
export async function selectRows(
  em: EntityManager,
  dialect: DialectName,
  filter: RowFilter,
  cursor: RowCursor | null,
  limit: number,
): Promise<TaskRow[]> {
  const where: string[] = ['backend_name = ?'];
  const params: unknown[] = [filter.backendName];
  const inList = (column: string, values: readonly string[]) => {
    if (values.length === 0) return;
    where.push(`${column} in (${placeholders(values.length)})`);
    params.push(...values);
  };
  inList('status', filter.statuses);
  inList('queue_name', filter.queues);
  inList('task_name', filter.taskNames);
  if (filter.workerId !== undefined) {
    // The worker of each ended attempt is in the JSON array worker_ids; the running one holds the lease.
    where.push(
      dialect === 'mysql'
        ? `(lease_owner = ? or worker_ids like ?)`
        : `(lease_owner = ? or worker_ids like ? escape '\\')`,
    );
    params.push(filter.workerId, containsPattern(JSON.stringify(filter.workerId)));
  }
  const range = (column: string, op: string, value: Date | undefined) => {
    if (value === undefined) return;
    where.push(`${column} ${op} ?`);
    params.push(dbDate(dialect, value));
  };
  range('enqueued_at', '>=', filter.enqueuedAfter);
  range('enqueued_at', '<', filter.enqueuedBefore);
  range('finished_at', '>=', filter.finishedAfter);
  range('finished_at', '<', filter.finishedBefore);
  if (filter.errorText !== undefined) {
    // Errors are stored as JSON text: match the text as JSON encodes it. SQLite's LIKE ignores
    // ASCII case; on PostgreSQL ILIKE does the same.
    // MariaDB/MySQL: the table's binary collation compares case, so compare under a
    // case-insensitive one; a backslash is already LIKE's escape there (and in string literals).
    if (dialect === 'mysql') where.push(`errors collate utf8mb4_general_ci like ?`);
    else where.push(`errors ${dialect === 'postgresql' ? 'ilike' : 'like'} ? escape '\\'`);
    params.push(containsPattern(JSON.stringify(filter.errorText).slice(1, -1)));
  }
  if (filter.uniqueKey !== undefined) {
    where.push('unique_key = ?');
    params.push(filter.uniqueKey);
  }
  if (filter.uniqueKeyPrefix !== undefined) {
    const prefix = keyPrefix(dialect, filter.uniqueKeyPrefix);
    where.push(prefix.sql);
    params.push(...prefix.params);
  }
  if (cursor !== null) {
    const at = dbDate(dialect, new Date(cursor.enqueuedAt));
    // A row value comparison: both databases use it as a range on the index.
    where.push(`(enqueued_at, id) < (?, ?)`);
    params.push(at, cursor.id);
  }
  params.push(limit);
  return em.execute<TaskRow[]>(
    `select * from ${T} where ${where.join(' and ')} order by enqueued_at desc, id desc limit ?`,
    params,
  );
}

/** One row of this backend by id. */
export async function selectBackendRow(
  em: EntityManager,
  backendName: string,
  id: string,
): Promise<TaskRow | undefined> {
  const rows = await em.execute<TaskRow[]>(`select * from ${T} where id = ? and backend_name = ?`, [
    id,
    backendName,
  ]);
  return rows[0];
}

/**
 * Make a FAILED or CANCELLED row READY again for one more attempt, at once; its attempts,
 * errors and worker ids are kept. Returns the row as updated, or undefined if it was neither.
 */
export async function retryRow(
  em: EntityManager,
  dialect: DialectName,
  backendName: string,
  id: string,
  now: Date,
): Promise<TaskRow | undefined> {
  const update =
    `update ${T} set status = 'READY', available_at = ?, run_after = null, finished_at = null, ` +
    `return_value = null, lease_owner = null, lease_expires_at = null, claim_token = null, ` +
    `cancel_requested_at = null ` +
    `where id = ? and backend_name = ? and status in ('FAILED', 'CANCELLED')`;
  const params = [dbDate(dialect, now), id, backendName];
  if (dialect === 'mysql') return updateReturningRow(em, id, update, params);
  const rows = await em.execute<TaskRow[]>(`${update} returning *`, params);
  return rows[0];
}

/** Delete a row that is not RUNNING; resolves with whether it did. */
export async function deleteRow(
  em: EntityManager,
  backendName: string,
  id: string,
): Promise<boolean> {
  const result = await em.execute<{ affectedRows: number }>(
    `delete from ${T} where id = ? and backend_name = ? and status <> 'RUNNING'`,
    [id, backendName],
    'run',
  );
  return result.affectedRows > 0;
}

/** Counts by queue and status, with each queue's oldest due READY task. */
export async function selectCounts(
  em: EntityManager,
  dialect: DialectName,
  backendName: string,
  now: Date,
): Promise<{ queue_name: string; status: string; n: unknown; oldest: unknown }[]> {
  return em.execute(
    `select queue_name, status, count(*) as n, ` +
      `min(case when status = 'READY' and available_at <= ? then available_at end) as oldest ` +
      `from ${T} where backend_name = ? group by queue_name, status order by queue_name, status`,
    [dbDate(dialect, now), backendName],
  );
}

/** A worker row with the tasks it holds the lease of. */
export interface WorkerRow {
  id: string;
  hostname: string;
  pid: number;
  queues: string;
  started_at: unknown;
  last_seen_at: unknown;
  last_progress_at: unknown;
}

/** Workers of this backend seen since `seenSince`, and the RUNNING tasks each holds. */
export async function selectWorkers(
  em: EntityManager,
  dialect: DialectName,
  backendName: string,
  seenSince: Date,
): Promise<{ workers: WorkerRow[]; running: { id: string; lease_owner: string }[] }> {
  const workers = await em.execute<WorkerRow[]>(
    `select id, hostname, pid, queues, started_at, last_seen_at, last_progress_at from ${WORKER_TABLE} ` +
      `where backend_name = ? and last_seen_at >= ? order by id`,
    [backendName, dbDate(dialect, seenSince)],
  );
  if (workers.length === 0) return { workers, running: [] };
  const running = await em.execute<{ id: string; lease_owner: string }[]>(
    `select id, lease_owner from ${T} where status = 'RUNNING' and backend_name = ? ` +
      `and lease_owner in (${placeholders(workers.length)}) order by id`,
    [backendName, ...workers.map((w) => w.id)],
  );
  return { workers, running };
}
