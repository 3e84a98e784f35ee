/**
 * Writing the end of attempts: the outcomes a worker hands in, each written only while its row
 * still runs that attempt (its claim token). One statement per batch, by primary key.
 */
import type { EntityManager } from '@mikro-orm/sql';
import type { DialectName } from '../dialect.ts';
import { TASK_RESULT_TABLE as T } from '../schema.ts';
import { runnerOf } from './runner.ts';
import type { Statement } from './statement.ts';

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

/** MariaDB/MySQL: the outcomes' JSON as a table (timestamps as UTC DATETIME text). */
const MYSQL_OUTCOMES =
  "json_table(?, '$[*]' columns (id varchar(64) path '$.id', claim_token varchar(64) path '$.claim_token', " +
  "status varchar(10) path '$.status', finished_at datetime(6) path '$.finished_at', " +
  "return_value longtext path '$.return_value', errors longtext path '$.errors', " +
  "worker_ids longtext path '$.worker_ids', run_after datetime(6) path '$.run_after', " +
  "available_at datetime(6) path '$.available_at')) as v";

/**
 * Every outcome of the batch travels in one JSON parameter; PostgreSQL also gets the ids as an
 * array, so that the rows are found by primary key (`t.id = any($2)`) whatever the planner
 * thinks of the JSON's size.
 */
const COMPLETE: Statement = {
  name: 'djtasks_complete',
  postgresql:
    `update ${T} as t set status = v.status, finished_at = v.finished_at::timestamptz, ` +
    'return_value = v.return_value, errors = v.errors, worker_ids = v.worker_ids, ' +
    `run_after = case when v.status = 'READY' then v.run_after::timestamptz else t.run_after end, ` +
    'available_at = coalesce(v.available_at::timestamptz, t.available_at), ' +
    'lease_owner = null, lease_expires_at = null, claim_token = null ' +
    'from json_to_recordset($1::json) as v(id text, claim_token text, status text, finished_at text, ' +
    'return_value text, errors text, worker_ids text, run_after text, available_at text) ' +
    `where t.id = any($2::text[]) and t.id = v.id and t.claim_token = v.claim_token and t.status = 'RUNNING' ` +
    'returning t.id',
  // `+status`: the unary plus keeps SQLite from reading the table through the partial index of
  // RUNNING rows. Analyzed right after a burst (no row RUNNING yet) that index looks empty, and
  // SQLite then drove the update from it, parsing the batch's JSON once per running row; by
  // primary key from the JSON is right at any size (test/plans.sqlite.test.ts, analyzed case).
  sqlite:
    `update ${T} set status = v.status, finished_at = v.finished_at, ` +
    'return_value = v.return_value, errors = v.errors, worker_ids = v.worker_ids, ' +
    `run_after = case when v.status = 'READY' then v.run_after else ${T}.run_after end, ` +
    `available_at = coalesce(v.available_at, ${T}.available_at), ` +
    'lease_owner = null, lease_expires_at = null, claim_token = null ' +
    "from (select json_extract(value, '$.id') as id, json_extract(value, '$.claim_token') as claim_token, " +
    "json_extract(value, '$.status') as status, json_extract(value, '$.finished_at') as finished_at, " +
    "json_extract(value, '$.return_value') as return_value, json_extract(value, '$.errors') as errors, " +
    "json_extract(value, '$.worker_ids') as worker_ids, json_extract(value, '$.run_after') as run_after, " +
    "json_extract(value, '$.available_at') as available_at from json_each(?)) as v " +
    `where ${T}.id = v.id and ${T}.claim_token = v.claim_token and +${T}.status = 'RUNNING' returning ${T}.id`,
  // No RETURNING on UPDATE: LOCK_OUTCOME_ROWS says which rows this writes, then this writes them.
  mysql:
    `update ${MYSQL_OUTCOMES} straight_join ${T} as t on t.id = v.id and t.claim_token = v.claim_token ` +
    'set t.status = v.status, t.finished_at = v.finished_at, t.return_value = v.return_value, ' +
    't.errors = v.errors, t.worker_ids = v.worker_ids, ' +
    "t.run_after = case when v.status = 'READY' then v.run_after else t.run_after end, " +
    't.available_at = coalesce(v.available_at, t.available_at), ' +
    "t.lease_owner = null, t.lease_expires_at = null, t.claim_token = null where t.status = 'RUNNING'",
};

/**
 * MariaDB/MySQL, in the completion's transaction: lock the rows that still run the attempts of
 * the outcomes (the JSON of {@link COMPLETE}), by primary key; returns their ids.
 */
const LOCK_OUTCOME_ROWS: Statement = {
  name: 'djtasks_lock_outcome_rows',
  postgresql: null,
  sqlite: null,
  mysql:
    `select t.id from ${MYSQL_OUTCOMES} straight_join ${T} as t on t.id = v.id and t.claim_token = v.claim_token ` +
    "where t.status = 'RUNNING' for update",
};

/** `"value"` as JSON text, or `null`: the fields of the batch are written by hand, without a map per outcome. */
function str(value: string | null): string {
  return value === null ? 'null' : JSON.stringify(value);
}

function date(dialect: DialectName, value: Date | null): string {
  if (value === null) return 'null';
  if (dialect === 'sqlite') return String(value.getTime());
  // MariaDB/MySQL read DATETIME from JSON text without the zone: '2026-12-01 12:00:00.123' (UTC).
  if (dialect === 'mysql') return `"${value.toISOString().replace('T', ' ').replace('Z', '')}"`;
  return `"${value.toISOString()}"`;
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
  let json = '[';
  const ids: string[] = [];
  for (const o of outcomes) {
    if (ids.length > 0) json += ',';
    ids.push(o.id);
    json +=
      `{"id":${str(o.id)},"claim_token":${str(o.claimToken)},"status":"${o.status}",` +
      `"finished_at":${date(dialect, o.finishedAt)},"return_value":${str(o.returnValue)},` +
      `"errors":${str(o.errors)},"worker_ids":${str(o.workerIds)},` +
      `"run_after":${date(dialect, o.runAfter)},"available_at":${date(dialect, o.availableAt)}}`;
  }
  json += ']';
  if (dialect === 'mysql') {
    return em.transactional(async (tem) => {
      const runner = runnerOf(tem, dialect);
      const locked = await runner.all<{ id: string }>(LOCK_OUTCOME_ROWS, [json]);
      if (locked.length > 0) await runner.run(COMPLETE, [json]);
      return new Set(locked.map((row) => row.id));
    });
  }
  const rows = await runnerOf(em, dialect).all<{ id: string }>(
    COMPLETE,
    dialect === 'postgresql' ? [json, ids] : [json],
  );
  for (const row of rows) written.add(row.id);
  return written;
}

/** The statements of this module, for the plan tests. */
export const COMPLETE_STATEMENTS = { COMPLETE, LOCK_OUTCOME_ROWS };
