import type { EntityManager } from '@mikro-orm/sql';
import { TaskError, taskFinished, type TaskResult } from '@djtasks/tasks';
import { getRegisteredTask, getTaskLogger, retryDelay } from '@djtasks/tasks/backend';
import type { DatabaseBackend } from './backend.ts';
import { dbDate, readDateOrNull, type DialectName } from './dialect.ts';
import { describeValue } from './errors.ts';
import { completeRecovered, selectAbandoned } from './queries.ts';
import { readErrors, readWorkerIds, rowToTaskResult, type TaskRow } from './rows.ts';

/** What a recovery pass did. */
export interface RecoveryReport {
  /** Rows put back to READY for another attempt. */
  retried: number;
  /** Rows FAILED because no attempt was left. */
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
  const finished: TaskRow[] = [];
  const rows = await selectAbandoned(em, dialect, backend.alias, now, { tokens: options.tokens });
  for (const row of rows) {
    const message =
      options.reason ??
      `worker ${row.lease_owner ?? '?'} stopped renewing its lease during attempt ${row.attempts} ` +
        `(the process died, froze or lost its database connection); the lease expired at ${leaseEnd(row)}`;
    const error = new TaskError({ exceptionClassPath: 'WorkerLost', message, traceback: message });
    const errors = JSON.stringify([...readErrors(row), error]);
    const workerIds = JSON.stringify([
      ...readWorkerIds(row),
      ...(row.lease_owner ? [row.lease_owner] : []),
    ]);
    const task = getRegisteredTask(row.task_name);
    const delay = task ? retryDelay(task, row.attempts, error) : null;
    const runAfter = delay === null ? null : new Date(now.getTime() + delay);
    const written = await completeRecovered(
      em,
      dialect,
      row,
      {
        id: row.id,
        status: delay === null ? 'FAILED' : 'READY',
        finishedAt: delay === null ? now : null,
        returnValue: null,
        errors,
        workerIds,
        runAfter,
        availableAt: runAfter,
      },
      options.tokens === undefined ? now : null,
    );
    if (!written) continue;
    if (delay === null) {
      report.failed++;
      if (task) {
        finished.push({
          ...row,
          status: 'FAILED',
          errors,
          worker_ids: workerIds,
          lease_owner: null,
          finished_at: dbDate(dialect, now),
        });
      }
    } else {
      report.retried++;
    }
  }
  if (report.retried + report.failed > 0) {
    getTaskLogger().warn(
      `recovered ${report.retried + report.failed} abandoned task(s) of backend '${backend.alias}': ` +
        `${report.retried} back to READY, ${report.failed} FAILED`,
    );
  }
  for (const row of finished) {
    let result: TaskResult;
    try {
      result = rowToTaskResult(row, backend.taskModules);
    } catch {
      continue;
    }
    taskFinished.send({
      sender: backend.constructor as typeof DatabaseBackend,
      taskResult: result,
    });
  }
  return report;
}
