/** The admin commands' SQL: prune finished results, report the queue and its workers. */
import type { EntityManager } from '@mikro-orm/sql';
import { dbDate, readCount, readDateOrNull, type DialectName } from './dialect.ts';
import { queueWhere } from './sql/queue-filter.ts';
import { TASK_RESULT_TABLE as T, WORKER_TABLE } from './schema.ts';

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

/** Of one queue: the tasks ready to run now, and since when the oldest has waited. */
export interface QueueStats {
  queueName: string;
  /** READY tasks whose `runAfter` (or retry delay) has passed. */
  ready: number;
  /** When the oldest of them became ready, or `null` when there is none. */
  oldestReadyAt: Date | null;
}

/**
 * The ready tasks of each queue of `backendName` as of `now`, in one grouped query over the
 * READY rows only (the partial ready index): cheap enough for every metrics scrape.
 */
export async function queueStatsRows(
  em: EntityManager,
  dialect: DialectName,
  backendName: string,
  now: Date,
): Promise<QueueStats[]> {
  const rows = await em.execute<{ queue_name: string; n: unknown; oldest: unknown }[]>(
    `select queue_name, count(*) as n, min(available_at) as oldest from ${T} ` +
      `where status = 'READY' and backend_name = ? and available_at <= ? ` +
      `group by queue_name order by queue_name`,
    [backendName, dbDate(dialect, now)],
  );
  return rows.map((r) => ({
    queueName: r.queue_name,
    ready: readCount(r.n),
    oldestReadyAt: readDateOrNull(r.oldest),
  }));
}
