import type { EntityManager } from '@mikro-orm/sql';
import { TaskError, TaskResultStatus, type TaskResult } from '@djtasks/tasks';
import { getTaskLogger } from '@djtasks/tasks/backend';
import type { DialectName } from './dialect.ts';
import { completeRows, type AttemptOutcome } from './queries.ts';
import { readErrors, type TaskRow } from './rows.ts';

interface Pending {
  outcome: AttemptOutcome;
  resolve: () => void;
}

/** Turn a result at the end of an attempt into what its row is updated with. */
export function outcomeOf(result: TaskResult): AttemptOutcome {
  const errors = JSON.stringify(result.errors);
  switch (result.status) {
    case TaskResultStatus.SUCCESSFUL:
      return {
        id: result.id,
        status: 'SUCCESSFUL',
        finishedAt: result.finishedAt,
        returnValue: JSON.stringify(result.returnValue),
        errors,
        runAfter: null,
        availableAt: null,
      };
    case TaskResultStatus.FAILED:
      return {
        id: result.id,
        status: 'FAILED',
        finishedAt: result.finishedAt,
        returnValue: null,
        errors,
        runAfter: null,
        availableAt: null,
      };
    case TaskResultStatus.CANCELLED:
      // Unreachable until this backend declares supportsCancel (issue 9 ports it onto the lifecycle).
      throw new TypeError(`task ${result.id}: DatabaseBackend does not store CANCELLED yet`);
    case TaskResultStatus.READY:
    case TaskResultStatus.RUNNING: {
      const runAfter = result.task.runAfter;
      return {
        id: result.id,
        status: 'READY',
        finishedAt: null,
        returnValue: null,
        errors,
        runAfter,
        availableAt: runAfter ?? new Date(),
      };
    }
  }
}

/** The outcome of a row that cannot be run here: FAILED with `error` added to its errors. */
export function badRowOutcome(row: TaskRow, error: Error): AttemptOutcome {
  const taskError = TaskError.fromException(error);
  return {
    id: row.id,
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
  #pending: Pending[] = [];
  #flushing: Promise<void> | undefined;
  /** Outcomes written, by status. */
  readonly written = { SUCCESSFUL: 0, FAILED: 0, READY: 0, lost: 0 };

  constructor(em: EntityManager, dialect: DialectName, workerId: string) {
    this.#em = em;
    this.#dialect = dialect;
    this.#workerId = workerId;
  }

  /** Write `outcome`; resolves once it is stored (or its lease turned out to be lost). */
  write(outcome: AttemptOutcome): Promise<void> {
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
      const batch = this.#pending;
      this.#pending = [];
      let backoff = 50;
      for (;;) {
        try {
          const written = await completeRows(
            this.#em,
            this.#dialect,
            this.#workerId,
            batch.map((p) => p.outcome),
          );
          for (const { outcome } of batch) {
            if (written.has(outcome.id)) {
              this.written[outcome.status]++;
            } else {
              this.written.lost++;
              getTaskLogger().error(
                `worker ${this.#workerId} no longer holds the lease of task ${outcome.id} ` +
                  `(its lease expired and another worker took it back); this attempt's outcome (${outcome.status}) was not stored`,
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
      for (const { resolve } of batch) resolve();
    }
    this.#flushing = undefined;
  }
}
