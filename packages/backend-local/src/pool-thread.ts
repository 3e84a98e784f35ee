/** One worker thread of the pool, what it holds, and how its end is described. */
import type { Worker } from 'node:worker_threads';
import type { TaskResultData } from '@djtasks/tasks/backend';
import { WorkerThreadError } from './errors.ts';
import type { StopReason } from './protocol.ts';

/** What the pool needs to know of a queued task attempt. */
export interface PoolJob {
  readonly id: string;
  readonly name: string;
  /** The READY result the thread runs, as wire data. */
  message(): TaskResultData;
}

/** A job handed to a thread: its predicted duration, and whether the thread started it. */
export interface Held<J> {
  job: J;
  predictedUs: number;
  started: boolean;
}

/** A worker thread and the jobs it holds. */
export class PoolThread<J extends PoolJob> {
  readonly worker: Worker;
  readonly workerId: string;
  /** The jobs handed to this thread and not settled, in the order it runs them. */
  readonly held = new Map<string, Held<J>>();
  /** Predicted microseconds of the held jobs, the running one included. */
  heldUs = 0;
  ready = false;
  /** The thread added instrumentation: it waits for each started task's attempt metadata. */
  instrumented = false;
  crash: Error | undefined;
  initError: Error | undefined;
  /** Set when the pool terminates the thread because a task ignored its stop: which and why. */
  stopped: { name: string; reason: StopReason } | undefined;
  readonly exited: Promise<void>;
  markExited!: () => void;

  constructor(worker: Worker, workerId: string) {
    this.worker = worker;
    this.workerId = workerId;
    this.exited = new Promise((resolve) => {
      this.markExited = resolve;
    });
  }
}

/** The error a task gets when its thread ended while it ran. */
export function threadEndError(
  thread: PoolThread<PoolJob>,
  code: number,
  terminating: boolean,
): WorkerThreadError {
  let error: WorkerThreadError;
  if (thread.stopped) {
    error = new WorkerThreadError(
      `The worker thread ${thread.workerId} was terminated because task '${thread.stopped.name}' ` +
        `ignored the signal of its ${thread.stopped.reason.kind === 'timeout' ? 'timeout' : 'cancellation'}.`,
    );
  } else if (terminating) {
    error = new WorkerThreadError(
      `The worker thread ${thread.workerId} was terminated by close(): the task neither finished ` +
        `within closeTimeoutMs nor stopped within abortTimeoutMs after its signal fired.`,
    );
  } else if (thread.crash) {
    const crash = thread.crash as Error & { code?: string };
    error = new WorkerThreadError(
      `The worker thread ${thread.workerId} crashed while running the task: ` +
        `${crash.code ? `${crash.code}: ` : ''}${crash.message}`,
      { cause: crash },
    );
    if (crash.stack) error.stack = `${error.stack ?? ''}\nCaused by: ${crash.stack}`;
  } else {
    error = new WorkerThreadError(
      `The worker thread ${thread.workerId} exited with code ${code} while running the task ` +
        `(process.exit() in a task ends its thread; the pool starts another).`,
    );
  }
  return error;
}
