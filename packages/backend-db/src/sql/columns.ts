/**
 * The columns of a task row as djtasks reads them: timestamps come back as epoch milliseconds
 * on every database (SQLite stores them so; PostgreSQL converts them in the statement), so
 * that decoding a row never parses a date string.
 */
import type { DialectName } from '../dialect.ts';

const PLAIN = [
  'id',
  'status',
  'task_name',
  'queue_name',
  'backend_name',
  'priority',
  'args',
  'attempts',
  'worker_ids',
  'errors',
  'return_value',
  'lease_owner',
  'claim_token',
  'metadata',
  'unique_key',
] as const;

const TIMESTAMPS = [
  'run_after',
  'available_at',
  'enqueued_at',
  'started_at',
  'last_attempted_at',
  'finished_at',
  'lease_expires_at',
  'cancel_requested_at',
] as const;

/** Every column of the task table, qualified by `alias`, timestamps as epoch milliseconds. */
export const TASK_COLUMNS: Readonly<Record<DialectName, (alias: string) => string>> = {
  postgresql: (alias) =>
    [
      ...PLAIN.map((column) => `${alias}.${column}`),
      ...TIMESTAMPS.map(
        (column) => `(extract(epoch from ${alias}.${column}) * 1000)::float8 as ${column}`,
      ),
    ].join(', '),
  // SQLite stores milliseconds already (and its RETURNING takes no table-qualified names).
  sqlite: () => '*',
  // MariaDB/MySQL: DATETIME(6) text in UTC ('2026-12-01 12:00:00.123000'), read by readDate:
  // converting in SQL through unix_timestamp() would depend on the session's time zone.
  mysql: (alias) => `${alias}.*`,
};
