import type { EntityManager } from '@mikro-orm/sql';
import type { DatabaseBackend } from './backend.ts';
import { dialectOf } from './dialect.ts';
import { pruneRows, queueStatus, type QueueStatus } from './admin-queries.ts';

/** What to prune. */
export interface PruneRequest {
  /** Delete finished results at least this many days old. @defaultValue 14 */
  minAgeDays?: number;
  /** A separate age for FAILED results. @defaultValue minAgeDays */
  failedMinAgeDays?: number;
  /** Only these queues, or `'*'`. @defaultValue "*" */
  queues?: readonly string[] | '*';
  /** Count what would be deleted, delete nothing. @defaultValue false */
  dryRun?: boolean;
}

const DAY_MS = 86_400_000;

function days(name: string, value: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new RangeError(`${name} must be zero or greater (got ${String(value)}).`);
  }
  return value;
}

/** Delete (or count) the backend's finished results older than the given ages; never a READY or RUNNING one. */
export async function prune(backend: DatabaseBackend, request: PruneRequest = {}): Promise<number> {
  const minAgeDays = days('minAgeDays', request.minAgeDays ?? 14);
  const failedMinAgeDays = days('failedMinAgeDays', request.failedMinAgeDays ?? minAgeDays);
  const em = (await backend.getOrm()).em.fork() as unknown as EntityManager;
  const now = Date.now();
  return pruneRows(em, dialectOf(em), {
    backendName: backend.alias,
    queues: request.queues ?? '*',
    successfulBefore: new Date(now - minAgeDays * DAY_MS),
    failedBefore: new Date(now - failedMinAgeDays * DAY_MS),
    dryRun: request.dryRun ?? false,
  });
}

/** Counts by queue and status, the oldest ready task, and workers seen in the last `seenWithinMs`. */
export async function status(
  backend: DatabaseBackend,
  seenWithinMs = 300_000,
): Promise<QueueStatus> {
  const em = (await backend.getOrm()).em.fork() as unknown as EntityManager;
  const now = new Date();
  return queueStatus(em, dialectOf(em), backend.alias, now, new Date(now.getTime() - seenWithinMs));
}
