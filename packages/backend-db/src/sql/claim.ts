/**
 * The claim: take READY rows (each attempt with its own claim token), undo claims of tasks
 * never started, and look ahead to the next deferred task.
 *
 * Plans that do not depend on statistics: a queue table is read right after a burst, before
 * autovacuum has analyzed it, and a planner without statistics takes `status = 'READY'` and
 * the queue filter for a handful of rows: it picks any index on those columns and sorts every
 * READY row on each claim. So each claim filters on exactly the leading columns of a partial
 * index (migration 0007) whose order is the claim order, and the index scan needs no sort
 * whatever the estimates: one queue reads `ready_queue_idx` (backend, queue, priority desc,
 * available_at, id), several queues read it once per queue (then at most limit × queues rows
 * are merged), all queues read `ready_backend_idx` (backend, priority desc, available_at, id).
 * `test/plans.postgres.test.ts` and `test/plans.sqlite.test.ts` check the plans on a fresh,
 * never-analyzed table (`test/plans.mariadb.test.ts` on MariaDB). Over 300 lines (about 430):
 * the claim's statements for every queue filter and all three databases sit side by side with
 * the reasons for their shape, and MariaDB's claim, without RETURNING, takes three statements.
 */
import type { EntityManager } from '@mikro-orm/sql';
import { readDate, readDateOrNull, type DialectName } from '../dialect.ts';
import type { TaskRow } from '../rows.ts';
import { TASK_RESULT_TABLE as T } from '../schema.ts';
import { TASK_COLUMNS } from './columns.ts';
import type { QueueFilter } from './queue-filter.ts';
import { inTransaction, runnerOf, type Runner } from './runner.ts';
import type { Statement } from './statement.ts';

/**
 * A claimed row (timestamps in epoch milliseconds), with what the claim overwrote, so that
 * {@link releaseRows} can undo the claim of a task never started.
 */
export interface ClaimedRow extends TaskRow {
  /** The token of this attempt: required by every later write of its outcome or lease. */
  claim_token: string;
  available_at: number;
  prev_started_at: unknown;
  prev_last_attempted_at: unknown;
}

/** Order claimed rows as the claim does: priority desc, then `available_at`, then id. */
export function compareClaimOrder(
  a: Pick<ClaimedRow, 'priority' | 'available_at' | 'id'>,
  b: Pick<ClaimedRow, 'priority' | 'available_at' | 'id'>,
): number {
  return (
    b.priority - a.priority ||
    a.available_at - b.available_at ||
    (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
  );
}

const ORDER = 'order by priority desc, available_at, id';
const PG_PICK =
  'select id, priority, available_at, started_at::text as prev_started_at, ' +
  `last_attempted_at::text as prev_last_attempted_at from ${T}`;

/**
 * PostgreSQL, one statement: pick and lock rows, update them by primary key
 * (`id = any(array(…))`: never a join the planner could turn into a scan of the table), and
 * return them with the start times the claim overwrote (as text, so that a release writes
 * back exactly what was there). `$1` backend, `$2` worker, `$3` lease end, `$4` now, `$5`
 * limit, `$6` queue(s).
 */
function pgClaim(picked: string): string {
  return (
    `with picked as materialized (${picked}), ` +
    `claimed as (update ${T} as t set status = 'RUNNING', lease_owner = $2, lease_expires_at = $3, ` +
    `attempts = t.attempts + 1, started_at = coalesce(t.started_at, $4), last_attempted_at = $4, ` +
    `claim_token = gen_random_uuid()::text where t.id = any(array(select id from picked)) ` +
    `returning ${TASK_COLUMNS.postgresql('t')}) ` +
    'select c.*, p.prev_started_at, p.prev_last_attempted_at from claimed c join picked p on p.id = c.id'
  );
}

/** MariaDB/MySQL: the queue names of a JSON array parameter. */
const MYSQL_QUEUES =
  "select q.name from json_table(?, '$[*]' columns (name varchar(64) path '$')) as q";

/** MariaDB/MySQL: the ids of a JSON array parameter, joined to the task table by primary key. */
const MYSQL_IDS =
  "json_table(?, '$[*]' columns (id varchar(64) path '$')) as p " +
  `straight_join ${T} as t on t.id = p.id`;

/**
 * The statements that pick rows, by queue filter. SQLite runs them in the claim's `BEGIN
 * IMMEDIATE` transaction with `?` backend, queue(s), now, limit; several queues are read one
 * by one there (as many statements, merged in claim order).
 */
const PICK = {
  oneQueue: {
    name: 'djtasks_claim_one_queue',
    postgresql: pgClaim(
      `${PG_PICK} where status = 'READY' and backend_name = $1 and queue_name = $6 ` +
        `and available_at <= $4 ${ORDER} limit $5 for update skip locked`,
    ),
    sqlite:
      `select id, priority, available_at, started_at, last_attempted_at from ${T} ` +
      `where status = 'READY' and backend_name = ? and queue_name = ? and available_at <= ? ${ORDER} limit ?`,
    // MariaDB/MySQL: in the claim's transaction, locking what it picks (as the SQLite statement's parameters).
    mysql:
      `select id, priority, available_at, started_at, last_attempted_at from ${T} force index (${T}_ready_queue_idx) ` +
      `where backend_name = ? and queue_name = ? and status = 'READY' and available_at <= ? ${ORDER} limit ? ` +
      'for update skip locked',
  },
  someQueues: {
    name: 'djtasks_claim_some_queues',
    postgresql: pgClaim(
      'select q.* from unnest($6::text[]) as queue(name) cross join lateral ' +
        `(${PG_PICK} where status = 'READY' and backend_name = $1 and queue_name = queue.name ` +
        `and available_at <= $4 ${ORDER} limit $5 for update skip locked) as q ` +
        // Sorts at most limit × queues rows, each queue's already in claim order.
        'order by q.priority desc, q.available_at, q.id limit $5',
    ),
    sqlite: null, // SQLite reads the queues one by one with `oneQueue`.
    mysql: null, // So do MariaDB and MySQL.
  },
  allQueues: {
    name: 'djtasks_claim_all_queues',
    postgresql: pgClaim(
      `${PG_PICK} where status = 'READY' and backend_name = $1 and available_at <= $4 ` +
        `and queue_name <> all($6::text[]) ${ORDER} limit $5 for update skip locked`,
    ),
    sqlite:
      `select id, priority, available_at, started_at, last_attempted_at from ${T} ` +
      `where status = 'READY' and backend_name = ? and queue_name not in (select value from json_each(?)) ` +
      `and available_at <= ? ${ORDER} limit ?`,
    mysql:
      `select id, priority, available_at, started_at, last_attempted_at from ${T} force index (${T}_ready_backend_idx) ` +
      `where backend_name = ? and status = 'READY' and queue_name not in (${MYSQL_QUEUES}) ` +
      `and available_at <= ? ${ORDER} limit ? for update skip locked`,
  },
} satisfies Record<string, Statement>;

/** SQLite: mark the picked rows claimed (`?` worker, lease end, now, now, ids as JSON). */
const SQLITE_MARK: Statement = {
  name: 'djtasks_claim_mark',
  postgresql: null, // PostgreSQL picks and marks in one statement.
  mysql: null, // MariaDB/MySQL: MYSQL_MARK (no RETURNING on UPDATE).
  sqlite:
    `update ${T} as t set status = 'RUNNING', lease_owner = ?, lease_expires_at = ?, attempts = attempts + 1, ` +
    'started_at = coalesce(started_at, ?), last_attempted_at = ?, claim_token = lower(hex(randomblob(16))) ' +
    `where id in (select value from json_each(?)) and status = 'READY' returning ${TASK_COLUMNS.sqlite('t')}`,
};

/**
 * MariaDB/MySQL: mark the picked (and locked) rows claimed: ids as JSON, worker, lease end, now,
 * now. The claim token is the server's `uuid()`, evaluated per row.
 */
const MYSQL_MARK: Statement = {
  name: 'djtasks_claim_mark_mysql',
  postgresql: null,
  sqlite: null,
  mysql:
    `update ${MYSQL_IDS} set t.status = 'RUNNING', t.lease_owner = ?, t.lease_expires_at = ?, ` +
    't.attempts = t.attempts + 1, t.started_at = coalesce(t.started_at, ?), t.last_attempted_at = ?, ' +
    "t.claim_token = uuid() where t.status = 'READY'",
};

/** MariaDB/MySQL: read the claimed rows back in the claim's transaction (no RETURNING): ids as JSON. */
const MYSQL_CLAIMED: Statement = {
  name: 'djtasks_claimed_mysql',
  postgresql: null,
  sqlite: null,
  mysql: `select ${TASK_COLUMNS.mysql('t')} from ${MYSQL_IDS}`,
};

/** The statements for `filter`, and their queue parameter. */
export function claimStatement(filter: QueueFilter): { statement: Statement; queues: unknown } {
  if (filter.queues === '*') return { statement: PICK.allQueues, queues: filter.excludeQueues };
  if (filter.queues.length === 1) return { statement: PICK.oneQueue, queues: filter.queues[0] };
  return { statement: PICK.someQueues, queues: filter.queues };
}

/** The PostgreSQL claim's parameters, in order. */
export function claimParams(
  filter: QueueFilter,
  workerId: string,
  limit: number,
  now: Date,
  leaseUntil: Date,
): unknown[] {
  return [filter.backendName, workerId, leaseUntil, now, limit, claimStatement(filter).queues];
}

/**
 * Claim up to `limit` ready rows for `workerId`: mark them RUNNING, count the attempt, give each
 * a claim token unique to this attempt (made by the database, so two claims can never share
 * one) and a lease until `leaseUntil`. On PostgreSQL one statement, locking with SKIP LOCKED so
 * that concurrent workers claim disjoint rows; on SQLite one `BEGIN IMMEDIATE` transaction
 * (see `DjtasksSqliteDialect`). The claim reads and writes no JSON column, so a damaged row is
 * claimed like any other and then fails alone. Returns the claimed rows in claim order.
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
  if (dialect === 'postgresql') {
    const { statement } = claimStatement(filter);
    const rows = await runnerOf(em, dialect).all<ClaimedRow>(
      statement,
      claimParams(filter, workerId, limit, now, leaseUntil),
    );
    return rows.sort(compareClaimOrder);
  }
  if (dialect === 'mysql') {
    return inTransaction(em, dialect, (runner) =>
      mysqlClaim(runner, filter, workerId, limit, now, leaseUntil),
    );
  }
  return inTransaction(em, dialect, (runner) =>
    sqliteClaim(runner, filter, workerId, limit, now.getTime(), leaseUntil.getTime()),
  );
}

interface Picked {
  id: string;
  priority: number;
  available_at: number;
  started_at: unknown;
  last_attempted_at: unknown;
}

async function sqliteClaim(
  runner: Runner,
  filter: QueueFilter,
  workerId: string,
  limit: number,
  now: number,
  leaseUntil: number,
): Promise<ClaimedRow[]> {
  let picked: Picked[];
  if (filter.queues === '*') {
    picked = await runner.all<Picked>(PICK.allQueues, [
      filter.backendName,
      JSON.stringify(filter.excludeQueues),
      now,
      limit,
    ]);
  } else {
    picked = [];
    for (const queue of filter.queues) {
      picked.push(
        ...(await runner.all<Picked>(PICK.oneQueue, [filter.backendName, queue, now, limit])),
      );
    }
    if (filter.queues.length > 1) picked = picked.sort(compareClaimOrder).slice(0, limit);
  }
  if (picked.length === 0) return [];
  const rows = await runner.all<ClaimedRow>(SQLITE_MARK, [
    workerId,
    leaseUntil,
    now,
    now,
    JSON.stringify(picked.map((p) => p.id)),
  ]);
  const prev = new Map(picked.map((p) => [p.id, p]));
  for (const row of rows) {
    const p = prev.get(row.id)!;
    row.prev_started_at = p.started_at;
    row.prev_last_attempted_at = p.last_attempted_at;
  }
  return rows.sort(compareClaimOrder);
}

/**
 * MariaDB/MySQL, in one transaction: pick and lock rows (`FOR UPDATE SKIP LOCKED`, so concurrent
 * workers pick disjoint rows; several queues one by one), mark them, read them back.
 */
async function mysqlClaim(
  runner: Runner,
  filter: QueueFilter,
  workerId: string,
  limit: number,
  now: Date,
  leaseUntil: Date,
): Promise<ClaimedRow[]> {
  let picked: Picked[];
  if (filter.queues === '*') {
    picked = await runner.all<Picked>(PICK.allQueues, [
      filter.backendName,
      JSON.stringify(filter.excludeQueues),
      now,
      limit,
    ]);
  } else {
    picked = [];
    for (const queue of filter.queues) {
      picked.push(
        ...(await runner.all<Picked>(PICK.oneQueue, [filter.backendName, queue, now, limit])),
      );
    }
    // Rows picked beyond the limit stay locked until the claim commits, unclaimed.
    if (filter.queues.length > 1) picked = picked.sort(compareMysqlPick).slice(0, limit);
  }
  if (picked.length === 0) return [];
  const ids = JSON.stringify(picked.map((p) => p.id));
  await runner.run(MYSQL_MARK, [ids, workerId, leaseUntil, now, now]);
  const rows = await runner.all<ClaimedRow>(MYSQL_CLAIMED, [ids]);
  const prev = new Map(picked.map((p) => [p.id, p]));
  for (const row of rows) {
    const p = prev.get(row.id)!;
    // DATETIME text, written back as it was by a release.
    row.prev_started_at = p.started_at;
    row.prev_last_attempted_at = p.last_attempted_at;
    // An unreadable `available_at` sorts first: the row fails as a bad row at once.
    row.available_at = readDateOrNull(row.available_at)?.getTime() ?? 0;
  }
  return rows.sort(compareClaimOrder);
}

function compareMysqlPick(a: Picked, b: Picked): number {
  return compareClaimOrder(
    { ...a, available_at: readDateOrNull(a.available_at)?.getTime() ?? 0 },
    { ...b, available_at: readDateOrNull(b.available_at)?.getTime() ?? 0 },
  );
}

/** Undo claims (PostgreSQL: one JSON parameter; SQLite: one row at a time in a transaction). */
const RELEASE: Statement = {
  name: 'djtasks_release',
  postgresql:
    `update ${T} as t set status = 'READY', attempts = t.attempts - 1, lease_owner = null, ` +
    'lease_expires_at = null, claim_token = null, started_at = x.started_at::timestamptz, ' +
    'last_attempted_at = x.last_attempted_at::timestamptz ' +
    'from json_to_recordset($1::json) as x(id text, claim_token text, started_at text, last_attempted_at text) ' +
    `where t.id = any($2::text[]) and t.id = x.id and t.claim_token = x.claim_token and t.status = 'RUNNING'`,
  sqlite:
    `update ${T} set status = 'READY', attempts = attempts - 1, lease_owner = null, ` +
    'lease_expires_at = null, claim_token = null, started_at = ?, last_attempted_at = ? ' +
    `where id = ? and claim_token = ? and status = 'RUNNING'`,
  mysql:
    `update ${T} set status = 'READY', attempts = attempts - 1, lease_owner = null, ` +
    'lease_expires_at = null, claim_token = null, started_at = ?, last_attempted_at = ? ' +
    `where id = ? and claim_token = ? and status = 'RUNNING'`,
};

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
  if (dialect === 'postgresql') {
    const json = JSON.stringify(
      rows.map((row) => ({
        id: row.id,
        claim_token: row.claim_token,
        started_at: row.prev_started_at,
        last_attempted_at: row.prev_last_attempted_at,
      })),
    );
    return runnerOf(em, dialect).run(RELEASE, [json, rows.map((row) => row.id)]);
  }
  return em.transactional(async (tem) => {
    const runner = runnerOf(tem, dialect);
    let released = 0;
    for (const row of rows) {
      released += await runner.run(RELEASE, [
        row.prev_started_at,
        row.prev_last_attempted_at,
        row.id,
        row.claim_token,
      ]);
    }
    return released;
  });
}

/**
 * When the next READY row of the filter becomes available, or null if none is waiting: the
 * smallest `available_at` per queue, each read from the queue's part of `ready_queue_idx`.
 */
const NEXT_AVAILABLE = {
  queues: {
    name: 'djtasks_next_available_queues',
    postgresql:
      `select min(available_at) as next from ${T} where status = 'READY' and backend_name = $1 ` +
      'and queue_name = any($2::text[])',
    sqlite:
      `select min(available_at) as next from ${T} where status = 'READY' and backend_name = ? ` +
      'and queue_name in (select value from json_each(?))',
    mysql:
      `select min(available_at) as next from ${T} where status = 'READY' and backend_name = ? ` +
      `and queue_name in (${MYSQL_QUEUES})`,
  },
  allQueues: {
    name: 'djtasks_next_available_all',
    postgresql:
      `select min(available_at) as next from ${T} where status = 'READY' and backend_name = $1 ` +
      'and queue_name <> all($2::text[])',
    sqlite:
      `select min(available_at) as next from ${T} where status = 'READY' and backend_name = ? ` +
      'and queue_name not in (select value from json_each(?))',
    mysql:
      `select min(available_at) as next from ${T} where status = 'READY' and backend_name = ? ` +
      `and queue_name not in (${MYSQL_QUEUES})`,
  },
} satisfies Record<string, Statement>;

/** When the next READY row the filter covers becomes available, or null if none is waiting. */
export async function nextAvailableAt(
  em: EntityManager,
  dialect: DialectName,
  filter: QueueFilter,
): Promise<Date | null> {
  const all = filter.queues === '*';
  const queues = all ? filter.excludeQueues : filter.queues;
  const rows = await runnerOf(em, dialect).all<{ next: unknown }>(
    all ? NEXT_AVAILABLE.allQueues : NEXT_AVAILABLE.queues,
    [filter.backendName, dialect === 'postgresql' ? queues : JSON.stringify(queues)],
  );
  return readDate(rows[0]?.next);
}

/** The statements of this module, for the plan tests. */
export const CLAIM_STATEMENTS = {
  PICK,
  SQLITE_MARK,
  MYSQL_MARK,
  MYSQL_CLAIMED,
  RELEASE,
  NEXT_AVAILABLE,
};
