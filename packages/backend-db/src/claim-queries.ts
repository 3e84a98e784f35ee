/** The worker's claim: take READY rows (each attempt with its own claim token), undo unstarted claims, look ahead. */
import type { EntityManager } from '@mikro-orm/sql';
import { dbDate, readDate, readDateOrNull, type DialectName } from './dialect.ts';
import { claimRowsMysql } from './mysql-queries.ts';
import { queueWhere, type QueueFilter } from './queries.ts';
import type { TaskRow } from './rows.ts';
import { TASK_RESULT_TABLE as T } from './schema.ts';

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
  if (dialect === 'mysql') {
    rows = await claimRowsMysql(em, filter, workerId, limit, now, leaseUntil);
  } else if (dialect === 'postgresql') {
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
