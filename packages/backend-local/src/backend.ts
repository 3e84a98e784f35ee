/**
 * `ThreadPoolBackend`: enqueue, results, cancel, close, and the pool's events that move each
 * job through the one lifecycle. Over 400 lines because those events and the queues they feed
 * share the class's private state (ready/deferred queues, result store, unique keys, running
 * attempts); the parts that need none of it live beside it (job.ts, pool.ts, queues.ts,
 * results.ts, deferred-timer.ts, answer-requests.ts).
 */
import {
  TaskBackendClosed,
  TaskCancelled,
  TaskResultDoesNotExist,
  TaskResultStatus,
  taskEnqueued,
  type JsonValue,
  type Task,
  type TaskArgs,
  type TaskResult,
} from '@djtasks/tasks';
import {
  attemptMetadata,
  BaseTaskBackend,
  cancel,
  copyTaskResult,
  createTaskResult,
  getTaskLogger,
  InProcessScheduler,
  RunningAttempts,
  runTaskAttempt,
  sendTransitionSignal,
  type BackendInit,
} from '@djtasks/tasks/backend';
import { answerRequest, mirrorBackends } from './answer-requests.ts';
import {
  resolveOptions,
  type ThreadPoolBackendOptions,
  type ThreadPoolSettings,
} from './options.ts';
import { Job, stopReasonOf } from './job.ts';
import { WorkerPool, type JobSource } from './pool.ts';
import { DeferredTimer } from './deferred-timer.ts';
import { ReadyQueue } from './queues.ts';
import { ResultStore } from './results.ts';

/** What a `ThreadPoolBackend` holds right now. */
export interface ThreadPoolStats {
  /** Live worker threads. */
  threads: number;
  /** Tasks waiting for a thread (including those handed to a thread that has not started them). */
  queued: number;
  /** Tasks waiting for their `runAfter` (or the backoff of a retry). */
  deferred: number;
  /** Tasks a thread is running. */
  running: number;
  /** Results kept in memory (READY, RUNNING and at most `maxResults` finished ones). */
  results: number;
}

/**
 * Runs tasks on a pool of worker threads in this process and keeps their results in memory,
 * like django-tasks-local's `ThreadPoolBackend`. `enqueue` returns at once; a task that
 * blocks the CPU does not block this thread's event loop. Supports priority, `runAfter`,
 * retries, `getResult` and `TaskContext` (its `signal` fires on `close()`).
 *
 * Nothing survives the process: queued tasks and results are lost on restart.
 */
export class ThreadPoolBackend extends BaseTaskBackend<ThreadPoolBackendOptions> {
  override readonly supportsDefer = true;
  override readonly supportsPriority = true;
  override readonly supportsGetResult = true;
  override readonly supportsRetries = true;
  override readonly supportsTimeout = true;
  override readonly supportsCancel = true;
  override readonly supportsUniqueKey = true;

  /** The options in force, defaults filled in. */
  readonly settings: Readonly<ThreadPoolSettings>;
  /** Every task not forgotten yet, with its result in its latest state. */
  readonly #results: ResultStore<Job>;
  readonly #ready = new ReadyQueue<Job>();
  readonly #scheduler: InProcessScheduler | undefined;
  /** The READY, deferred or RUNNING job holding each unique key (`name\0key`). */
  readonly #unique = new Map<string, Job>();
  readonly #deferred = new DeferredTimer<Job>((due) => {
    for (const job of due) {
      job.state = 'ready';
      this.#ready.push(job);
    }
    this.#requestDispatch();
  });
  readonly #attempts = new Set<Promise<unknown>>();
  /** The running attempts, so that `cancel()` can abort one. */
  readonly #running = new RunningAttempts();
  /** What the pool takes jobs from: the ready queue, marking each job it takes as held. */
  readonly #source: JobSource<Job> = ((ready: ReadyQueue<Job>) => ({
    get length() {
      return ready.length;
    },
    peek: () => ready.peek(),
    shift: () => {
      const job = ready.shift();
      if (job) job.state = 'held';
      return job;
    },
  }))(this.#ready);
  #pool: WorkerPool<Job> | undefined;
  #seq = 0;
  #dispatchQueued = false;
  #closing: Promise<void> | undefined;
  /** Tasks that will not run because the backend closed; logged once closed. */
  #lost: TaskResult[] = [];

  constructor(init: BackendInit<ThreadPoolBackendOptions>) {
    super(init);
    this.settings = Object.freeze(resolveOptions(init.alias, init.options));
    this.#results = new ResultStore(this.settings.maxResults);
    // Periodic tasks whose task runs here are enqueued from timers in this (the main) thread.
    if (this.schedules.length > 0) {
      this.#scheduler = new InProcessScheduler(init.alias, this.schedules, init.taskModules);
    }
  }

  override check(): string[] {
    return this.taskModules.length === 0
      ? [
          'ThreadPoolBackend runs tasks in worker threads, which find tasks by importing taskModules; none are configured.',
        ]
      : [];
  }

  /** Counts of threads, queued, deferred and running tasks, and kept results. */
  get stats(): ThreadPoolStats {
    const held = this.#pool?.heldCount ?? 0;
    return {
      threads: this.#pool?.threadCount ?? 0,
      queued: this.#ready.length + held,
      deferred: this.#deferred.length,
      running: this.#pool?.runningCount ?? 0,
      results: this.#results.size,
    };
  }

  // eslint-disable-next-line @typescript-eslint/require-await -- a Promise like every backend
  override async enqueue<TReturn>(
    task: Task<TaskArgs, TReturn, any>,
    args: TaskArgs,
  ): Promise<TaskResult<TReturn>> {
    this.#assertOpen(task);
    const holder = this.#uniqueHolder(task);
    if (holder) return copyTaskResult(holder.result) as TaskResult<TReturn>;
    const result = createTaskResult(task, args);
    this.#accept(result);
    return copyTaskResult(result);
  }

  // eslint-disable-next-line @typescript-eslint/require-await -- a Promise like every backend
  override async enqueueMany<TReturn>(
    task: Task<TaskArgs, TReturn, any>,
    argsList: readonly TaskArgs[],
  ): Promise<TaskResult<TReturn>[]> {
    this.#assertOpen(task);
    if (task.uniqueKey !== null) {
      // One task holds the key: the first entry queues it (unless one holds it already), the
      // others get its result.
      return argsList.map(() => {
        const holder = this.#uniqueHolder(task);
        if (holder) return copyTaskResult(holder.result) as TaskResult<TReturn>;
        const result = createTaskResult(task, argsList[0]!);
        this.#accept(result);
        return copyTaskResult(result);
      });
    }
    const results = argsList.map((args) => createTaskResult(task, args));
    return results.map((result) => {
      this.#accept(result);
      return copyTaskResult(result);
    });
  }

  /** The unfinished job holding `task`'s unique key, if it has one. */
  #uniqueHolder(task: Task<TaskArgs, unknown, any>): Job | undefined {
    if (task.uniqueKey === null) return undefined;
    const holder = this.#unique.get(`${task.name}\0${task.uniqueKey}`);
    return holder && !holder.result.isFinished ? holder : undefined;
  }

  /** Free the unique key `job` holds, once it has finished (or is lost). */
  #releaseUniqueKey(job: Job): void {
    const { task } = job.result;
    if (task.uniqueKey === null) return;
    const key = `${task.name}\0${task.uniqueKey}`;
    if (this.#unique.get(key) === job) this.#unique.delete(key);
  }

  // eslint-disable-next-line @typescript-eslint/require-await -- a Promise like every backend
  override async getResult(id: string): Promise<TaskResult> {
    const result = this.#results.get(id)?.result;
    if (!result) {
      throw new TaskResultDoesNotExist(
        `Task result '${id}' does not exist on backend '${this.alias}' (ThreadPoolBackend keeps ` +
          `results in memory, only the ${this.settings.maxResults} most recently finished, and none across restarts).`,
      );
    }
    return copyTaskResult(result);
  }

  /**
   * Cancel the task result `id`. A READY or deferred task becomes CANCELLED at once and
   * never starts. A RUNNING task's `signal` aborts with a `TaskCancelled`; it becomes
   * CANCELLED when it stops, or when its thread is terminated `abortTimeoutMs` later.
   */
  // eslint-disable-next-line @typescript-eslint/require-await -- a Promise like every backend
  override async cancel(id: string): Promise<TaskResult> {
    const job = this.#results.get(id);
    if (job?.state === 'running') {
      this.#running.abort(id, new TaskCancelled(id));
      return copyTaskResult(job.result);
    }
    if (!job) {
      throw new TaskResultDoesNotExist(
        `Task result '${id}' does not exist on backend '${this.alias}' (ThreadPoolBackend keeps ` +
          `results in memory, only the ${this.settings.maxResults} most recently finished, and none across restarts).`,
      );
    }
    // Throws TaskAlreadyFinished for a finished task; returns a CANCELLED one as it is.
    const transition = cancel(job.result);
    if (transition.signal === null) return copyTaskResult(job.result);
    if (job.state === 'ready') this.#ready.remove(job);
    else if (job.state === 'deferred') this.#deferred.remove(job);
    else if (job.state === 'held') {
      this.#pool?.stop(job, { kind: 'cancel' }, this.settings.abortTimeoutMs);
    }
    job.state = 'cancelled';
    job.result = transition.result;
    this.#releaseUniqueKey(job);
    sendTransitionSignal(transition, this.#sender);
    this.#results.finished(id);
    return copyTaskResult(transition.result);
  }

  /**
   * Stop taking tasks, let running tasks finish within `closeTimeoutMs`, then fire their
   * signals, wait `abortTimeoutMs`, and terminate the threads. Queued tasks are logged as lost.
   */
  override async close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  async #shutdown(): Promise<void> {
    await this.#scheduler?.close();
    for (const job of [...this.#ready.drain(), ...this.#deferred.drain()]) {
      this.#lost.push(job.result);
    }
    await this.#pool?.close(this.settings.closeTimeoutMs, this.settings.abortTimeoutMs);
    while (this.#attempts.size > 0) await Promise.allSettled([...this.#attempts]);
    if (this.#lost.length > 0) {
      const shown = this.#lost
        .slice(0, 20)
        .map((result) => `${result.task.name} id=${result.id}`)
        .join(', ');
      getTaskLogger().warn(
        `ThreadPoolBackend '${this.alias}' closed with ${this.#lost.length} task(s) that had not run; ` +
          `they are lost (this backend keeps nothing across restarts): ${shown}` +
          (this.#lost.length > 20 ? ', …' : ''),
      );
    }
    this.#lost = [];
  }

  #assertOpen(task: Task<TaskArgs, unknown, any>): void {
    if (this.#closing) {
      throw new TaskBackendClosed(
        this.alias,
        `ThreadPoolBackend '${this.alias}' is closed; cannot enqueue task '${task.name}'.`,
      );
    }
  }

  #accept(result: TaskResult): void {
    const job = new Job(result, this.#seq++);
    this.#results.add(job);
    if (result.task.uniqueKey !== null) {
      this.#unique.set(`${result.task.name}\0${result.task.uniqueKey}`, job);
    }
    taskEnqueued.send({ sender: this.#sender, taskResult: result });
    // A taskEnqueued receiver may have cancelled it already.
    if (job.state === 'ready') this.#schedule(job);
  }

  get #sender(): abstract new (...args: never[]) => unknown {
    return this.constructor as abstract new (...args: never[]) => unknown;
  }

  /** Queue `job` now, or keep it until its `runAfter`. */
  #schedule(job: Job): void {
    job.due = job.result.task.runAfter?.getTime() ?? 0;
    if (job.due > Date.now()) {
      job.state = 'deferred';
      this.#deferred.push(job);
      return;
    }
    job.state = 'ready';
    this.#ready.push(job);
    this.#requestDispatch();
  }

  /** Hand work to the threads once the current synchronous burst of enqueues is over. */
  #requestDispatch(): void {
    if (this.#dispatchQueued) return;
    this.#dispatchQueued = true;
    queueMicrotask(() => {
      this.#dispatchQueued = false;
      if (!this.#closing) this.#poolOrCreate().dispatch();
    });
  }

  #poolOrCreate(): WorkerPool<Job> {
    this.#pool ??= new WorkerPool<Job>(
      {
        alias: this.alias,
        maxWorkers: this.settings.maxWorkers,
        taskModules: this.taskModules,
        threadSetup: this.settings.threadSetup,
        resourceLimits: this.settings.resourceLimits,
        backends: mirrorBackends(),
      },
      this.#source,
      {
        started: (job, workerId, at, tellThread) => {
          // Cancelled while a thread held it, and the thread started it before it heard:
          // the thread aborts it on the stop message; its outcome is not recorded.
          if (job.state === 'cancelled') return;
          job.state = 'running';
          const outcome = Promise.withResolvers<JsonValue>();
          job.outcome = outcome;
          // An instrumented thread runs the function inside what the attempt's hooks make
          // active here (the consumer span): it gets their metadata, read inside them.
          const execute = tellThread
            ? () => {
                tellThread(this.#attemptMetadata(job));
                return outcome.promise;
              }
            : () => outcome.promise;
          this.#runAttempt(job, workerId, execute, new Date(at));
        },
        settled: (job, outcome) => {
          if ('value' in outcome) job.outcome?.resolve(outcome.value);
          else job.outcome?.reject(outcome.error);
          job.outcome = undefined;
        },
        returned: (job) => {
          if (job.state === 'cancelled') return;
          if (this.#closing) {
            this.#lost.push(job.result);
          } else {
            job.state = 'ready';
            this.#ready.unshift(job);
          }
        },
        unrunnable: (job, workerId, error) => {
          if (job.state === 'cancelled') return;
          job.state = 'running';
          this.#runAttempt(job, workerId, () => Promise.reject(error));
        },
        log: (level, message) => {
          getTaskLogger()[level](`ThreadPoolBackend '${this.alias}' ${message}`);
        },
        request: (request, workerId) => {
          if (this.#closing) {
            const what =
              request.kind === 'enqueue'
                ? `enqueue task '${request.name}'`
                : `${request.kind === 'cancel' ? 'cancel' : 'get'} result '${request.id}'`;
            return Promise.reject(
              new TaskBackendClosed(
                this.alias,
                `ThreadPoolBackend '${this.alias}' is closed; a task in worker thread ${workerId} ` +
                  `cannot ${what} through it any more.`,
              ),
            );
          }
          return answerRequest(request);
        },
      },
    );
    return this.#pool;
  }

  /**
   * Run one attempt through the shared lifecycle; `execute` settles when the thread reports
   * (or its thread ends). A timeout or a cancel aborts the attempt's signal: the thread is
   * told, and terminated if the task ignores it for `abortTimeoutMs`, so `execute` always settles.
   */
  #runAttempt(
    job: Job,
    workerId: string,
    execute: () => Promise<JsonValue>,
    startedAt?: Date,
  ): void {
    const attempt = runTaskAttempt(job.result, {
      backend: this,
      workerId,
      startedAt,
      attempts: this.#running,
      abortGraceMs: Number.POSITIVE_INFINITY,
      onStart: (running) => {
        job.result = running;
      },
      // Stored before taskFinished is sent, so that its receivers can read it with getResult.
      persist: (next) => {
        job.result = next;
      },
      // The timeout or a cancel: tell the thread (which terminates it if it does not stop).
      onAbort: (reason) => {
        this.#pool?.stop(job, stopReasonOf(reason), this.settings.abortTimeoutMs);
      },
      execute,
    }).then(
      () => {
        this.#attempts.delete(attempt);
        this.#afterAttempt(job);
      },
      (error: unknown) => {
        this.#attempts.delete(attempt);
        // The attempt failed before its execute took the thread's outcome: when the thread
        // reports, that outcome must not become an unhandled rejection.
        job.outcome?.promise.catch(() => {});
        getTaskLogger().error(`ThreadPoolBackend '${this.alias}': task attempt failed`, error);
      },
    );
    this.#attempts.add(attempt);
  }

  /** The `metadata` hooks' entries for the running attempt of `job`; none if they fail. */
  #attemptMetadata(job: Job): Record<string, string> {
    try {
      return { ...attemptMetadata(job.result.task) };
    } catch (error) {
      getTaskLogger().error(
        `ThreadPoolBackend '${this.alias}': no attempt metadata for task id=${job.id}`,
        error,
      );
      return {};
    }
  }

  #afterAttempt(job: Job): void {
    const { result } = job;
    if (result.isFinished) {
      job.state = 'finished';
      this.#releaseUniqueKey(job);
      this.#results.finished(result.id);
    } else if (result.status === TaskResultStatus.READY) {
      if (this.#closing) {
        job.state = 'finished';
        this.#releaseUniqueKey(job);
        this.#lost.push(result);
      } else {
        job.seq = this.#seq++;
        this.#schedule(job);
      }
    }
  }
}
