import { setTimeout as sleep } from 'node:timers/promises';
import type { EntityManager } from '@mikro-orm/sql';
import { InvalidTaskBackend, TaskCancelled, taskBackends, WorkerLost } from '@djtasks/tasks';
import { getTaskLogger } from '@djtasks/tasks/backend';
import { DatabaseBackend } from './backend.ts';
import { AttemptFenced, runClaimedAttempt, type RunningAttempt } from './attempt.ts';
import { Completer } from './completer.ts';
import { connectionInfo } from './connection.ts';
import { dialectOf, type DialectName } from './dialect.ts';
import { Heartbeat } from './heartbeat.ts';
import { ReadyListener } from './listener.ts';
import {
  claimRows,
  compareClaimOrder,
  nextAvailableAt,
  releaseRows,
  type ClaimedRow,
} from './claim-queries.ts';
import type { QueueFilter } from './queries.ts';
import { recoverAbandoned } from './recovery.ts';
import { backendSchedules, runSchedules } from './scheduler.ts';
import { runMaintenance } from './maintenance.ts';
import { resolveWorkerOptions, type WorkerOptions, type WorkerSummary } from './worker-options.ts';

export type { WorkerOptions, WorkerSummary } from './worker-options.ts';

/**
 * Runs the tasks of a `DatabaseBackend`: claims ready rows in batches (up to the free
 * concurrency slots), runs each through the one task lifecycle, writes outcomes in batches,
 * renews its leases from a heartbeat thread, takes back tasks of dead workers, and wakes on
 * LISTEN/NOTIFY (PostgreSQL), on enqueues in this process, or by polling.
 */
export class Worker {
  readonly workerId: string;
  readonly #options: WorkerOptions;
  readonly #concurrency: number;
  /** Running plus locally queued tasks at most: concurrency + prefetch. */
  readonly #capacity: number;
  readonly #pollIntervalMs: number;
  readonly #leaseMs: number;
  readonly #lowWater: number;
  readonly #abortController = new AbortController();
  readonly #stopController = new AbortController();
  /** Claimed rows not started yet, in claim order. */
  #queued: ClaimedRow[] = [];
  /**
   * Attempts whose function is running, by claim token: what `concurrency` limits. Everything
   * the worker keeps about an attempt is keyed by its token, so a late end of an older attempt
   * of the same task (after a freeze) cannot touch a newer one.
   */
  readonly #inFlight = new Map<string, RunningAttempt>();
  /** Tasks not yet settled (function running or outcome being stored). */
  readonly #settling = new Set<Promise<void>>();
  #backend: DatabaseBackend | undefined;
  #stopping = false;
  #mayHaveWork = true;
  #wakeSeq = 0;
  #wakeUp: (() => void) | undefined;
  #nextDueAt = Number.POSITIVE_INFINITY;
  #scheduling: Promise<void> | undefined;
  #claimed = 0;
  #released = 0;
  #running: Promise<WorkerSummary> | undefined;
  #completer: Completer | undefined;
  #heartbeat: Heartbeat | undefined;

  constructor(options: WorkerOptions = {}) {
    this.#options = options;
    const resolved = resolveWorkerOptions(options);
    this.workerId = resolved.workerId;
    this.#concurrency = resolved.concurrency;
    this.#capacity = resolved.capacity;
    this.#lowWater = resolved.lowWater;
    this.#pollIntervalMs = resolved.pollIntervalMs;
    this.#leaseMs = resolved.leaseMs;
  }

  /** The backend this worker runs tasks of (resolved from its alias on start). */
  get backend(): DatabaseBackend {
    if (!this.#backend) {
      const chosen = this.#options.backend ?? 'default';
      const backend = typeof chosen === 'string' ? taskBackends.get(chosen) : chosen;
      if (!(backend instanceof DatabaseBackend)) {
        throw new InvalidTaskBackend(
          `Backend '${backend.alias}' is not a database backend (it is ${backend.constructor.name}).`,
        );
      }
      this.#backend = backend;
    }
    return this.#backend;
  }

  /** Start in the background; `stop()` ends it. */
  start(): this {
    this.#running ??= this.#run();
    this.#running.catch((error: unknown) =>
      getTaskLogger().error(`worker ${this.workerId} stopped with an error`, error),
    );
    return this;
  }

  /** Run until stopped (or, with `batch`/`maxTasks`, until done); resolves with what it did. */
  run(): Promise<WorkerSummary> {
    this.#running ??= this.#run();
    return this.#running;
  }

  /** Stop claiming, let running tasks finish and their outcomes be stored, then resolve. */
  async stop(): Promise<WorkerSummary | undefined> {
    this.#stopping = true;
    this.#stopController.abort();
    this.#wake(false);
    return this.#running;
  }

  /**
   * Stop now: fire every running task's abort signal; tasks that still run after
   * `abortGraceMs` are released (READY or FAILED per their attempts) so other workers can go on.
   */
  async abort(): Promise<WorkerSummary | undefined> {
    this.#stopping = true;
    this.#abortController.abort(new Error(`worker ${this.workerId} is shutting down`));
    this.#stopController.abort();
    this.#wake(false);
    return this.#running;
  }

  /** Look for tasks now (new tasks were enqueued). */
  wake(): void {
    this.#wake(true);
  }

  #wake(work: boolean): void {
    if (work) {
      this.#wakeSeq++;
      this.#mayHaveWork = true;
    }
    const wakeUp = this.#wakeUp;
    this.#wakeUp = undefined;
    wakeUp?.();
  }

  get #filter(): QueueFilter {
    return {
      backendName: this.backend.alias,
      queues: this.#options.queues ?? ['default'],
      excludeQueues: this.#options.excludeQueues ?? [],
    };
  }

  async #run(): Promise<WorkerSummary> {
    const backend = this.backend;
    // A schedule whose task no loaded module defines stops the worker here, before it takes work.
    const schedules =
      this.#options.schedules === false || this.#options.batch ? [] : backendSchedules(backend);
    const orm = await backend.getOrm();
    const em = orm.em.fork() as unknown as EntityManager;
    const dialect = dialectOf(em);
    const queues = this.#filter.queues;
    const log = getTaskLogger();
    log.info(
      `Starting worker worker_id=${this.workerId} backend=${backend.alias} queues=${queues === '*' ? '*' : queues.join(',')}`,
    );
    if (this.#options.startupDelay !== false && this.#pollIntervalMs > 0 && !this.#options.batch) {
      await this.#sleep(Math.random() * this.#pollIntervalMs);
    }
    const connection = connectionInfo(em, backend.options.sqlite);
    const heartbeat = new Heartbeat(
      {
        connection,
        workerId: this.workerId,
        backendName: backend.alias,
        queues: queues === '*' ? '*' : queues.join(','),
        pid: process.pid,
        leaseMs: this.#leaseMs,
        intervalMs: this.#options.heartbeatIntervalMs ?? Math.max(50, this.#leaseMs / 3),
      },
      {
        onLost: (lost) => this.#onLost(lost),
        onCancel: (held) => {
          for (const { id } of held) this.#cancelRunning(id);
        },
      },
    );
    this.#heartbeat = heartbeat;
    const listener =
      connection.dialect === 'postgresql' && this.#options.listen !== false
        ? new ReadyListener(connection.pg, () => this.wake())
        : undefined;
    listener?.start();
    const unsubscribe = backend.onEnqueue(() => this.wake());
    const unsubscribeCancel = backend.onCancel((id) => this.#cancelRunning(id));
    this.#completer = new Completer(em, dialect, this.workerId, () => heartbeat.progress());
    const periodic = runSchedules({
      backend,
      em: orm.em.fork() as unknown as EntityManager,
      dialect,
      workerId: this.workerId,
      schedules,
      stopping: () => this.#stopping,
      sleep: (ms) => this.#sleep(ms),
    });
    const maintenance = runMaintenance({
      backend,
      em,
      dialect,
      workerId: this.workerId,
      intervalMs: this.#options.recoveryIntervalMs ?? this.#leaseMs / 2,
      retention: this.#options.retention,
      stopping: () => this.#stopping,
      sleep: (ms) => this.#sleep(ms),
      onRetried: () => this.wake(),
    });
    try {
      await this.#loop(em, dialect);
      await this.#drain(em, dialect);
    } finally {
      this.#stopping = true;
      this.#stopController.abort();
      this.#wake(false);
      unsubscribe();
      unsubscribeCancel();
      await maintenance;
      await periodic;
      await this.#scheduling;
      await listener?.stop();
      await heartbeat.stop();
    }
    const written = this.#completer.written;
    const summary = {
      workerId: this.workerId,
      claimed: this.#claimed,
      successful: written.SUCCESSFUL,
      failed: written.FAILED,
      retried: written.READY,
      released: this.#released,
    };
    log.info(`Worker ${this.workerId} stopped: ${JSON.stringify(summary)}`);
    return summary;
  }

  async #loop(em: EntityManager, dialect: DialectName): Promise<void> {
    const { batch = false, maxTasks = Number.POSITIVE_INFINITY } = this.#options;
    let backoff = 100;
    let claimedAtSeq = -1;
    while (!this.#stopping) {
      const budget = maxTasks - this.#claimed;
      if (budget <= 0) {
        getTaskLogger().info(
          `Run maximum tasks (${maxTasks}) on worker=${this.workerId} - exiting gracefully.`,
        );
        return;
      }
      const held = this.#inFlight.size + this.#queued.length;
      const room = Math.min(this.#capacity - held, budget);
      // Claim in batches: once half the capacity is free, when nothing is held, to take the last
      // of the budget, or at once after a wake-up (a new task may outrank the queued ones).
      const worthClaiming =
        held === 0 || room >= this.#lowWater || room === budget || this.#wakeSeq !== claimedAtSeq;
      if (room > 0 && this.#mayHaveWork && worthClaiming) {
        const seq = this.#wakeSeq;
        claimedAtSeq = seq;
        let rows: ClaimedRow[];
        try {
          const now = new Date();
          const leaseUntil = new Date(now.getTime() + this.#leaseMs);
          // One statement is atomic on PostgreSQL; SQLite takes the write lock first (BEGIN IMMEDIATE).
          rows =
            dialect === 'postgresql'
              ? await claimRows(em, dialect, this.#filter, this.workerId, room, now, leaseUntil)
              : await em.transactional((tem) =>
                  claimRows(tem, dialect, this.#filter, this.workerId, room, now, leaseUntil),
                );
          backoff = 100;
        } catch (error) {
          getTaskLogger().warn(
            `worker ${this.workerId}: claiming tasks failed (${(error as Error).message}); retrying in ${backoff} ms`,
          );
          await this.#sleep(backoff);
          backoff = Math.min(backoff * 2, 30_000);
          continue;
        }
        this.#heartbeat!.progress();
        const claimed = rows.length;
        if (claimed > 0) {
          this.#claimed += claimed;
          this.#heartbeat!.hold(rows.map((row) => ({ id: row.id, token: row.claim_token })));
          this.#enqueueClaimed(rows);
          this.#startQueued();
        }
        if (claimed < room) {
          if (seq === this.#wakeSeq) this.#mayHaveWork = false;
          // Off the claim path: a wake-up meanwhile claims at once instead of waiting for it.
          if (!batch) this.#scheduleNext(em);
        }
        if (
          this.#mayHaveWork &&
          this.#capacity - this.#inFlight.size - this.#queued.length >= this.#lowWater
        )
          continue;
      }
      if (batch && !this.#mayHaveWork && this.#inFlight.size === 0 && this.#queued.length === 0) {
        await Promise.all(this.#settling);
        await this.#completer!.idle();
        if (this.#mayHaveWork) continue;
        getTaskLogger().info(
          `No more tasks to run for worker_id=${this.workerId} - exiting gracefully.`,
        );
        return;
      }
      await this.#waitForWake();
    }
  }

  /** Add claimed rows to the local queue, keeping it in claim order (priority first). */
  #enqueueClaimed(rows: ClaimedRow[]): void {
    if (this.#queued.length === 0) {
      this.#queued = rows;
    } else {
      this.#queued.push(...rows);
      this.#queued.sort(compareClaimOrder);
    }
  }

  /** Start queued tasks while slots are free (not once the worker is stopping). */
  #startQueued(): void {
    while (!this.#stopping && this.#inFlight.size < this.#concurrency && this.#queued.length > 0) {
      this.#startTask(this.#queued.shift()!);
    }
  }

  /** Put queued, never started rows back to READY as they were before the claim. */
  async #releaseQueued(em: EntityManager, dialect: DialectName): Promise<void> {
    const rows = this.#queued;
    if (rows.length === 0) return;
    this.#queued = [];
    let backoff = 100;
    for (let attempt = 1; ; attempt++) {
      try {
        this.#released += await releaseRows(em, dialect, rows);
        break;
      } catch (error) {
        if (attempt === 5) {
          getTaskLogger().error(
            `worker ${this.workerId}: could not put ${rows.length} claimed, unstarted task(s) back (${(error as Error).message}); ` +
              `their leases will expire and recovery will record a lost attempt`,
          );
          break;
        }
        await sleep(backoff);
        backoff *= 2;
      }
    }
    this.#heartbeat!.release(rows.map((row) => row.claim_token));
  }

  /** Learn when the next deferred task comes due, in the background (one look at a time). */
  #scheduleNext(em: EntityManager): void {
    this.#scheduling ??= (async () => {
      try {
        const next = await nextAvailableAt(em, this.#filter);
        if (next && next.getTime() < this.#nextDueAt) {
          this.#nextDueAt = next.getTime();
          this.#wake(false); // re-arm the wait with the earlier time
        }
      } catch {
        // Polling covers it.
      } finally {
        this.#scheduling = undefined;
      }
    })();
  }

  #waitForWake(): Promise<void> {
    // A stop that came while the loop was busy (claiming) found no wait to end: do not start one.
    if (this.#stopping) return Promise.resolve();
    const now = Date.now();
    let timeout = this.#options.batch ? Number.POSITIVE_INFINITY : this.#pollIntervalMs;
    if (this.#nextDueAt !== Number.POSITIVE_INFINITY)
      timeout = Math.min(timeout, Math.max(0, this.#nextDueAt - now));
    return new Promise((resolve) => {
      const timer = Number.isFinite(timeout)
        ? setTimeout(() => {
            this.#nextDueAt = Number.POSITIVE_INFINITY;
            this.#wake(true);
          }, timeout)
        : undefined;
      this.#wakeUp = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  #startTask(row: ClaimedRow): void {
    const token = row.claim_token;
    // The slot frees when the task's function ends; the lease is held until its outcome is stored.
    const freeSlot = () => {
      if (this.#inFlight.delete(token)) {
        this.#startQueued();
        this.#wake(false);
      }
    };
    const attempt: RunningAttempt = { row, controller: new AbortController() };
    const run = runClaimedAttempt({
      attempt,
      backend: this.backend,
      workerId: this.workerId,
      completer: this.#completer!,
      shutdown: this.#abortController.signal,
      freeSlot,
      onRetry: (availableAt) => {
        this.#nextDueAt = Math.min(this.#nextDueAt, availableAt.getTime());
      },
    })
      .catch((error: unknown) => {
        if (error instanceof AttemptFenced) return; // logged by the completer
        // Never the process, never the batch-mates: the row's lease runs out and recovery
        // records a WorkerLost attempt.
        getTaskLogger().error(
          `worker ${this.workerId}: running task ${row.id} (attempt ${row.attempts}) failed unexpectedly`,
          error,
        );
      })
      .finally(() => {
        this.#heartbeat!.release([token]);
        this.#settling.delete(run);
        freeSlot();
      });
    this.#inFlight.set(token, attempt);
    this.#settling.add(run);
  }

  /** Abort the running attempt(s) of task `id` with `TaskCancelled`: the lifecycle records it CANCELLED. */
  #cancelRunning(id: string): void {
    for (const attempt of this.#inFlight.values()) {
      if (attempt.row.id !== id || attempt.controller.signal.aborted) continue;
      getTaskLogger().info(`worker ${this.workerId}: cancelling running task ${id}`);
      attempt.controller.abort(new TaskCancelled(id));
    }
  }

  /** Attempts the heartbeat found taken back: abort the ones still running, once each. */
  #onLost(lost: readonly { id: string; token: string }[]): void {
    for (const { id, token } of lost) {
      const attempt = this.#inFlight.get(token);
      if (!attempt || attempt.controller.signal.aborted) continue;
      getTaskLogger().error(
        `worker ${this.workerId}: attempt ${attempt.row.attempts} of task ${id} lost its lease while it ran ` +
          `(this worker was frozen or cut off longer than the lease, and the task was taken back); ` +
          `aborting its signal, and its outcome will be discarded`,
      );
      attempt.controller.abort(
        new WorkerLost(`attempt ${attempt.row.attempts} of task ${id} lost its lease`),
      );
    }
  }

  async #drain(em: EntityManager, dialect: DialectName): Promise<void> {
    if (this.#stopping) await this.#releaseQueued(em, dialect);
    // Tasks started from the local queue while waiting join `#settling`.
    const pending = (async () => {
      while (this.#settling.size > 0) await Promise.all(this.#settling);
    })();
    // A forced stop (`abort()`) may come before the drain or during it (a second signal).
    const signal = this.#abortController.signal;
    const abortRequested = new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      else signal.addEventListener('abort', () => resolve(), { once: true });
    });
    const first = await Promise.race([
      pending.then(() => 'settled' as const),
      abortRequested.then(() => 'aborted' as const),
    ]);
    if (first === 'aborted') {
      const grace = this.#options.abortGraceMs ?? 5000;
      const settled = await Promise.race([
        pending.then(() => true),
        sleep(grace).then(() => false),
      ]);
      if (!settled) {
        // Release the attempts whose function still runs; outcomes already handed in are stored first.
        const tokens = [...this.#inFlight.keys()];
        await this.#completer!.idle();
        await recoverAbandoned(this.backend, em, dialect, {
          tokens,
          reason: `worker ${this.workerId} was stopped by force and the task did not stop within ${grace} ms`,
        });
        return;
      }
    }
    // A stop that came while the last queued tasks were waiting for slots.
    await this.#releaseQueued(em, dialect);
    await this.#completer!.idle();
  }

  /** Sleep `ms`, or less if the worker is told to stop. */
  #sleep(ms: number): Promise<void> {
    return sleep(ms, undefined, { signal: this.#stopController.signal }).catch(() => {});
  }
}
