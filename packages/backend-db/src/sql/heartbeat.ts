/**
 * The heartbeat's SQL, run by the heartbeat thread on its own connection (`pg` client or
 * `node:sqlite`): renew the leases of the attempts a worker holds, find those whose
 * cancellation was asked for, report the worker. Rows are found by primary key; a claim
 * token is unique to its attempt, so matching ids and tokens as two sets is exact.
 */
import { TASK_RESULT_TABLE as T, WORKER_TABLE as W } from '../schema.ts';
import type { Statement } from './statement.ts';

/**
 * MariaDB/MySQL: the held attempts as a JSON table of `{id, token}` pairs, joined to the task
 * table by primary key (`straight_join`: the JSON first, whatever the statistics say).
 */
const MYSQL_HELD =
  `json_table(?, '$[*]' columns (id varchar(64) path '$.id', token varchar(64) path '$.token')) as h ` +
  `straight_join ${T} as t on t.id = h.id and t.claim_token = h.token`;

/** Lease end, ids, tokens (PostgreSQL arrays; SQLite JSON arrays); returns the tokens renewed. */
export const RENEW_LEASES: Statement = {
  name: 'djtasks_renew_leases',
  mysql: null, // No RETURNING on UPDATE: LOCK_HELD, then RENEW_HELD, in one transaction.
  postgresql:
    `update ${T} set lease_expires_at = $1 where id = any($2::text[]) and status = 'RUNNING' ` +
    'and claim_token = any($3::text[]) returning claim_token',
  sqlite:
    `update ${T} set lease_expires_at = ? where id in (select value from json_each(?)) and status = 'RUNNING' ` +
    'and claim_token in (select value from json_each(?)) returning claim_token',
};

/** MariaDB/MySQL, in the renewal's transaction: lock the held rows still running their attempt (held as JSON). */
export const LOCK_HELD: Statement = {
  name: 'djtasks_lock_held',
  postgresql: null,
  sqlite: null,
  mysql: `select t.claim_token from ${MYSQL_HELD} where t.status = 'RUNNING' for update`,
};

/** MariaDB/MySQL, after {@link LOCK_HELD}: the held attempts as JSON, lease end. */
export const RENEW_HELD: Statement = {
  name: 'djtasks_renew_held',
  postgresql: null,
  sqlite: null,
  mysql: `update ${MYSQL_HELD} set t.lease_expires_at = ? where t.status = 'RUNNING'`,
};

/** Ids, tokens; returns the tokens of attempts whose cancellation was asked for. */
export const SELECT_CANCELLED: Statement = {
  name: 'djtasks_select_cancelled',
  mysql:
    `select t.claim_token from ${MYSQL_HELD} ` +
    "where t.status = 'RUNNING' and t.cancel_requested_at is not null",
  postgresql:
    `select claim_token from ${T} where id = any($1::text[]) and status = 'RUNNING' ` +
    'and cancel_requested_at is not null and claim_token = any($2::text[])',
  sqlite:
    `select claim_token from ${T} where id in (select value from json_each(?)) and status = 'RUNNING' ` +
    'and cancel_requested_at is not null and claim_token in (select value from json_each(?))',
};

/**
 * Worker id, backend, host, pid, queues, now (started and seen), last progress. (MariaDB/MySQL
 * have no numbered placeholders: they take now twice, before last progress.)
 */
export const WORKER_SEEN: Statement = {
  name: 'djtasks_worker_seen',
  mysql:
    `insert into ${W} (id, backend_name, hostname, pid, queues, started_at, last_seen_at, last_progress_at) ` +
    'values (?, ?, ?, ?, ?, ?, ?, ?) on duplicate key update ' +
    'last_seen_at = values(last_seen_at), last_progress_at = values(last_progress_at)',
  postgresql:
    `insert into ${W} (id, backend_name, hostname, pid, queues, started_at, last_seen_at, last_progress_at) ` +
    'values ($1, $2, $3, $4, $5, $6, $6, $7) on conflict (id) do update ' +
    'set last_seen_at = excluded.last_seen_at, last_progress_at = excluded.last_progress_at',
  sqlite:
    `insert into ${W} (id, backend_name, hostname, pid, queues, started_at, last_seen_at, last_progress_at) ` +
    'values (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7) on conflict (id) do update ' +
    'set last_seen_at = excluded.last_seen_at, last_progress_at = excluded.last_progress_at',
};
