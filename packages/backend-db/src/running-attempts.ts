/**
 * The attempts a worker runs now, by claim token: what `concurrency` limits, and what a
 * cancellation or a lost lease aborts. Everything kept about an attempt is keyed by its token,
 * so a late end of an older attempt of the same task (after a freeze) cannot touch a newer one.
 */
import { TaskCancelled, WorkerLost } from '@djtasks/tasks';
import { getTaskLogger } from '@djtasks/tasks/backend';
import { AttemptFenced, runClaimedAttempt, type RunningAttempt } from './attempt.ts';
import type { DatabaseBackend } from './backend.ts';
import type { Completer } from './completer.ts';
import type { Held } from './heartbeat.ts';
import type { ClaimedRow } from './sql/claim.ts';

/** What {@link RunningAttempts} needs from its worker. */
export interface RunningAttemptsOptions {
  backend: DatabaseBackend;
  workerId: string;
  completer: Completer;
  /** The worker's forced stop. */
  shutdown: AbortSignal;
  /** A slot freed (the function of an attempt ended). */
  onSlotFree: () => void;
  /** An attempt has settled: its outcome is stored (or given up), its lease can go. */
  onSettled: (token: string) => void;
  /** A retry was stored that becomes due at `at` (epoch ms). */
  onRetry: (at: number) => void;
}

export class RunningAttempts {
  readonly #options: RunningAttemptsOptions;
  /** Attempts whose function is running. */
  readonly #inFlight = new Map<string, RunningAttempt>();
  /** Attempts not yet settled (function running or outcome being stored). */
  readonly #settling = new Set<Promise<void>>();

  constructor(options: RunningAttemptsOptions) {
    this.#options = options;
    // The forced stop aborts every running attempt, through the attempt's own controller.
    options.shutdown.addEventListener(
      'abort',
      () => {
        for (const attempt of this.#inFlight.values())
          if (!attempt.controller.signal.aborted) attempt.controller.abort(options.shutdown.reason);
      },
      { once: true },
    );
  }

  /** How many functions run now. */
  get size(): number {
    return this.#inFlight.size;
  }

  /** The claim tokens of the attempts whose function runs now. */
  tokens(): string[] {
    return [...this.#inFlight.keys()];
  }

  /** Resolves once every attempt started so far, and any started meanwhile, has settled. */
  async settled(): Promise<void> {
    while (this.#settling.size > 0) await Promise.all(this.#settling);
  }

  /** Run the attempt of a claimed row to its stored outcome. */
  start(row: ClaimedRow): void {
    const { backend, workerId, completer } = this.#options;
    const token = row.claim_token;
    // The slot frees when the task's function ends; the lease is held until its outcome is stored.
    const freeSlot = () => {
      if (this.#inFlight.delete(token)) this.#options.onSlotFree();
    };
    const attempt: RunningAttempt = { row, controller: new AbortController() };
    if (this.#options.shutdown.aborted) attempt.controller.abort(this.#options.shutdown.reason);
    const run = runClaimedAttempt({
      attempt,
      backend,
      workerId,
      completer,
      freeSlot,
      onRetry: (availableAt) => this.#options.onRetry(availableAt.getTime()),
    })
      .catch((error: unknown) => {
        if (error instanceof AttemptFenced) return; // logged by the completer
        // Never the process, never the batch-mates: the row's lease runs out and recovery
        // records a WorkerLost attempt.
        getTaskLogger().error(
          `worker ${workerId}: running task ${row.id} (attempt ${row.attempts}) failed unexpectedly`,
          error,
        );
      })
      .finally(() => {
        this.#options.onSettled(token);
        this.#settling.delete(run);
        freeSlot();
      });
    this.#inFlight.set(token, attempt);
    this.#settling.add(run);
  }

  /** Abort the running attempt(s) of task `id` with `TaskCancelled`: the lifecycle records it CANCELLED. */
  cancel(id: string): void {
    for (const attempt of this.#inFlight.values()) {
      if (attempt.row.id !== id || attempt.controller.signal.aborted) continue;
      getTaskLogger().info(`worker ${this.#options.workerId}: cancelling running task ${id}`);
      attempt.controller.abort(new TaskCancelled(id));
    }
  }

  /** Attempts the heartbeat found taken back: abort the ones still running, once each. */
  lost(lost: readonly Held[]): void {
    for (const { id, token } of lost) {
      const attempt = this.#inFlight.get(token);
      if (!attempt || attempt.controller.signal.aborted) continue;
      getTaskLogger().error(
        `worker ${this.#options.workerId}: attempt ${attempt.row.attempts} of task ${id} lost its lease while it ran ` +
          `(this worker was frozen or cut off longer than the lease, and the task was taken back); ` +
          `aborting its signal, and its outcome will be discarded`,
      );
      attempt.controller.abort(
        new WorkerLost(`attempt ${attempt.row.attempts} of task ${id} lost its lease`),
      );
    }
  }

  /**
   * Wait until every attempt has settled. Once `forced` fires (at once if it has), wait
   * `graceMs` more at most; resolves with the tokens of the attempts whose function still runs
   * then (for the worker to release), or an empty list if all settled.
   */
  async settleOrGiveUp(forced: AbortSignal, graceMs: number): Promise<string[]> {
    const pending = this.settled();
    const forcedNow = new Promise<void>((resolve) => {
      if (forced.aborted) resolve();
      else forced.addEventListener('abort', () => resolve(), { once: true });
    });
    const first = await Promise.race([pending.then(() => true), forcedNow.then(() => false)]);
    if (first) return [];
    let timer: NodeJS.Timeout | undefined;
    const settled = await Promise.race([
      pending.then(() => true),
      new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), graceMs))),
    ]);
    clearTimeout(timer);
    return settled ? [] : this.tokens();
  }
}
