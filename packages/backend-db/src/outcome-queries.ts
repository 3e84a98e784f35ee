/** Writing the end of attempts: outcomes of running attempts, and of attempts taken back by recovery, each fenced by its claim token. */
import type { EntityManager } from '@mikro-orm/sql';
import { dbDate, placeholders, type DialectName } from './dialect.ts';
import { completeRowsMysql } from './mysql-queries.ts';
import type { TaskRow } from './rows.ts';
import { TASK_RESULT_TABLE as T } from './schema.ts';

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
  if (dialect === 'mysql') return completeRowsMysql(em, outcomes);
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
