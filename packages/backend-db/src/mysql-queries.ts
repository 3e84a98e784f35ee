/**
 * The statements MariaDB and MySQL need in a shape of their own. Neither has `UPDATE …
 * RETURNING` (MariaDB has it only for INSERT and DELETE, MySQL not at all), `ON CONFLICT` or
 * `json_to_recordset`, so each write that must say which rows it changed runs in one
 * transaction: lock or update the rows first, then read them back under the locks it holds.
 * Sessions opened by djtasks run READ COMMITTED (see `connection.ts`), as PostgreSQL does, so
 * a locking scan of the READY range takes no gap locks that would stall concurrent enqueues.
 */
import type { EntityManager } from '@mikro-orm/sql';
import { placeholders } from './dialect.ts';
import { INSERT_COLUMN_COUNT, INSERT_COLUMNS, pushRowParams, type NewTaskRow } from './queries.ts';
import { queueWhere, type QueueFilter } from './queries.ts';
import type { AttemptOutcome } from './outcome-queries.ts';
import type { ClaimedRow } from './claim-queries.ts';
import type { TaskRow } from './rows.ts';
import { SCHEDULE_TABLE as S, TASK_RESULT_TABLE as T } from './schema.ts';

/** A UTC timestamp as MariaDB/MySQL reads it from text (a JSON document holds no `Date`). */
export function mysqlDateText(date: Date | null): string | null {
  return date === null ? null : date.toISOString().replace('T', ' ').replace('Z', '');
}

/** MySQL's error number for a duplicate key. */
const ER_DUP_ENTRY = 1062;

/**
 * Claim up to `limit` READY rows (the caller runs this in a transaction): lock them with
 * `FOR UPDATE SKIP LOCKED` in claim order, mark them RUNNING with a claim token from `uuid()`
 * (made by the server per row, so two claims never share one), and read them back.
 */
export async function claimRowsMysql(
  em: EntityManager,
  filter: QueueFilter,
  workerId: string,
  limit: number,
  now: Date,
  leaseUntil: Date,
): Promise<ClaimedRow[]> {
  const where = queueWhere(filter);
  const picked = await em.execute<
    { id: string; started_at: unknown; last_attempted_at: unknown }[]
  >(
    `select id, started_at, last_attempted_at from ${T} ` +
      `where status = 'READY' and available_at <= ? and ${where.sql} ` +
      `order by priority desc, available_at, id limit ? for update skip locked`,
    [now, ...where.params, limit],
  );
  if (picked.length === 0) return [];
  const ids = picked.map((p) => p.id);
  await em.execute(
    `update ${T} set status = 'RUNNING', lease_owner = ?, lease_expires_at = ?, attempts = attempts + 1, ` +
      `started_at = coalesce(started_at, ?), last_attempted_at = ?, claim_token = uuid() ` +
      `where id in (${placeholders(ids.length)})`,
    [workerId, leaseUntil, now, now, ...ids],
    'run',
  );
  const rows = await em.execute<ClaimedRow[]>(
    `select * from ${T} where id in (${placeholders(ids.length)})`,
    ids,
  );
  const prev = new Map(picked.map((p) => [p.id, p]));
  for (const row of rows) {
    const p = prev.get(row.id)!;
    row.prev_started_at = p.started_at;
    row.prev_last_attempted_at = p.last_attempted_at;
  }
  return rows;
}

/**
 * Write attempt outcomes whose rows still run the same attempt (claim token): lock those rows
 * (which says which will be written), then update them all in one statement joined with the
 * outcomes as a JSON_TABLE. Returns the ids written.
 */
export async function completeRowsMysql(
  em: EntityManager,
  outcomes: readonly AttemptOutcome[],
): Promise<Set<string>> {
  return em.transactional(async (tem) => {
    // A token is unique to its attempt, so matching ids and tokens as two sets is exact.
    const held = await tem.execute<{ id: string }[]>(
      `select id from ${T} where status = 'RUNNING' and id in (${placeholders(outcomes.length)}) ` +
        `and claim_token in (${placeholders(outcomes.length)}) for update`,
      [...outcomes.map((o) => o.id), ...outcomes.map((o) => o.claimToken)],
    );
    const written = new Set(held.map((row) => row.id));
    if (written.size === 0) return written;
    const json = JSON.stringify(
      outcomes
        .filter((o) => written.has(o.id))
        .map((o) => ({
          id: o.id,
          claim_token: o.claimToken,
          status: o.status,
          finished_at: mysqlDateText(o.finishedAt),
          return_value: o.returnValue,
          errors: o.errors,
          worker_ids: o.workerIds,
          run_after: mysqlDateText(o.runAfter),
          available_at: mysqlDateText(o.availableAt),
        })),
    );
    await tem.execute(
      `update ${T} t join json_table(?, '$[*]' columns (` +
        `id varchar(64) path '$.id', claim_token varchar(64) path '$.claim_token', ` +
        `status varchar(10) path '$.status', finished_at datetime(6) path '$.finished_at', ` +
        `return_value longtext path '$.return_value', errors longtext path '$.errors', ` +
        `worker_ids longtext path '$.worker_ids', run_after datetime(6) path '$.run_after', ` +
        `available_at datetime(6) path '$.available_at')) v ` +
        `on t.id = v.id and t.claim_token = v.claim_token ` +
        `set t.status = v.status, t.finished_at = v.finished_at, t.return_value = v.return_value, ` +
        `t.errors = v.errors, t.worker_ids = v.worker_ids, ` +
        `t.run_after = case when v.status = 'READY' then v.run_after else t.run_after end, ` +
        `t.available_at = coalesce(v.available_at, t.available_at), ` +
        `t.lease_owner = null, t.lease_expires_at = null, t.claim_token = null ` +
        `where t.status = 'RUNNING'`,
      [json],
      'run',
    );
    return written;
  });
}

/**
 * Run `update` (an UPDATE of row `id` that says in its WHERE clause which rows it may change)
 * and read the row back in the same transaction, under the lock the update took: the
 * `UPDATE … RETURNING *` of the other databases. Undefined when the update matched nothing.
 */
export async function updateReturningRow(
  em: EntityManager,
  id: string,
  update: string,
  params: readonly unknown[],
): Promise<TaskRow | undefined> {
  return em.transactional(async (tem) => {
    const result = await tem.execute<{ affectedRows: number }>(update, [...params], 'run');
    if (result.affectedRows === 0) return undefined;
    const rows = await tem.execute<TaskRow[]>(`select * from ${T} where id = ?`, [id]);
    return rows[0];
  });
}

/**
 * Insert `row` with its unique key; false if a READY or RUNNING row holds the key (the unique
 * index on the generated `unique_active` column refused it). InnoDB makes a conflicting insert
 * wait for the other transaction, so the holder is committed by the time this returns false.
 */
export async function insertUniqueRowMysql(
  em: EntityManager,
  row: NewTaskRow,
  uniqueKey: string,
): Promise<boolean> {
  const params: unknown[] = [];
  pushRowParams(params, 'mysql', row);
  params.push(uniqueKey);
  try {
    await em.execute(
      `insert into ${T} (${INSERT_COLUMNS}, unique_key) values (${placeholders(INSERT_COLUMN_COUNT + 1)})`,
      params,
      'run',
    );
    return true;
  } catch (error) {
    if ((error as { errno?: number }).errno === ER_DUP_ENTRY) return false;
    throw error;
  }
}

/**
 * The READY or RUNNING row holding a unique key. A locking read: it sees the latest committed
 * holder even inside a REPEATABLE READ transaction whose snapshot predates it.
 */
export async function selectKeyHolderMysql(
  em: EntityManager,
  backendName: string,
  taskName: string,
  uniqueKey: string,
): Promise<TaskRow | undefined> {
  const rows = await em.execute<TaskRow[]>(
    `select * from ${T} where backend_name = ? and task_name = ? and unique_active = ? lock in share mode`,
    [backendName, taskName, uniqueKey],
  );
  return rows[0];
}

/** Record a schedule first seen now, unless another worker did (a no-op update on the key). */
export async function insertScheduleMysql(
  em: EntityManager,
  backendName: string,
  name: string,
  now: Date,
): Promise<void> {
  await em.execute(
    `insert into ${S} (backend_name, name, last_tick_at) values (?, ?, ?) ` +
      `on duplicate key update name = name`,
    [backendName, name, now],
    'run',
  );
}

/**
 * Move schedule `name` forward to `tick` if it is still earlier: true if this statement did.
 * mysql2 counts matched rows, and the WHERE clause matches only a row it changes; a concurrent
 * UPDATE waits for the row lock and re-reads `last_tick_at` (InnoDB's current read).
 */
export async function claimTickMysql(
  em: EntityManager,
  backendName: string,
  name: string,
  tick: Date,
): Promise<boolean> {
  const result = await em.execute<{ affectedRows: number }>(
    `update ${S} set last_tick_at = ? where backend_name = ? and name = ? and last_tick_at < ?`,
    [tick, backendName, name, tick],
    'run',
  );
  return result.affectedRows === 1;
}
