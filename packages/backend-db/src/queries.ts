/**
 * The queue's SQL: insert, claim, complete, recover, prune and report. Every function takes
 * the `EntityManager` to run through, so it joins whatever transaction that manager is in.
 */
import type { EntityManager } from '@mikro-orm/sql';
import {
  dbDate,
  placeholders,
  readCount,
  readDate,
  readDateOrNull,
  type DialectName,
} from './dialect.ts';
import type { TaskRow } from './rows.ts';
import { TASK_RESULT_TABLE as T, WORKER_TABLE } from './schema.ts';

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
}

const INSERT_COLUMNS =
  'id, status, task_name, queue_name, backend_name, priority, args, run_after, available_at, enqueued_at';
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
        `select x.id, 'READY', ?, ?, ?, ?, x.args, ?::timestamptz, ?::timestamptz, ?::timestamptz ` +
        `from json_to_recordset(?::json) as x(id text, args text)`,
      [
        first.taskName,
        first.queueName,
        first.backendName,
        first.priority,
        first.runAfter,
        first.runAfter ?? first.enqueuedAt,
        first.enqueuedAt,
        JSON.stringify(rows.map((row) => ({ id: row.id, args: row.args }))),
      ],
      'run',
    );
    return;
  }
  for (let start = 0; start < rows.length; start += INSERT_CHUNK) {
    const chunk = rows.slice(start, start + INSERT_CHUNK);
    const params: unknown[] = [];
    for (const row of chunk) {
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
      );
    }
    const values = chunk.map(() => `(${placeholders(10)})`).join(', ');
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
  const rows = await em.execute<TaskRow[]>(
    `update ${T} set status = 'CANCELLED', finished_at = ?, cancel_requested_at = ? ` +
      `where id = ? and status = 'READY' returning *`,
    [dbDate(dialect, now), dbDate(dialect, now), id],
  );
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
  const rows = await em.execute<TaskRow[]>(
    `update ${T} set cancel_requested_at = coalesce(cancel_requested_at, ?) ` +
      `where id = ? and status = 'RUNNING' returning *`,
    [dbDate(dialect, now), id],
  );
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

function queueWhere(filter: QueueFilter, prefix = ''): { sql: string; params: unknown[] } {
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

/**
 * A claimed row, with what the claim overwrote (so that {@link releaseRows} can undo a claim
 * whose task was never started) and its `available_at` in milliseconds (for claim order).
 */
export interface ClaimedRow extends TaskRow {
  /** The token of this attempt: required by every later write of its outcome or lease. */
  claim_token: string;
  prev_started_at: unknown;
  prev_last_attempted_at: unknown;
  available_ms: number;
}

/** Order claimed rows as the claim does: priority desc, then `available_at`, then id. */
export function compareClaimOrder(a: ClaimedRow, b: ClaimedRow): number {
  return (
    b.priority - a.priority ||
    a.available_ms - b.available_ms ||
    (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
  );
}

/**
 * Claim up to `limit` ready rows for `workerId` in one statement: mark them RUNNING, count the
 * attempt, give each a claim token unique to this attempt (made by the database, so two
 * claims can never share one) and a lease until `leaseUntil`. On PostgreSQL the rows are
 * locked with SKIP LOCKED so concurrent workers claim disjoint rows; on SQLite the caller runs
 * this inside a `BEGIN IMMEDIATE` transaction (see `DjtasksSqliteDialect`). The claim reads
 * and writes no JSON column, so a damaged row is claimed like any other and then fails alone.
 * Returns the claimed rows in claim order.
 */
export async function claimRows(
  em: EntityManager,
  dialect: DialectName,
  filter: QueueFilter,
  workerId: string,
  limit: number,
  now: Date,
  leaseUntil: Date,
): Promise<ClaimedRow[]> {
  // On SQLite, `+column` keeps the planner off the queue index (which would sort every READY
  // row of the queue on each claim) and on the READY index, read in claim order up to the limit.
  const where = queueWhere(filter, dialect === 'sqlite' ? '+' : '');
  const token = dialect === 'postgresql' ? 'gen_random_uuid()::text' : 'lower(hex(randomblob(16)))';
  const set =
    `status = 'RUNNING', lease_owner = ?, lease_expires_at = ?, attempts = attempts + 1, ` +
    `started_at = coalesce(started_at, ?), last_attempted_at = ?, claim_token = ${token}`;
  const setParams = [
    workerId,
    dbDate(dialect, leaseUntil),
    dbDate(dialect, now),
    dbDate(dialect, now),
  ];
  const ready =
    `from ${T} where status = 'READY' and available_at <= ? and ${where.sql} ` +
    `order by priority desc, available_at, id limit ?`;
  const readyParams = [dbDate(dialect, now), ...where.params, limit];
  let rows: ClaimedRow[];
  if (dialect === 'postgresql') {
    // Timestamps travel as text so that a release writes back exactly what was there.
    rows = await em.execute<ClaimedRow[]>(
      `with picked as (select id, started_at::text as prev_started_at, ` +
        `last_attempted_at::text as prev_last_attempted_at ${ready} for update skip locked) ` +
        `update ${T} as t set ${set} from picked where t.id = picked.id ` +
        `returning t.*, picked.prev_started_at, picked.prev_last_attempted_at`,
      [...readyParams, ...setParams],
    );
  } else {
    const picked = await em.execute<
      { id: string; started_at: unknown; last_attempted_at: unknown }[]
    >(`select id, started_at, last_attempted_at ${ready}`, readyParams);
    if (picked.length === 0) return [];
    const prev = new Map(picked.map((p) => [p.id, p]));
    rows = await em.execute<ClaimedRow[]>(
      `update ${T} set ${set} where id in (select value from json_each(?)) returning *`,
      [...setParams, JSON.stringify(picked.map((p) => p.id))],
    );
    for (const row of rows) {
      const p = prev.get(row.id)!;
      row.prev_started_at = p.started_at;
      row.prev_last_attempted_at = p.last_attempted_at;
    }
  }
  // An unreadable `available_at` sorts first: the row fails as a bad row at once.
  for (const row of rows) row.available_ms = readDateOrNull(row.available_at)?.getTime() ?? 0;
  return rows.sort(compareClaimOrder);
}

/**
 * Undo the claims of rows never started: READY again, with the attempt count and start times
 * they had before the claim, no lease and no token. Each row is matched by its claim token,
 * so a row another attempt holds by now is left alone. Returns how many rows were released.
 */
export async function releaseRows(
  em: EntityManager,
  dialect: DialectName,
  rows: readonly ClaimedRow[],
): Promise<number> {
  if (rows.length === 0) return 0;
  const set =
    `status = 'READY', attempts = attempts - 1, lease_owner = null, lease_expires_at = null, ` +
    `claim_token = null, `;
  if (dialect === 'postgresql') {
    const result = await em.execute<{ affectedRows: number }>(
      `update ${T} as t set ${set}` +
        `started_at = x.started_at::timestamptz, last_attempted_at = x.last_attempted_at::timestamptz ` +
        `from json_to_recordset(?::json) as x(id text, claim_token text, started_at text, last_attempted_at text) ` +
        `where t.id = x.id and t.claim_token = x.claim_token and t.status = 'RUNNING'`,
      [
        JSON.stringify(
          rows.map((row) => ({
            id: row.id,
            claim_token: row.claim_token,
            started_at: row.prev_started_at,
            last_attempted_at: row.prev_last_attempted_at,
          })),
        ),
      ],
      'run',
    );
    return result.affectedRows;
  }
  return em.transactional(async (tem) => {
    let released = 0;
    for (const row of rows) {
      const result = await tem.execute<{ affectedRows: number }>(
        `update ${T} set ${set}started_at = ?, last_attempted_at = ? ` +
          `where id = ? and claim_token = ? and status = 'RUNNING'`,
        [row.prev_started_at, row.prev_last_attempted_at, row.id, row.claim_token],
        'run',
      );
      released += result.affectedRows;
    }
    return released;
  });
}

/** When the next READY row the filter covers becomes available, or null if none is waiting. */
export async function nextAvailableAt(
  em: EntityManager,
  filter: QueueFilter,
): Promise<Date | null> {
  const where = queueWhere(filter);
  const rows = await em.execute<{ next: unknown }[]>(
    `select min(available_at) as next from ${T} where status = 'READY' and ${where.sql}`,
    where.params,
  );
  return readDate(rows[0]?.next);
}

/** The outcome of one attempt, as written back to its row. */
export interface AttemptOutcome {
  id: string;
  /** The claim token of the attempt: the row is written only if it still holds this token. */
  claimToken: string;
  status: 'SUCCESSFUL' | 'FAILED' | 'CANCELLED' | 'READY';
  finishedAt: Date | null;
  returnValue: string | null;
  errors: string;
  /** JSON array: the worker id of each attempt, this one included. */
  workerIds: string;
  /** For READY: when the retry may run (null: at once). */
  runAfter: Date | null;
  /** For READY: when the retry may be claimed. */
  availableAt: Date | null;
}

/**
 * Write attempt outcomes, releasing their leases and tokens. A row is written only while it is
 * RUNNING the same attempt (its claim token): the outcome of an attempt whose lease expired
 * and whose task was taken back, even by this same worker, changes nothing. Returns the ids
 * that were written.
 */
export async function completeRows(
  em: EntityManager,
  dialect: DialectName,
  outcomes: readonly AttemptOutcome[],
): Promise<Set<string>> {
  const written = new Set<string>();
  if (outcomes.length === 0) return written;
  // Every outcome travels in one JSON parameter: one statement whatever the batch size.
  const json = JSON.stringify(
    outcomes.map((o) => ({
      id: o.id,
      claim_token: o.claimToken,
      status: o.status,
      finished_at: dbDate(dialect, o.finishedAt),
      return_value: o.returnValue,
      errors: o.errors,
      worker_ids: o.workerIds,
      run_after: dbDate(dialect, o.runAfter),
      available_at: dbDate(dialect, o.availableAt),
    })),
  );
  const rows =
    dialect === 'postgresql'
      ? await em.execute<{ id: string }[]>(
          `update ${T} as t set status = v.status, finished_at = v.finished_at::timestamptz, ` +
            `return_value = v.return_value, errors = v.errors, worker_ids = v.worker_ids, ` +
            `run_after = case when v.status = 'READY' then v.run_after::timestamptz else t.run_after end, ` +
            `available_at = coalesce(v.available_at::timestamptz, t.available_at), ` +
            `lease_owner = null, lease_expires_at = null, claim_token = null ` +
            `from json_to_recordset(?::json) as v(id text, claim_token text, status text, finished_at text, ` +
            `return_value text, errors text, worker_ids text, run_after text, available_at text) ` +
            `where t.id = v.id and t.claim_token = v.claim_token and t.status = 'RUNNING' returning t.id`,
          [json],
        )
      : await em.execute<{ id: string }[]>(
          `update ${T} set status = v.status, finished_at = v.finished_at, ` +
            `return_value = v.return_value, errors = v.errors, worker_ids = v.worker_ids, ` +
            `run_after = case when v.status = 'READY' then v.run_after else ${T}.run_after end, ` +
            `available_at = coalesce(v.available_at, ${T}.available_at), ` +
            `lease_owner = null, lease_expires_at = null, claim_token = null ` +
            `from (select json_extract(value, '$.id') as id, json_extract(value, '$.claim_token') as claim_token, ` +
            `json_extract(value, '$.status') as status, ` +
            `json_extract(value, '$.finished_at') as finished_at, json_extract(value, '$.return_value') as return_value, ` +
            `json_extract(value, '$.errors') as errors, json_extract(value, '$.worker_ids') as worker_ids, ` +
            `json_extract(value, '$.run_after') as run_after, ` +
            `json_extract(value, '$.available_at') as available_at from json_each(?)) as v ` +
            `where ${T}.id = v.id and ${T}.claim_token = v.claim_token and ${T}.status = 'RUNNING' returning ${T}.id`,
          [json],
        );
  for (const row of rows) written.add(row.id);
  return written;
}

/**
 * RUNNING rows of `backendName` whose lease expired before `now` (oldest first, at most
 * `limit`), or, with `tokens`, the RUNNING rows of those attempts (a worker releasing what it
 * could not finish). Nothing is locked: {@link completeRecovered} writes a row only if it still
 * holds the same attempt, so no transaction (and no connection held across statements) is needed.
 */
export async function selectAbandoned(
  em: EntityManager,
  dialect: DialectName,
  backendName: string,
  now: Date,
  options: { tokens?: readonly string[]; limit?: number } = {},
): Promise<TaskRow[]> {
  if (options.tokens !== undefined) {
    if (options.tokens.length === 0) return [];
    return em.execute<TaskRow[]>(
      `select * from ${T} where status = 'RUNNING' and backend_name = ? and claim_token in (${placeholders(options.tokens.length)})`,
      [backendName, ...options.tokens],
    );
  }
  return em.execute<TaskRow[]>(
    `select * from ${T} where status = 'RUNNING' and lease_expires_at < ? and backend_name = ? ` +
      `order by lease_expires_at limit ?`,
    [dbDate(dialect, now), backendName, options.limit ?? 100],
  );
}

/**
 * Write the outcome of a recovered row if it still runs the attempt that was read (its claim
 * token) and, unless `released`, that attempt's lease is still expired at `now` (a heartbeat
 * that renewed it meanwhile wins).
 */
export async function completeRecovered(
  em: EntityManager,
  dialect: DialectName,
  row: TaskRow,
  outcome: Omit<AttemptOutcome, 'claimToken'>,
  expiredBefore: Date | null,
): Promise<boolean> {
  const result = await em.execute<{ affectedRows: number }>(
    `update ${T} set status = ?, finished_at = ?, errors = ?, worker_ids = ?, ` +
      `run_after = case when ? = 'READY' then ? else run_after end, ` +
      `available_at = coalesce(?, available_at), lease_owner = null, lease_expires_at = null, claim_token = null ` +
      `where id = ? and status = 'RUNNING' and claim_token = ?` +
      (expiredBefore ? ' and lease_expires_at < ?' : ''),
    [
      outcome.status,
      dbDate(dialect, outcome.finishedAt),
      outcome.errors,
      outcome.workerIds,
      outcome.status,
      dbDate(dialect, outcome.runAfter),
      dbDate(dialect, outcome.availableAt),
      row.id,
      row.claim_token,
      ...(expiredBefore ? [dbDate(dialect, expiredBefore)] : []),
    ],
    'run',
  );
  return result.affectedRows > 0;
}

/** What `prune` deletes. */
export interface PruneOptions {
  backendName: string;
  queues: readonly string[] | '*';
  /** Delete SUCCESSFUL and CANCELLED results finished before this. */
  successfulBefore: Date;
  /** Delete FAILED results finished before this. */
  failedBefore: Date;
  dryRun: boolean;
}

/** Delete (or, dry, count) finished results older than the limits; never a READY or RUNNING one. */
export async function pruneRows(
  em: EntityManager,
  dialect: DialectName,
  options: PruneOptions,
): Promise<number> {
  const where = queueWhere({
    backendName: options.backendName,
    queues: options.queues,
    excludeQueues: [],
  });
  const condition = `${where.sql} and ((status in ('SUCCESSFUL', 'CANCELLED') and finished_at <= ?) or (status = 'FAILED' and finished_at <= ?))`;
  const params = [
    ...where.params,
    dbDate(dialect, options.successfulBefore),
    dbDate(dialect, options.failedBefore),
  ];
  if (options.dryRun) {
    const rows = await em.execute<{ n: unknown }[]>(
      `select count(*) as n from ${T} where ${condition}`,
      params,
    );
    return readCount(rows[0]?.n);
  }
  const result = await em.execute<{ affectedRows: number }>(
    `delete from ${T} where ${condition}`,
    params,
    'run',
  );
  return result.affectedRows;
}

/** Counts by queue and status, and the oldest ready task's age. */
export interface QueueStatus {
  counts: { queue: string; status: string; count: number }[];
  oldestReadyAt: Date | null;
  /** Workers whose heartbeat was seen since `seenSince`, with the tasks they hold. */
  workers: {
    workerId: string;
    hostname: string;
    pid: number;
    lastSeenAt: Date | null;
    /** When it last claimed or stored something (null: not yet); a stuck worker's heartbeat lives on. */
    lastProgressAt: Date | null;
    running: number;
  }[];
}

/** Report the queue's state for `backendName` as of `now`. */
export async function queueStatus(
  em: EntityManager,
  dialect: DialectName,
  backendName: string,
  now: Date,
  seenSince: Date,
): Promise<QueueStatus> {
  const counts = await em.execute<{ queue_name: string; status: string; n: unknown }[]>(
    `select queue_name, status, count(*) as n from ${T} where backend_name = ? ` +
      `group by queue_name, status order by queue_name, status`,
    [backendName],
  );
  const oldest = await em.execute<{ oldest: unknown }[]>(
    `select min(available_at) as oldest from ${T} where backend_name = ? and status = 'READY' and available_at <= ?`,
    [backendName, dbDate(dialect, now)],
  );
  const workers = await em.execute<
    {
      id: string;
      hostname: string;
      pid: number;
      last_seen_at: unknown;
      last_progress_at: unknown;
      n: unknown;
    }[]
  >(
    `select w.id, w.hostname, w.pid, w.last_seen_at, w.last_progress_at, ` +
      `(select count(*) from ${T} t where t.status = 'RUNNING' and t.lease_owner = w.id) as n ` +
      `from ${WORKER_TABLE} w where w.backend_name = ? and w.last_seen_at >= ? order by w.id`,
    [backendName, dbDate(dialect, seenSince)],
  );
  return {
    counts: counts.map((r) => ({ queue: r.queue_name, status: r.status, count: readCount(r.n) })),
    oldestReadyAt: readDateOrNull(oldest[0]?.oldest),
    workers: workers.map((w) => ({
      workerId: w.id,
      hostname: w.hostname,
      pid: Number(w.pid),
      lastSeenAt: readDateOrNull(w.last_seen_at),
      lastProgressAt: readDateOrNull(w.last_progress_at),
      running: readCount(w.n),
    })),
  };
}
