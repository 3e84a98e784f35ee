/**
 * The `Worker` (entry point `@djtasks/backend-db/worker`): runs the tasks of a
 * `DatabaseBackend`. It claims ready rows in batches (when: `claim-schedule.ts`; the SQL:
 * `sql/claim.ts`), runs each through the one task lifecycle (`attempt.ts`), writes outcomes in
 * batches (`completer.ts`), renews its leases from a heartbeat thread (`heartbeat.ts`), takes
 * back tasks of dead workers (`maintenance.ts`), fires periodic tasks (`scheduler.ts`), and
 * wakes on LISTEN/NOTIFY (PostgreSQL), on enqueues in this process, or by polling.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { EntityManager } from '@mikro-orm/sql';
import { InvalidTaskBackend, taskBackends } from '@djtasks/tasks';
import { getTaskLogger } from '@djtasks/tasks/backend';
import { DatabaseBackend } from './backend.ts';
import { ClaimSchedule } from './claim-schedule.ts';
import { Completer } from './completer.ts';
import { dialectOf, type DialectName } from './dialect.ts';
import type { Heartbeat } from './heartbeat.ts';
import { LocalQueue } from './local-queue.ts';
import { recoverAbandoned } from './recovery.ts';
import { RunningAttempts } from './running-attempts.ts';
import { backendSchedules } from './scheduler.ts';
import { claimRows, nextAvailableAt, releaseRows, type ClaimedRow } from './sql/claim.ts';
import type { QueueFilter } from './sql/queue-filter.ts';
import {
  resolveWorkerOptions,
  type ResolvedWorkerOptions,
  type WorkerOptions,
  type WorkerSummary,
} from './worker-options.ts';
import { startWorkerServices } from './worker-services.ts';

export { WORKER_DEFAULTS, type WorkerOptions, type WorkerSummary } from './worker-options.ts';

/** Runs the tasks of a `DatabaseBackend` until stopped; see the module comment. */
export class Worker {
  readonly workerId: string;
  readonly #options: WorkerOptions;
  readonly #resolved: ResolvedWorkerOptions;
  readonly #abortController = new AbortController();
  readonly #stopController = new AbortController();
  /** Claimed rows not started yet, in claim order. */
  readonly #queued = new LocalQueue();
  #attempts: RunningAttempts | undefined;
  #backend: DatabaseBackend | undefined;
  #filter: QueueFilter | undefined;
  #stopping = false;
  #schedule: ClaimSchedule | undefined;
  #claimed = 0;
  #released = 0;
  #running: Promise<WorkerSummary> | undefined;
  #completer: Completer | undefined;
  #heartbeat: Heartbeat | undefined;

  constructor(options: WorkerOptions = {}) {
    this.#options = options;
    this.#resolved = resolveWorkerOptions(options);
    this.workerId = this.#resolved.workerId;
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
    this.#stopNow();
    return this.#running;
  }

  /**
   * Stop now: fire every running task's abort signal; tasks that still run after
   * `abortGraceMs` are released (READY or FAILED per their attempts) so other workers can go on.
   */
  async abort(): Promise<WorkerSummary | undefined> {
    this.#abortController.abort(new Error(`worker ${this.workerId} is shutting down`));
    this.#stopNow();
    return this.#running;
  }

  /** Look for tasks now (new tasks were enqueued). */
  wake(): void {
    this.#schedule?.wake();
  }

  #stopNow(): void {
    this.#stopping = true;
    this.#stopController.abort();
    this.#schedule?.stop();
  }

  async #run(): Promise<WorkerSummary> {
    const backend = this.backend;
    const { batch = false } = this.#options;
    // A schedule whose task no loaded module defines stops the worker here, before it takes work.
    const schedules = this.#options.schedules === false || batch ? [] : backendSchedules(backend);
    const orm = await backend.getOrm();
    const em = orm.em.fork() as unknown as EntityManager;
    const dialect = dialectOf(em);
    const { queues, excludeQueues, leaseMs, pollIntervalMs } = this.#resolved;
    const filter: QueueFilter = { backendName: backend.alias, queues, excludeQueues };
    this.#filter = filter;
    const schedule = new ClaimSchedule({
      capacity: this.#resolved.capacity,
      lowWater: this.#resolved.lowWater,
      pollIntervalMs,
      batch,
      nextDue: () => nextAvailableAt(em, dialect, filter),
    });
    this.#schedule = schedule;
    if (this.#stopping) schedule.stop();
    const log = getTaskLogger();
    const queueList = queues === '*' ? '*' : queues.join(',');
    log.info(
      `Starting worker worker_id=${this.workerId} backend=${backend.alias} queues=${queueList}`,
    );
    if (this.#options.startupDelay !== false && pollIntervalMs > 0 && !batch) {
      await this.#sleep(Math.random() * pollIntervalMs);
    }
    const completer = new Completer(em, dialect, this.workerId, () => this.#heartbeat?.progress());
    this.#completer = completer;
    const attempts = new RunningAttempts({
      backend,
      workerId: this.workerId,
      completer,
      shutdown: this.#abortController.signal,
      onSlotFree: () => {
        this.#startQueued();
        schedule.interrupt();
      },
      onSettled: (token) => this.#heartbeat?.release([token]),
      onRetry: (at) => schedule.dueAt(at),
    });
    this.#attempts = attempts;
    const services = startWorkerServices({
      backend,
      orm,
      em,
      dialect,
      workerId: this.workerId,
      options: this.#options,
      leaseMs,
      queueList,
      schedules,
      stopping: () => this.#stopping,
      sleep: (ms) => this.#sleep(ms),
      wake: () => this.wake(),
      onLost: (lost) => attempts.lost(lost),
      onCancel: (id) => attempts.cancel(id),
    });
    this.#heartbeat = services.heartbeat;
    try {
      await this.#loop(em, dialect, schedule);
      await this.#drain(em, dialect);
    } finally {
      this.#stopNow();
      await schedule.idle();
      await services.stop();
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

  async #loop(em: EntityManager, dialect: DialectName, schedule: ClaimSchedule): Promise<void> {
    const { batch = false, maxTasks = Number.POSITIVE_INFINITY } = this.#options;
    const { leaseMs } = this.#resolved;
    let backoff = 100;
    while (!this.#stopping) {
      const budget = maxTasks - this.#claimed;
      if (budget <= 0) {
        getTaskLogger().info(
          `Run maximum tasks (${maxTasks}) on worker=${this.workerId} - exiting gracefully.`,
        );
        return;
      }
      const planned = schedule.plan(this.#attempts!.size + this.#queued.length, budget);
      if (planned) {
        let rows: ClaimedRow[];
        try {
          const now = new Date();
          const leaseUntil = new Date(now.getTime() + leaseMs);
          rows = await claimRows(
            em,
            dialect,
            this.#filter!,
            this.workerId,
            planned.room,
            now,
            leaseUntil,
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
        // Counted now: the local queue takes the array itself and starts tasks off it.
        const claimed = rows.length;
        if (claimed > 0) {
          this.#claimed += claimed;
          this.#heartbeat!.hold(rows.map((row) => ({ id: row.id, token: row.claim_token })));
          this.#queued.add(rows);
          this.#startQueued();
        }
        const held = this.#attempts!.size + this.#queued.length;
        if (schedule.claimed(planned, claimed, held)) continue;
      }
      if (
        batch &&
        !schedule.mayHaveWork &&
        this.#attempts!.size === 0 &&
        this.#queued.length === 0
      ) {
        await this.#attempts!.settled();
        await this.#completer!.idle();
        if (schedule.mayHaveWork) continue;
        getTaskLogger().info(
          `No more tasks to run for worker_id=${this.workerId} - exiting gracefully.`,
        );
        return;
      }
      await schedule.wait();
    }
  }

  /** Start queued tasks while slots are free (not once the worker is stopping). */
  #startQueued(): void {
    while (
      !this.#stopping &&
      this.#attempts!.size < this.#resolved.concurrency &&
      this.#queued.length > 0
    ) {
      this.#attempts!.start(this.#queued.take()!);
    }
  }

  /** Put queued, never started rows back to READY as they were before the claim. */
  async #releaseQueued(em: EntityManager, dialect: DialectName): Promise<void> {
    const { rows, released } = await this.#queued.releaseAll(this.workerId, (queued) =>
      releaseRows(em, dialect, queued),
    );
    this.#released += released;
    if (rows.length > 0) this.#heartbeat!.release(rows.map((row) => row.claim_token));
  }

  /** After the loop: release unstarted claims, let running tasks settle (or, forced, release them). */
  async #drain(em: EntityManager, dialect: DialectName): Promise<void> {
    if (this.#stopping) await this.#releaseQueued(em, dialect);
    const grace = this.#resolved.abortGraceMs;
    // A forced stop (`abort()`) may come before the drain or during it (a second signal).
    const tokens = await this.#attempts!.settleOrGiveUp(this.#abortController.signal, grace);
    if (tokens.length > 0) {
      // Release the attempts whose function still runs; outcomes already handed in are stored first.
      await this.#completer!.idle();
      await recoverAbandoned(this.backend, em, dialect, {
        tokens,
        reason: `worker ${this.workerId} was stopped by force and the task did not stop within ${grace} ms`,
      });
      return;
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
