import { Worker, type ResourceLimits } from 'node:worker_threads';
import type { JsonValue, TaskError } from '@djtasks/tasks';
import {
  exceptionFromData,
  exceptionToData,
  randomId,
  taskErrorFromData,
  type TaskResultData,
} from '@djtasks/tasks/backend';
import { WorkerThreadError } from './errors.ts';
import { PoolThread, threadEndError, type PoolJob } from './pool-thread.ts';
import type {
  ForwardedRequest,
  FromThread,
  MirroredBackend,
  StopReason,
  ThreadEvent,
  ThreadInit,
  ToThread,
} from './protocol.ts';

export type { PoolJob } from './pool-thread.ts';

/** Where the pool takes jobs from, in the order they should run. */
export interface JobSource<J extends PoolJob> {
  readonly length: number;
  peek(): J | undefined;
  shift(): J | undefined;
}

/** How the pool reports what happened to the jobs it took. */
export interface PoolEvents<J extends PoolJob> {
  /**
   * A thread started the job at `at` (epoch ms). `tellThread` is set when the thread is
   * instrumented: it waits for the attempt's metadata, to be sent once (or the job stopped).
   */
  started(
    job: J,
    workerId: string,
    at: number,
    tellThread: ((attemptMetadata: Record<string, string>) => void) | undefined,
  ): void;
  /** The started job finished: `error` set if it failed (in the task or because its thread ended). */
  settled(job: J, outcome: { value: JsonValue } | { error: TaskError | Error }): void;
  /** The job was handed to a thread that ended before starting it. */
  returned(job: J): void;
  /** The job cannot run because the threads cannot start (a task module or threadSetup failed). */
  unrunnable(job: J, workerId: string, error: Error): void;
  log(level: 'warn' | 'error', message: string): void;
  /** A task in a thread enqueued a task or asked for a result; resolves with the results. */
  request(request: ForwardedRequest, workerId: string): Promise<TaskResultData[]>;
}

/** Settings of a {@link WorkerPool}. */
export interface PoolSettings {
  alias: string;
  maxWorkers: number;
  taskModules: readonly string[];
  threadSetup: string | null;
  resourceLimits: ResourceLimits | undefined;
  /** The main thread's backends, which each thread's configuration mirrors. */
  backends: Record<string, MirroredBackend>;
}

/**
 * A thread is handed tasks beyond the one it runs only while the predicted time of all the
 * tasks it holds (running or waiting) stays under this budget. Predictions are per task name,
 * from the durations the threads report. Tasks of unknown or long duration wait in the pool's
 * queue, where priority applies and any free thread can take them.
 */
const PREFETCH_BUDGET_US = 1000;
/** The prediction for a task that has not run yet: longer than any budget. */
const UNKNOWN_US = 1e9;
/** The most tasks one thread holds at once. */
const MAX_HELD = 64;

const THREAD_URL = new URL(
  import.meta.url.endsWith('.ts') ? './thread.ts' : './thread.js',
  import.meta.url,
);

/** The worker threads of one `ThreadPoolBackend`: spawning, handing out tasks, replacing crashed threads. */
export class WorkerPool<J extends PoolJob> {
  readonly #settings: PoolSettings;
  readonly #source: JobSource<J>;
  readonly #events: PoolEvents<J>;
  readonly #threads = new Set<PoolThread<J>>();
  readonly #control = new Int32Array(new SharedArrayBuffer(8));
  readonly #poolId = randomId(6);
  /** Mean reported duration by task name (an exponential moving average), in microseconds. */
  readonly #durations = new Map<string, number>();
  #closing = false;
  #terminating = false;
  #initError: { error: Error; workerId: string } | undefined;

  constructor(settings: PoolSettings, source: JobSource<J>, events: PoolEvents<J>) {
    this.#settings = settings;
    this.#source = source;
    this.#events = events;
  }

  /** The number of live threads. */
  get threadCount(): number {
    return this.#threads.size;
  }

  /** The number of jobs a thread is running now. */
  get runningCount(): number {
    let count = 0;
    for (const thread of this.#threads) {
      for (const held of thread.held.values()) if (held.started) count++;
    }
    return count;
  }

  /** The number of jobs handed to threads that have not started yet. */
  get heldCount(): number {
    let count = 0;
    for (const thread of this.#threads) {
      for (const held of thread.held.values()) if (!held.started) count++;
    }
    return count;
  }

  /** Hand queued jobs to threads, starting threads as needed. */
  dispatch(): void {
    const source = this.#source;
    if (this.#closing || source.length === 0) return;
    if (this.#initError) {
      const { error, workerId } = this.#initError;
      for (let job = source.shift(); job; job = source.shift()) {
        this.#events.unrunnable(job, workerId, error);
      }
      return;
    }
    let idle = 0;
    for (const thread of this.#threads) if (thread.held.size === 0) idle++;
    while (this.#threads.size < this.#settings.maxWorkers && source.length > idle) {
      this.#spawn();
      idle++;
    }
    const batches = new Map<PoolThread<J>, J[]>();
    const open = new Set<PoolThread<J>>();
    for (const thread of this.#threads) {
      // Top a thread up only once it has used half of what it holds: fewer, larger messages.
      const halfEmpty = thread.heldUs <= PREFETCH_BUDGET_US / 2 && thread.held.size <= MAX_HELD / 2;
      if (thread.held.size === 0 || (thread.ready && halfEmpty)) {
        open.add(thread);
      }
    }
    let handed = true;
    while (handed && source.length > 0) {
      handed = false;
      for (const thread of open) {
        const job = source.peek();
        if (!job) break;
        const predictedUs = this.#accepts(thread, job);
        if (predictedUs === null) {
          open.delete(thread);
          continue;
        }
        source.shift();
        if (thread.held.size === 0) thread.worker.ref();
        thread.held.set(job.id, { job, predictedUs, started: false });
        thread.heldUs += predictedUs;
        let batch = batches.get(thread);
        if (!batch) batches.set(thread, (batch = []));
        batch.push(job);
        handed = true;
      }
    }
    for (const [thread, jobs] of batches) {
      this.#send(thread, { type: 'run', jobs: jobs.map((job) => job.message()) });
    }
  }

  /** The predicted duration if `thread` should take `job` now, or `null`. */
  #accepts(thread: PoolThread<J>, job: J): number | null {
    const predicted = this.#durations.get(job.name);
    if (thread.held.size === 0) return predicted ?? UNKNOWN_US;
    if (!thread.ready || predicted === undefined || thread.held.size >= MAX_HELD) return null;
    return thread.heldUs + predicted <= PREFETCH_BUDGET_US ? predicted : null;
  }

  #spawn(): void {
    const workerId = `${this.#settings.alias}-${this.#poolId}-${this.#threads.size + 1}-${randomId(4)}`;
    const init: ThreadInit = {
      alias: this.#settings.alias,
      workerId,
      taskModules: this.#settings.taskModules,
      threadSetup: this.#settings.threadSetup,
      control: this.#control.buffer,
      backends: this.#settings.backends,
    };
    const worker = new Worker(THREAD_URL, {
      workerData: init,
      name: `djtasks ${workerId}`,
      ...(this.#settings.resourceLimits ? { resourceLimits: this.#settings.resourceLimits } : {}),
    });
    const thread = new PoolThread<J>(worker, workerId);
    worker.unref();
    this.#threads.add(thread);
    worker.on('message', (message: unknown) => {
      this.#receive(thread, message as FromThread);
    });
    worker.on('error', (error: Error) => {
      thread.crash = error;
    });
    worker.on('exit', (code) => {
      this.#exited(thread, code);
    });
  }

  #send(thread: PoolThread<J>, message: ToThread): void {
    // Nothing goes to a thread that is being terminated or has exited (an attempt's metadata
    // can arrive after its thread was ended): it would never be read.
    if (thread.stopped || !this.#threads.has(thread)) return;
    thread.worker.postMessage(message);
  }

  #receive(thread: PoolThread<J>, message: FromThread): void {
    if (Array.isArray(message)) {
      for (const event of message) this.#event(thread, event);
      if (thread.held.size === 0) thread.worker.unref();
      this.dispatch();
      return;
    }
    switch (message.type) {
      case 'ready':
        thread.ready = true;
        thread.instrumented = message.instrumented;
        this.dispatch();
        break;
      case 'initFailed':
        thread.initError = exceptionFromData(message.error);
        break;
      case 'log':
        this.#events.log(message.level, `thread ${thread.workerId}: ${message.message}`);
        break;
      case 'request':
        this.#answer(thread, message.requestId, message.request);
        break;
    }
  }

  /** Answer a thread's forwarded request once the main thread has done it. */
  #answer(thread: PoolThread<J>, requestId: number, request: ForwardedRequest): void {
    this.#events.request(request, thread.workerId).then(
      (results) => {
        this.#send(thread, { type: 'reply', requestId, results });
      },
      (error: unknown) => {
        this.#send(thread, { type: 'reply', requestId, error: exceptionToData(error) });
      },
    );
  }

  #event(thread: PoolThread<J>, event: ThreadEvent): void {
    const held = thread.held.get(event.id);
    if (!held) return;
    switch (event.kind) {
      case 'started':
        held.started = true;
        this.#events.started(
          held.job,
          thread.workerId,
          event.at,
          thread.instrumented
            ? (metadata) => {
                this.#send(thread, { type: 'attemptMetadata', id: event.id, metadata });
              }
            : undefined,
        );
        break;
      case 'succeeded':
      case 'failed': {
        thread.held.delete(event.id);
        thread.heldUs = thread.held.size === 0 ? 0 : thread.heldUs - held.predictedUs;
        const previous = this.#durations.get(held.job.name);
        this.#durations.set(
          held.job.name,
          previous === undefined ? event.durationUs : previous * 0.8 + event.durationUs * 0.2,
        );
        this.#events.settled(
          held.job,
          event.kind === 'succeeded'
            ? { value: event.value }
            : { error: taskErrorFromData(event.error) },
        );
        break;
      }
      case 'dropped':
        thread.held.delete(event.id);
        thread.heldUs = thread.held.size === 0 ? 0 : thread.heldUs - held.predictedUs;
        break;
    }
  }

  #exited(thread: PoolThread<J>, code: number): void {
    this.#threads.delete(thread);
    // A thread that ends before it is ready would end the same way again: do not respawn it.
    const initError =
      thread.initError ??
      (thread.ready
        ? undefined
        : (thread.crash ??
          new WorkerThreadError(`the thread exited with code ${code} while starting`)));
    if (initError && !this.#closing) {
      this.#initError = { error: initError, workerId: thread.workerId };
      this.#events.log(
        'error',
        `thread ${thread.workerId} could not start; tasks on this backend will fail: ${initError.message}`,
      );
    }
    for (const held of thread.held.values()) {
      if (held.started) {
        this.#events.settled(held.job, { error: threadEndError(thread, code, this.#terminating) });
      } else if (this.#initError && !this.#closing) {
        this.#events.unrunnable(held.job, this.#initError.workerId, this.#initError.error);
      } else {
        this.#events.returned(held.job);
      }
    }
    thread.held.clear();
    thread.markExited();
    if (!this.#closing && !this.#initError && !thread.stopped && (code !== 0 || thread.crash)) {
      this.#events.log(
        'warn',
        `thread ${thread.workerId} ended (exit code ${code}${thread.crash ? `, ${thread.crash.message}` : ''}); replacing it`,
      );
    }
    this.dispatch();
  }

  /**
   * Tell the thread holding `job` to stop it: drop it if it has not started, else fire its
   * signal with `reason`. A started task that has not stopped `graceMs` later is ended with
   * its thread, which the pool replaces.
   */
  stop(job: J, reason: StopReason, graceMs: number): void {
    for (const thread of this.#threads) {
      const held = thread.held.get(job.id);
      if (!held) continue;
      this.#send(thread, { type: 'stop', id: job.id, reason });
      Atomics.add(this.#control, 1, 1);
      const timer = setTimeout(() => {
        const still = thread.held.get(job.id);
        if (still?.started && !thread.stopped) {
          thread.stopped = { name: job.name, reason };
          this.#events.log(
            'warn',
            `thread ${thread.workerId}: task '${job.name}' id=${job.id} did not stop within ${graceMs} ms ` +
              `after its ${reason.kind === 'timeout' ? 'timeout' : 'cancellation'}; terminating the thread and starting another`,
          );
          void thread.worker.terminate();
        }
      }, graceMs);
      timer.unref();
      return;
    }
  }

  /**
   * Stop the threads: start no further task, let running tasks finish for `closeTimeoutMs`,
   * then fire their signals and wait `abortTimeoutMs`, then terminate the threads. Jobs that
   * were handed out but never started are reported as `returned`.
   */
  async close(closeTimeoutMs: number, abortTimeoutMs: number): Promise<void> {
    this.#closing = true;
    Atomics.store(this.#control, 0, 1);
    for (const thread of this.#threads) {
      thread.worker.ref();
      this.#send(thread, { type: 'close' });
    }
    if (!(await this.#allExited(closeTimeoutMs))) {
      for (const thread of this.#threads) this.#send(thread, { type: 'abort' });
      if (!(await this.#allExited(abortTimeoutMs))) {
        this.#terminating = true;
        await Promise.all([...this.#threads].map((thread) => thread.worker.terminate()));
        await this.#allExited(Number.POSITIVE_INFINITY);
      }
    }
  }

  async #allExited(timeoutMs: number): Promise<boolean> {
    const all = Promise.all([...this.#threads].map((thread) => thread.exited)).then(() => true);
    if (timeoutMs === Number.POSITIVE_INFINITY) return all;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(resolve, timeoutMs, false);
    });
    try {
      return await Promise.race([all, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}
