/**
 * One claimed attempt in a database worker: decode the row (a bad row fails alone), run it
 * through the one lifecycle (`runTaskAttempt`), store the outcome fenced by its claim token.
 */
import { InvalidTask, TaskException, taskFinished } from '@djtasks/tasks';
import {
  getTaskLogger,
  invokeTask,
  runTaskAttempt,
  sendTransitionSignal,
} from '@djtasks/tasks/backend';
import type { DatabaseBackend } from './backend.ts';
import type { ClaimedRow } from './sql/claim.ts';
import { badRowOutcome, outcomeOf, type Completer } from './completer.ts';
import type { AttemptOutcome } from './sql/complete.ts';
import { BadTaskRow, rowToTaskResult } from './rows.ts';

/** Thrown from `persist` when the row no longer runs the attempt: stops the lifecycle before its signal. */
export class AttemptFenced extends TaskException {
  override name = 'AttemptFenced';
}

/** An attempt whose task function runs in this worker. */
export interface RunningAttempt {
  row: ClaimedRow;
  /**
   * Aborts this attempt: cancelled, its row taken back while it ran, or the worker's forced
   * stop (which aborts every running attempt's controller: one signal per attempt, no
   * `AbortSignal.any` per task).
   */
  controller: AbortController;
}

/** What {@link runClaimedAttempt} needs from the worker. */
export interface ClaimedAttemptOptions {
  attempt: RunningAttempt;
  backend: DatabaseBackend;
  workerId: string;
  completer: Completer;
  /** Free the concurrency slot (the function ended, or the attempt was recorded without it). */
  freeSlot: () => void;
  /** A retry was stored that becomes due at `availableAt`. */
  onRetry: (availableAt: Date) => void;
}

/**
 * Run one claimed attempt to its stored outcome. Rejects with {@link AttemptFenced} when the
 * row no longer runs this attempt (the outcome was discarded and logged by the completer).
 */
export async function runClaimedAttempt(options: ClaimedAttemptOptions): Promise<void> {
  const { attempt, backend, workerId, completer, freeSlot } = options;
  const { row } = attempt;
  // A row this worker cannot run ends FAILED with the named error, unretried (it would be refused again).
  const refuse = async (error: TaskException): Promise<void> => {
    getTaskLogger().error(`worker ${workerId}: ${error.message}; marking it FAILED`);
    freeSlot();
    const outcome = badRowOutcome(row, error, workerId);
    if (await completer.write(outcome, row.attempts))
      badRowFinished(backend, workerId, row, outcome);
  };
  let result;
  try {
    result = rowToTaskResult(row, backend.taskModules);
  } catch (caught) {
    await refuse(
      caught instanceof BadTaskRow
        ? caught
        : new BadTaskRow(row.id, '(row)', `cannot be read: ${(caught as Error).message}`, {
            cause: caught,
          }),
    );
    return;
  }
  // The queue left the configuration after the task was enqueued (a retry was waiting, say):
  // as Django's worker, which re-validates the task it loads, end it with InvalidTask.
  const { queueName } = result.task;
  if (backend.queues.size > 0 && !backend.queues.has(queueName)) {
    const valid = [...backend.queues].map((q) => `'${q}'`).join(', ');
    await refuse(
      new InvalidTask(
        `Task ${row.id} (${result.task.name}) is on queue '${queueName}', which backend ` +
          `'${backend.alias}' no longer accepts (valid: ${valid})`,
      ),
    );
    return;
  }
  await runTaskAttempt(result, {
    backend,
    workerId,
    signal: attempt.controller.signal,
    execute: async (taskResult, signal) => {
      try {
        return await invokeTask(taskResult, signal);
      } finally {
        freeSlot();
      }
    },
    persist: async (taskResult) => {
      const outcome = outcomeOf(taskResult, row.claim_token);
      // A discarded late outcome sends no signal: the attempt that holds the row will.
      if (!(await completer.write(outcome, row.attempts))) throw new AttemptFenced();
      if (outcome.status === 'READY' && outcome.availableAt) options.onRetry(outcome.availableAt);
    },
  });
}

/**
 * Send `taskFinished` for a bad row once it is stored FAILED, if what was stored can be read
 * (the damage was in a column the outcome replaced); otherwise no `TaskResult` can describe it.
 */
function badRowFinished(
  backend: DatabaseBackend,
  workerId: string,
  row: ClaimedRow,
  outcome: AttemptOutcome,
): void {
  let result;
  try {
    result = rowToTaskResult(
      {
        ...row,
        status: 'FAILED',
        errors: outcome.errors,
        worker_ids: outcome.workerIds,
        finished_at: outcome.finishedAt,
        lease_owner: null,
      },
      backend.taskModules,
    );
  } catch {
    getTaskLogger().warn(
      `worker ${workerId}: task ${row.id} is stored FAILED, but no taskFinished is sent: the row cannot be read`,
    );
    return;
  }
  sendTransitionSignal(
    { result, signal: taskFinished, retryAt: null },
    backend.constructor as typeof DatabaseBackend,
  );
}
