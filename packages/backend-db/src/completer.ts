import type { EntityManager } from '@mikro-orm/sql';
import { TaskError, TaskResultStatus, type TaskResult } from '@djtasks/tasks';
import { getTaskLogger, taskResultToData } from '@djtasks/tasks/backend';
import type { DialectName } from './dialect.ts';
import { completeRows, type AttemptOutcome } from './sql/complete.ts';
import { readErrors, readWorkerIds, type TaskRow } from './rows.ts';

interface Pending {
  outcome: AttemptOutcome;
  resolve: (written: boolean) => void;
  /** Times the database refused this outcome while it answered. */
  failures?: number;
  settled?: boolean;
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
    errors: JSON.stringify(data.errors ?? []),
    workerIds: JSON.stringify(data.workerIds ?? []),
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
      await this.#writeBatch(batch);
    }
    this.#flushing = undefined;
  }

  /**
   * Write `batch` until every outcome in it is settled. A failed batch is split into single
   * writes so that one outcome the database refuses cannot hold back the others; an outcome
   * that keeps failing alone while the database answers is stored as FAILED with an
   * `OutcomeNotStored` error instead, and given up (its lease then runs out) if even that fails.
   * While the database does not answer at all, the writes are retried with backoff.
   */
  async #writeBatch(batch: Pending[]): Promise<void> {
    let queue = batch;
    let backoff = 50;
    while (queue.length > 0) {
      let lastError: unknown;
      try {
        this.#settle(
          queue,
          await completeRows(
            this.#em,
            this.#dialect,
            queue.map((p) => p.outcome),
          ),
        );
        return;
      } catch (error) {
        lastError = error;
      }
      if (queue.length > 1) {
        getTaskLogger().warn(
          `worker ${this.#workerId}: storing ${queue.length} task outcome(s) failed (${(lastError as Error).message}); writing them one by one`,
        );
        const failed: Pending[] = [];
        for (const pending of queue) {
          try {
            this.#settle([pending], await completeRows(this.#em, this.#dialect, [pending.outcome]));
          } catch (error) {
            lastError = error;
            failed.push(pending);
          }
        }
        if (failed.length < queue.length) {
          // The database works: what failed, failed because of its own values.
          for (const pending of failed) this.#charge(pending, lastError);
          queue = failed.filter((p) => !p.settled);
          continue;
        }
        queue = failed;
      }
      if (await this.#databaseAnswers()) {
        // Every one fails alone while the database answers: their own values are refused.
        for (const pending of queue) this.#charge(pending, lastError);
        queue = queue.filter((p) => !p.settled);
        continue;
      }
      getTaskLogger().warn(
        `worker ${this.#workerId}: storing ${queue.length} task outcome(s) failed (${(lastError as Error).message}); retrying in ${backoff} ms`,
      );
      await new Promise((resolve) => setTimeout(resolve, backoff));
      backoff = Math.min(backoff * 2, 5000);
    }
  }

  /** Resolve the outcomes of `batch`, each written or not (`written` holds the ids stored). */
  #settle(batch: readonly Pending[], written: ReadonlySet<string>): void {
    this.#onStored();
    for (const pending of batch) {
      const { outcome } = pending;
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
      pending.settled = true;
      pending.resolve(written.has(outcome.id));
    }
  }

  /**
   * Count a failure of an outcome the database refuses while it answers. The third time it is
   * replaced by a FAILED outcome naming the problem; if that fails three times too, it is given
   * up: resolved as not written, so that its lease runs out and recovery records the attempt.
   */
  #charge(pending: Pending, error: unknown): void {
    pending.failures = (pending.failures ?? 0) + 1;
    const { outcome } = pending;
    const log = getTaskLogger();
    if (pending.failures === MAX_FAILURES) {
      log.error(
        `worker ${this.#workerId}: the outcome (${outcome.status}) of task ${outcome.id} cannot be stored ` +
          `(${(error as Error).message}); storing it as FAILED with an OutcomeNotStored error instead`,
      );
      pending.outcome = unstorableOutcome(outcome, error);
    } else if (pending.failures >= 2 * MAX_FAILURES) {
      log.error(
        `worker ${this.#workerId}: task ${outcome.id}: not even a FAILED outcome can be stored ` +
          `(${(error as Error).message}); leaving the task to recovery once its lease runs out`,
      );
      this.#attempts.delete(outcome.claimToken);
      pending.settled = true;
      pending.resolve(false);
    }
  }

  async #databaseAnswers(): Promise<boolean> {
    try {
      await this.#em.execute('select 1');
      return true;
    } catch {
      return false;
    }
  }
}

/** How many times an outcome the database refuses is tried before it is replaced. */
const MAX_FAILURES = 3;

/** `outcome` as FAILED with an `OutcomeNotStored` error: what the database refused is left out. */
function unstorableOutcome(outcome: AttemptOutcome, error: unknown): AttemptOutcome {
  // NUL characters are what PostgreSQL text refuses most often; leave them out of the errors.
  const clean = (text: string) => text.replaceAll('\\u0000', '').replaceAll('\0', '');
  const message = clean(
    `The outcome (${outcome.status}) of this attempt could not be stored: ${(error as Error).message}`,
  );
  let errors: unknown[] = [];
  try {
    errors = JSON.parse(clean(outcome.errors)) as unknown[];
  } catch {
    // Leave the earlier errors out, too.
  }
  const notStored = { exceptionClassPath: 'OutcomeNotStored', message, traceback: message };
  return {
    ...outcome,
    status: 'FAILED',
    finishedAt: new Date(),
    returnValue: null,
    errors: JSON.stringify([...errors, notStored]),
    workerIds: clean(outcome.workerIds),
    runAfter: null,
    availableAt: null,
  };
}
