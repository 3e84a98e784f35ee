/**
 * The messages between the pool (main thread) and its worker threads. Everything here is
 * plain data that survives `postMessage`; results and errors travel in the one wire format
 * of `@djtasks/tasks/backend` (`TaskResultData`, `TaskErrorData`, `ExceptionData`).
 */
import type { JsonValue } from '@djtasks/tasks';
import type { ExceptionData, TaskErrorData, TaskResultData } from '@djtasks/tasks/backend';

/** What a thread receives when it starts (`workerData`). */
export interface ThreadInit {
  /** The backend alias, for messages. */
  alias: string;
  /** This thread's worker id, recorded in `workerIds`. */
  workerId: string;
  /** The task modules to import, as URLs or package names. */
  taskModules: readonly string[];
  /** The module whose default export runs once in the thread, or `null`. */
  threadSetup: string | null;
  /**
   * Two Int32s: [0] is 1 once the pool is closing, so that no further task is started; [1]
   * counts the `stop` messages the pool has sent (to any thread), so that a thread reads its
   * pending messages before starting a task only when a stop may be among them.
   */
  control: SharedArrayBuffer;
  /**
   * The main thread's configured backends, by alias, as the thread's own configuration
   * mirrors them: a task enqueued in the thread is forwarded to the main thread.
   */
  backends: Record<string, MirroredBackend>;
}

/** What a backend of the main thread declares, so that a thread validates tasks as it would. */
export interface MirroredBackend {
  /** Its class name, for the messages of `validateTask`. */
  className: string;
  queues: string[];
  supportsDefer: boolean;
  supportsPriority: boolean;
  supportsGetResult: boolean;
  supportsRetries: boolean;
  supportsTimeout: boolean;
  supportsCancel: boolean;
  supportsUniqueKey: boolean;
  /** Set when the backend could not be created in the main thread: why. */
  unavailable?: string;
}

/** The fields of a task that `using()` may change, as plain data. */
export interface TaskOverrides {
  priority: number;
  queueName: string;
  /** Epoch ms, or `null`. */
  runAfter: number | null;
  backend: string;
  uniqueKey: string | null;
}

/** A request from a task running in a thread to the main thread's backends. */
export type ForwardedRequest =
  | {
      kind: 'enqueue';
      /** `enqueueMany` rather than `enqueue`. */
      many: boolean;
      name: string;
      overrides: TaskOverrides;
      argsList: JsonValue[][];
    }
  | { kind: 'getResult'; backend: string; id: string }
  | { kind: 'cancel'; backend: string; id: string };

/** Why the pool stops one task: its timeout (seconds) passed, or it was cancelled. */
export type StopReason = { kind: 'timeout'; timeout: number } | { kind: 'cancel' };

/** From the pool to a thread. */
export type ToThread =
  /** Run these attempts, in order: each a READY result. */
  | { type: 'run'; jobs: TaskResultData[] }
  /** Fire the signal of every running task: the pool is closing and its grace period ended. */
  | { type: 'abort' }
  /** Stop one task: drop it if it has not started, else fire its signal with the reason. */
  | { type: 'stop'; id: string; reason: StopReason }
  /** Start nothing more; stop once the running task has finished. */
  | { type: 'close' }
  /**
   * For a thread that is instrumented: what the main thread's `metadata` hooks returned inside
   * the attempt of the started task `id` (the consumer span's context), for its `execute` hooks.
   */
  | { type: 'attemptMetadata'; id: string; metadata: Record<string, string> }
  /** The answer to a thread's forwarded request. */
  | { type: 'reply'; requestId: number; results: TaskResultData[] }
  | { type: 'reply'; requestId: number; error: ExceptionData };

/** Something that happened to one task in a thread. */
export type ThreadEvent =
  | { kind: 'started'; id: string; at: number }
  | { kind: 'succeeded'; id: string; value: JsonValue; durationUs: number }
  | { kind: 'failed'; id: string; error: TaskErrorData; durationUs: number }
  /** A `stop` reached the thread before the task started: it will not run. */
  | { kind: 'dropped'; id: string };

/** From a thread to the pool: a batch of task events, or a message about the thread. */
export type FromThread =
  | ThreadEvent[]
  /** Set up; `instrumented` when its thread setup added instrumentation (`execute` hooks). */
  | { type: 'ready'; instrumented: boolean }
  | { type: 'initFailed'; error: ExceptionData }
  | { type: 'log'; level: 'warn' | 'error'; message: string }
  /** A task in the thread enqueued a task or asked for a result: the main thread does it. */
  | { type: 'request'; requestId: number; request: ForwardedRequest };
