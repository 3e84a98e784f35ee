/**
 * Recovery's SQL: find RUNNING rows whose worker is gone (expired leases, read in lease order
 * from `running_idx`), and write each one's end fenced by its claim token.
 */
import type { EntityManager } from '@mikro-orm/sql';
import { dbDate, type DialectName } from '../dialect.ts';
import type { TaskRow } from '../rows.ts';
import { TASK_RESULT_TABLE as T } from '../schema.ts';
import type { AttemptOutcome } from './complete.ts';
import { TASK_COLUMNS } from './columns.ts';
import { runnerOf } from './runner.ts';
import type { Statement } from './statement.ts';

/** RUNNING rows whose lease ran out: backend, now, limit. */
const SELECT_EXPIRED: Statement = {
  name: 'djtasks_select_expired',
  postgresql:
    `select ${TASK_COLUMNS.postgresql(T)} from ${T} where status = 'RUNNING' and backend_name = $1 ` +
    // Qualified: the select list names its epoch-milliseconds column `lease_expires_at` too.
    `and lease_expires_at < $2 order by ${T}.lease_expires_at limit $3`,
  sqlite:
    `select * from ${T} where status = 'RUNNING' and backend_name = ? ` +
    'and lease_expires_at < ? order by lease_expires_at limit ?',
  mysql:
    `select * from ${T} force index (${T}_running_idx) where backend_name = ? and status = 'RUNNING' ` +
    'and lease_expires_at < ? order by lease_expires_at limit ?',
};

/** The RUNNING rows of some attempts: backend, claim tokens. */
const SELECT_ATTEMPTS: Statement = {
  name: 'djtasks_select_attempts',
  postgresql:
    `select ${TASK_COLUMNS.postgresql(T)} from ${T} where status = 'RUNNING' and backend_name = $1 ` +
    'and claim_token = any($2::text[])',
  sqlite:
    `select * from ${T} where status = 'RUNNING' and backend_name = ? ` +
    'and claim_token in (select value from json_each(?))',
  mysql:
    `select * from ${T} where status = 'RUNNING' and backend_name = ? ` +
    "and claim_token in (select j.token from json_table(?, '$[*]' columns (token varchar(64) path '$')) as j)",
};

/**
 * The end of a recovered attempt, if its row still runs it: status, finished at, errors, worker
 * ids, status again, run after, available at, id, claim token.
 */
const COMPLETE_RECOVERED: Statement = {
  name: 'djtasks_complete_recovered',
  postgresql:
    `update ${T} set status = $1, finished_at = $2, errors = $3, worker_ids = $4, ` +
    "run_after = case when $5::text = 'READY' then $6 else run_after end, " +
    'available_at = coalesce($7, available_at), lease_owner = null, lease_expires_at = null, claim_token = null ' +
    "where id = $8 and status = 'RUNNING' and claim_token = $9",
  sqlite:
    `update ${T} set status = ?, finished_at = ?, errors = ?, worker_ids = ?, ` +
    "run_after = case when ? = 'READY' then ? else run_after end, " +
    'available_at = coalesce(?, available_at), lease_owner = null, lease_expires_at = null, claim_token = null ' +
    "where id = ? and status = 'RUNNING' and claim_token = ?",
  mysql:
    `update ${T} set status = ?, finished_at = ?, errors = ?, worker_ids = ?, ` +
    "run_after = case when ? = 'READY' then ? else run_after end, " +
    'available_at = coalesce(?, available_at), lease_owner = null, lease_expires_at = null, claim_token = null ' +
    "where id = ? and status = 'RUNNING' and claim_token = ?",
};

/** As {@link COMPLETE_RECOVERED}, and only while the lease is still expired at the last parameter. */
const COMPLETE_EXPIRED: Statement = {
  name: 'djtasks_complete_expired',
  postgresql: `${COMPLETE_RECOVERED.postgresql} and lease_expires_at < $10`,
  sqlite: `${COMPLETE_RECOVERED.sqlite} and lease_expires_at < ?`,
  mysql: `${COMPLETE_RECOVERED.mysql} and lease_expires_at < ?`,
};

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
  const runner = runnerOf(em, dialect);
  if (options.tokens !== undefined) {
    if (options.tokens.length === 0) return [];
    return runner.all<TaskRow>(SELECT_ATTEMPTS, [
      backendName,
      dialect === 'postgresql' ? options.tokens : JSON.stringify(options.tokens),
    ]);
  }
  return runner.all<TaskRow>(SELECT_EXPIRED, [
    backendName,
    dbDate(dialect, now),
    options.limit ?? 100,
  ]);
}

/**
 * Write the outcome of a recovered row if it still runs the attempt that was read (its claim
 * token) and, unless `expiredBefore` is null, that attempt's lease is still expired then (a
 * heartbeat that renewed it meanwhile wins).
 */
export async function completeRecovered(
  em: EntityManager,
  dialect: DialectName,
  row: TaskRow,
  outcome: Omit<AttemptOutcome, 'claimToken'>,
  expiredBefore: Date | null,
): Promise<boolean> {
  const params = [
    outcome.status,
    dbDate(dialect, outcome.finishedAt),
    outcome.errors,
    outcome.workerIds,
    outcome.status,
    dbDate(dialect, outcome.runAfter),
    dbDate(dialect, outcome.availableAt),
    row.id,
    row.claim_token,
  ];
  const changed = expiredBefore
    ? await runnerOf(em, dialect).run(COMPLETE_EXPIRED, [...params, dbDate(dialect, expiredBefore)])
    : await runnerOf(em, dialect).run(COMPLETE_RECOVERED, params);
  return changed > 0;
}

/** The statements of this module, for the plan tests. */
export const RECOVER_STATEMENTS = {
  SELECT_EXPIRED,
  SELECT_ATTEMPTS,
  COMPLETE_RECOVERED,
  COMPLETE_EXPIRED,
};
