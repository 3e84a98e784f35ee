import {
  TaskBackendClosed,
  TaskCancelled,
  TaskResultDoesNotExist,
  TaskResultStatus,
  TaskTimeout,
  taskEnqueued,
  type JsonValue,
  type Task,
  type TaskArgs,
  type TaskResult,
} from '@djtasks/tasks';
import {
  BaseTaskBackend,
  cancel,
  copyTaskResult,
  createTaskResult,
  getTaskLogger,
  RunningAttempts,
  runTaskAttempt,
  sendTransitionSignal,
  taskResultToData,
  type BackendInit,
  type TaskResultData,
} from '@djtasks/tasks/backend';
import { answerRequest, mirrorBackends } from './answer-requests.ts';
import {
  resolveOptions,
  type ThreadPoolBackendOptions,
  type ThreadPoolSettings,
} from './options.ts';
import { WorkerPool, type JobSource, type PoolJob } from './pool.ts';
import type { StopReason } from './protocol.ts';
import { DeferredQueue, ReadyQueue } from './queues.ts';
import { ResultStore } from './results.ts';

/** The longest delay `setTimeout` accepts. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Where a job is: a queue, a thread that holds it, a running attempt, or cancelled. */
type JobState = 'ready' | 'deferred' | 'held' | 'running' | 'cancelled';

/** One enqueued task on its way through the queues and the threads. */
class Job implements PoolJob {
  /** The result in its latest state. */
  result: TaskResult;
  /** Order of arrival, for first in first out within a priority. */
  seq: number;
  /** When it may run (epoch ms); 0 when it may run now. */
  due: number;
  state: JobState = 'ready';
  /** Settles the running attempt's `execute` with the thread's outcome. */
  outcome: PromiseWithResolvers<JsonValue> | undefined;

  constructor(result: TaskResult, seq: number) {
    this.result = result;
    this.seq = seq;
    this.due = result.task.runAfter?.getTime() ?? 0;
  }

  get id(): string {
    return this.result.id;
  }

  get name(): string {
    return this.result.task.name;
  }

  get priority(): number {
    return this.result.task.priority;
  }

  message(): TaskResultData {
    return taskResultToData(this.result);
  }
}

/** Why an attempt's signal aborted, as the thread is told. */
function stopReasonOf(reason: Error): StopReason {
  return reason instanceof TaskTimeout
    ? { kind: 'timeout', timeout: reason.timeout }
    : { kind: 'cancel' };
}

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

  /** The options in force, defaults filled in. */
  readonly settings: Readonly<ThreadPoolSettings>;
  readonly #results: ResultStore;
  readonly #ready = new ReadyQueue<Job>();
  readonly #deferred = new DeferredQueue<Job>();
  readonly #attempts = new Set<Promise<unknown>>();
  /** The running attempts, so that `cancel()` can abort one. */
  readonly #running = new RunningAttempts();
  /** The jobs not finished yet, by id: where `cancel()` finds them. */
  readonly #jobs = new Map<string, Job>();
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
  #timer: NodeJS.Timeout | undefined;
  #timerDue = Number.POSITIVE_INFINITY;
  #dispatchQueued = false;
  #closing: Promise<void> | undefined;
  /** Tasks that will not run because the backend closed; logged once closed. */
  #lost: TaskResult[] = [];

  constructor(init: BackendInit<ThreadPoolBackendOptions>) {
    super(init);
    this.settings = Object.freeze(resolveOptions(init.alias, init.options));
    this.#results = new ResultStore(this.settings.maxResults);
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
    const results = argsList.map((args) => createTaskResult(task, args));
    return results.map((result) => {
      this.#accept(result);
      return copyTaskResult(result);
    });
  }

  // eslint-disable-next-line @typescript-eslint/require-await -- a Promise like every backend
  override async getResult(id: string): Promise<TaskResult> {
    const result = this.#results.get(id);
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
    const job = this.#jobs.get(id);
    if (job?.state === 'running') {
      this.#running.abort(id, new TaskCancelled(id));
      return copyTaskResult(job.result);
    }
    const result = job?.result ?? this.#results.get(id);
    if (!result) {
      throw new TaskResultDoesNotExist(
        `Task result '${id}' does not exist on backend '${this.alias}' (ThreadPoolBackend keeps ` +
          `results in memory, only the ${this.settings.maxResults} most recently finished, and none across restarts).`,
      );
    }
    const transition = cancel(result);
    if (transition.signal === null) return copyTaskResult(result);
    if (job) {
      if (job.state === 'ready') this.#ready.remove(job);
      else if (job.state === 'deferred') this.#deferred.remove(job);
      else if (job.state === 'held') {
        this.#pool?.stop(job, { kind: 'cancel' }, this.settings.abortTimeoutMs);
      }
      job.state = 'cancelled';
      job.result = transition.result;
      this.#jobs.delete(id);
    }
    this.#results.add(transition.result);
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
    clearTimeout(this.#timer);
    this.#timer = undefined;
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
    this.#results.add(result);
    this.#jobs.set(result.id, job);
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
      this.#armTimer();
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

  /** One timer, set for the earliest deferred task; nothing polls. */
  #armTimer(): void {
    const next = this.#deferred.nextDue;
    if (next === undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
      this.#timerDue = Number.POSITIVE_INFINITY;
      return;
    }
    if (this.#timer !== undefined && this.#timerDue <= next) return;
    clearTimeout(this.#timer);
    this.#timerDue = next;
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined;
        this.#timerDue = Number.POSITIVE_INFINITY;
        for (const job of this.#deferred.takeDue(Date.now())) {
          job.state = 'ready';
          this.#ready.push(job);
        }
        this.#armTimer();
        if (this.#ready.length > 0) this.#requestDispatch();
      },
      Math.min(Math.max(next - Date.now(), 0), MAX_TIMER_MS),
    );
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
        started: (job, workerId, at) => {
          // Cancelled while a thread held it, and the thread started it before it heard:
          // the thread aborts it on the stop message; its outcome is not recorded.
          if (job.state === 'cancelled') return;
          job.state = 'running';
          const outcome = Promise.withResolvers<JsonValue>();
          // Handled by the attempt's execute; this keeps a rejection from being unhandled if
          // the attempt failed before it got there.
          outcome.promise.catch(() => {});
          job.outcome = outcome;
          this.#runAttempt(job, workerId, () => outcome.promise, new Date(at));
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
        this.#results.add(running);
      },
      // Stored before taskFinished is sent, so that its receivers can read it with getResult.
      // eslint-disable-next-line @typescript-eslint/require-await -- kept in memory
      persist: async (next) => {
        job.result = next;
        this.#results.add(next);
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
        getTaskLogger().error(`ThreadPoolBackend '${this.alias}': task attempt failed`, error);
      },
    );
    this.#attempts.add(attempt);
  }

  #afterAttempt(job: Job): void {
    const { result } = job;
    if (result.isFinished) {
      this.#jobs.delete(result.id);
      this.#results.finished(result.id);
    } else if (result.status === TaskResultStatus.READY) {
      if (this.#closing) {
        this.#jobs.delete(result.id);
        this.#lost.push(result);
      } else {
        job.seq = this.#seq++;
        this.#schedule(job);
      }
    }
  }
}
