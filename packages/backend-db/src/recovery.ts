import type { EntityManager } from '@mikro-orm/sql';
import { TaskError, taskFinished, type TaskResult } from '@djtasks/tasks';
import { getRegisteredTask, getTaskLogger, retryDelay } from '@djtasks/tasks/backend';
import type { DatabaseBackend } from './backend.ts';
import { dbDate, type DialectName } from './dialect.ts';
import { completeRecovered, selectAbandoned } from './queries.ts';
import { readErrors, rowToTaskResult, type TaskRow } from './rows.ts';

/** What a recovery pass did. */
export interface RecoveryReport {
  /** Rows put back to READY for another attempt. */
  retried: number;
  /** Rows FAILED because no attempt was left. */
  failed: number;
}

/**
 * Take back RUNNING rows whose worker is gone: those whose lease expired before `now`, or,
 * with `owner`, every row that worker holds (a worker releasing what it could not finish).
 * Each gets a `WorkerLost` error for its attempt, then goes back to READY (after the task's
 * backoff) or to FAILED when its attempts are used up or its task is unknown.
 */
export async function recoverAbandoned(
  backend: DatabaseBackend,
  em: EntityManager,
  dialect: DialectName,
  options: { now?: Date; owner?: string; reason?: string } = {},
): Promise<RecoveryReport> {
  const now = options.now ?? new Date();
  const report: RecoveryReport = { retried: 0, failed: 0 };
  const finished: TaskRow[] = [];
  await em.transactional(async (tem) => {
    const rows = await selectAbandoned(tem, dialect, backend.alias, now, { owner: options.owner });
    for (const row of rows) {
      const message =
        options.reason ??
        `worker ${row.lease_owner ?? '?'} stopped renewing its lease during attempt ${row.attempts} ` +
          `(the process died or lost its database connection); the lease expired at ${String(row.lease_expires_at)}`;
      const error = new TaskError({
        exceptionClassPath: 'WorkerLost',
        message,
        traceback: message,
      });
      const errors = JSON.stringify([...readErrors(row), error]);
      const task = getRegisteredTask(row.task_name);
      const delay = task ? retryDelay(task, row.attempts, error) : null;
      const runAfter = delay === null ? null : new Date(now.getTime() + delay);
      const written = await completeRecovered(tem, dialect, row, {
        id: row.id,
        status: delay === null ? 'FAILED' : 'READY',
        finishedAt: delay === null ? now : null,
        returnValue: null,
        errors,
        runAfter,
        availableAt: runAfter,
        workerIds: row.worker_ids,
      });
      if (!written) continue;
      if (delay === null) {
        report.failed++;
        if (task) {
          finished.push({ ...row, status: 'FAILED', errors, finished_at: dbDate(dialect, now) });
        }
      } else {
        report.retried++;
      }
    }
  });
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
