import type { EntityManager } from '@mikro-orm/sql';
import { TaskError, TaskResultStatus, type TaskResult } from '@djtasks/tasks';
import { getTaskLogger, taskResultToData } from '@djtasks/tasks/backend';
import type { DialectName } from './dialect.ts';
import { completeRows, type AttemptOutcome } from './outcome-queries.ts';
import { readErrors, readWorkerIds, type TaskRow } from './rows.ts';

interface Pending {
  outcome: AttemptOutcome;
  resolve: (written: boolean) => void;
}

/**
 * Turn a result at the end of the attempt holding `claimToken` into what its row is updated
 * with, through the one wire codec (`taskResultToData`).
 */
export function outcomeOf(result: TaskResult, claimToken: string): AttemptOutcome {
  const data = taskResultToData(result);
  const common = {
    id: result.id,
    claimToken,
    errors: JSON.stringify(data.errors),
    workerIds: JSON.stringify(data.workerIds),
    returnValue: null,
    runAfter: null,
    availableAt: null,
  };
  switch (result.status) {
    case TaskResultStatus.SUCCESSFUL:
      return {
        ...common,
        status: 'SUCCESSFUL',
        finishedAt: result.finishedAt,
        returnValue: JSON.stringify(data.returnValue ?? null),
      };
    case TaskResultStatus.FAILED:
    case TaskResultStatus.CANCELLED:
      return { ...common, status: result.status, finishedAt: result.finishedAt };
    case TaskResultStatus.READY:
    case TaskResultStatus.RUNNING: {
      const runAfter = result.task.runAfter;
      return {
        ...common,
        status: 'READY',
        finishedAt: null,
        runAfter,
        availableAt: runAfter ?? new Date(),
      };
    }
  }
}

/**
 * The outcome of a claimed row that cannot be run here: FAILED with `error` added to its
 * errors (which replace an unreadable errors column) and `workerId` to its worker ids.
 */
export function badRowOutcome(
  row: TaskRow & { claim_token: string },
  error: Error,
  workerId: string,
): AttemptOutcome {
  const taskError = TaskError.fromException(error);
  return {
    id: row.id,
    claimToken: row.claim_token,
    workerIds: JSON.stringify([...readWorkerIds(row), workerId]),
    status: 'FAILED',
    finishedAt: new Date(),
    returnValue: null,
    errors: JSON.stringify([...readErrors(row), taskError]),
    runAfter: null,
    availableAt: null,
  };
}

/**
 * Writes attempt outcomes in batches: every outcome handed in while a write is under way goes
 * into the next one, so a busy worker spends one statement (PostgreSQL) or one transaction
 * (SQLite) on many tasks. A failed write is retried with backoff until it succeeds, so an
 * outcome is never dropped while the process lives.
 */
export class Completer {
  readonly #em: EntityManager;
  readonly #dialect: DialectName;
  readonly #workerId: string;
  readonly #onStored: () => void;
  readonly #attempts = new Map<string, number>();
  #pending: Pending[] = [];
  #flushing: Promise<void> | undefined;
  /** Outcomes written, by status. */
  readonly written = { SUCCESSFUL: 0, FAILED: 0, CANCELLED: 0, READY: 0, lost: 0 };

  /** `onStored` is called after each batch is written (the worker's progress). */
  constructor(
    em: EntityManager,
    dialect: DialectName,
    workerId: string,
    onStored: () => void = () => {},
  ) {
    this.#em = em;
    this.#dialect = dialect;
    this.#workerId = workerId;
    this.#onStored = onStored;
  }

  /**
   * Write `outcome` (of attempt number `attempt`); resolves once it is stored, or once it
   * turned out that the row no longer runs that attempt (then the outcome is logged and dropped).
   */
  write(outcome: AttemptOutcome, attempt: number): Promise<boolean> {
    this.#attempts.set(outcome.claimToken, attempt);
    return new Promise((resolve) => {
      this.#pending.push({ outcome, resolve });
      this.#flushing ??= this.#flush();
    });
  }

  /** Resolves when everything handed in so far is written. */
  async idle(): Promise<void> {
    while (this.#flushing) await this.#flushing;
  }

  async #flush(): Promise<void> {
    await new Promise((resolve) => setImmediate(resolve));
    while (this.#pending.length > 0) {
      // One outcome per task in a statement (two attempts of one task may both end here, after
      // a freeze): the written ids then say exactly which outcomes were stored.
      const batch: Pending[] = [];
      const later: Pending[] = [];
      const ids = new Set<string>();
      for (const pending of this.#pending) {
        if (ids.has(pending.outcome.id)) later.push(pending);
        else {
          ids.add(pending.outcome.id);
          batch.push(pending);
        }
      }
      this.#pending = later;
      let backoff = 50;
      let written: Set<string>;
      for (;;) {
        try {
          written = await completeRows(
            this.#em,
            this.#dialect,
            batch.map((p) => p.outcome),
          );
          this.#onStored();
          for (const { outcome } of batch) {
            const attempt = this.#attempts.get(outcome.claimToken);
            this.#attempts.delete(outcome.claimToken);
            if (written.has(outcome.id)) {
              this.written[outcome.status]++;
            } else {
              this.written.lost++;
              getTaskLogger().error(
                `worker ${this.#workerId}: discarded the late outcome (${outcome.status}) of attempt ${attempt ?? '?'} ` +
                  `of task ${outcome.id} (claim ${outcome.claimToken}): its lease expired and the task was taken back ` +
                  `(a WorkerLost error is recorded for that attempt), so the row belongs to a later attempt or is finished`,
              );
            }
          }
          break;
        } catch (error) {
          getTaskLogger().warn(
            `worker ${this.#workerId}: storing ${batch.length} task outcome(s) failed (${(error as Error).message}); retrying in ${backoff} ms`,
          );
          await new Promise((resolve) => setTimeout(resolve, backoff));
          backoff = Math.min(backoff * 2, 5000);
        }
      }
      for (const { outcome, resolve } of batch) resolve(written.has(outcome.id));
    }
    this.#flushing = undefined;
  }
}
