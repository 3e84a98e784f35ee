import type { EntityManager } from '@mikro-orm/sql';
import { TaskError, WorkerLost } from '@djtasks/tasks';
import {
  cancel,
  getTaskLogger,
  lose,
  sendTransitionSignal,
  type Transition,
} from '@djtasks/tasks/backend';
import { badRowOutcome, outcomeOf } from './completer.ts';
import type { DatabaseBackend } from './backend.ts';
import { readDateOrNull, type DialectName } from './dialect.ts';
import { describeValue } from './errors.ts';
import { completeRecovered, selectAbandoned } from './sql/recover.ts';
import { BadTaskRow, readErrors, rowToTaskResult, type TaskRow } from './rows.ts';

/** What a recovery pass did. */
export interface RecoveryReport {
  /** Rows put back to READY for another attempt. */
  retried: number;
  /** Rows finished: FAILED because no attempt was left (or unreadable), or CANCELLED as asked. */
  failed: number;
}

function leaseEnd(row: TaskRow): string {
  const date = readDateOrNull(row.lease_expires_at);
  return date ? date.toISOString() : describeValue(row.lease_expires_at);
}

/**
 * Take back RUNNING rows whose worker is gone: those whose lease expired before `now`, or,
 * with `tokens`, the attempts holding those claim tokens (a worker releasing what it could
 * not finish). Each gets a `WorkerLost` error for its attempt, then goes back to READY (after
 * the task's backoff) or to FAILED when its attempts are used up or its task is unknown.
 *
 * Each row is written by one fenced statement (the same attempt, still expired), so the pass
 * holds no transaction: a connection cut anywhere in it leaves nothing half-done and no
 * connection checked out.
 */
export async function recoverAbandoned(
  backend: DatabaseBackend,
  em: EntityManager,
  dialect: DialectName,
  options: { now?: Date; tokens?: readonly string[]; reason?: string } = {},
): Promise<RecoveryReport> {
  const now = options.now ?? new Date();
  const report: RecoveryReport = { retried: 0, failed: 0 };
  const sender = backend.constructor as typeof DatabaseBackend;
  const rows = await selectAbandoned(em, dialect, backend.alias, now, { tokens: options.tokens });
  let failuresInARow = 0;
  for (const row of rows) {
    const message =
      options.reason ??
      `worker ${row.lease_owner ?? '?'} stopped renewing its lease during attempt ${row.attempts} ` +
        `(the process died, froze or lost its database connection); the lease expired at ${leaseEnd(row)}`;
    let transition: Transition | null = null;
    let outcome;
    try {
      const result = rowToTaskResult(row, backend.taskModules);
      // A task whose cancellation was asked for ends CANCELLED, never retried.
      transition =
        row.cancel_requested_at !== null && row.cancel_requested_at !== undefined
          ? cancel(result, now)
          : lose(result, new WorkerLost(message), { now, deferRetry: true });
      outcome = outcomeOf(transition.result, row.claim_token ?? '');
    } catch (error) {
      if (!(error instanceof BadTaskRow)) throw error;
      // It cannot be retried here: FAILED with the lost attempt and the reason it cannot be read.
      const lost = new TaskError({ exceptionClassPath: 'WorkerLost', message, traceback: message });
      outcome = {
        ...badRowOutcome(
          { ...row, claim_token: row.claim_token ?? '' },
          error,
          row.lease_owner ?? '?',
        ),
        errors: JSON.stringify([...readErrors(row), lost, TaskError.fromException(error)]),
        finishedAt: now,
      };
    }
    let written: boolean;
    try {
      written = await completeRecovered(
        em,
        dialect,
        row,
        outcome,
        options.tokens === undefined ? now : null,
      );
    } catch (error) {
      // One row the database refuses must not hold back the rows behind it; several failures
      // in a row mean the database itself is in trouble.
      if (++failuresInARow >= 3 || rows.length === 1) throw error;
      getTaskLogger().error(
        `recovering task ${row.id} failed (${(error as Error).message}); going on with the others`,
      );
      continue;
    }
    failuresInARow = 0;
    if (!written) continue;
    if (outcome.status === 'READY') report.retried++;
    else report.failed++;
    // Only the pass whose fenced write succeeded sends the signal: exactly once.
    if (transition) sendTransitionSignal(transition, sender);
  }
  if (report.retried + report.failed > 0) {
    getTaskLogger().warn(
      `recovered ${report.retried + report.failed} abandoned task(s) of backend '${backend.alias}': ` +
        `${report.retried} back to READY, ${report.failed} finished (FAILED or CANCELLED)`,
    );
  }
  return report;
}
