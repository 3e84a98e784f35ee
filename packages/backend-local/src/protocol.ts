/**
 * The messages between the pool (main thread) and its worker threads. Everything here is
 * plain data that survives `postMessage`.
 */
import type { JsonValue, TaskResultStatus } from '@djtasks/tasks';

/** A `TaskError` as plain fields. */
export interface TaskErrorFields {
  exceptionClassPath: string;
  message: string;
  traceback: string;
}

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
  /** One Int32: 1 once the pool is closing, so that no further task is started. */
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
  | { kind: 'getResult'; backend: string; id: string };

/** A `TaskResult` as plain fields; dates are epoch ms. */
export interface ResultFields {
  id: string;
  name: string;
  overrides: TaskOverrides;
  status: TaskResultStatus;
  enqueuedAt: number | null;
  startedAt: number | null;
  finishedAt: number | null;
  lastAttemptedAt: number | null;
  args: JsonValue[];
  backend: string;
  errors: TaskErrorFields[];
  workerIds: string[];
  /** Set only when SUCCESSFUL. */
  returnValue?: JsonValue;
}

/** An error raised in the main thread while answering a request; `path` for a `TaskJsonError`. */
export interface ForwardedError extends TaskErrorFields {
  path?: string;
}

/** One task attempt handed to a thread. */
export interface JobMessage {
  id: string;
  name: string;
  args: readonly JsonValue[];
  backend: string;
  priority: number;
  queueName: string;
  runAfter: number | null;
  enqueuedAt: number;
  /** Only for an attempt after the first: what the earlier attempts left. */
  previous?: { startedAt: number; errors: TaskErrorFields[]; workerIds: string[] };
}

/** From the pool to a thread. */
export type ToThread =
  | { type: 'run'; jobs: JobMessage[] }
  /** Fire the signal of every running task: the pool is closing and its grace period ended. */
  | { type: 'abort' }
  /** Start nothing more; stop once the running task has finished. */
  | { type: 'close' }
  /** The answer to a thread's forwarded request. */
  | { type: 'reply'; requestId: number; results: ResultFields[] }
  | { type: 'reply'; requestId: number; error: ForwardedError };

/** Something that happened to one task in a thread. */
export type ThreadEvent =
  | { kind: 'started'; id: string; at: number }
  | { kind: 'succeeded'; id: string; value: JsonValue; durationUs: number }
  | { kind: 'failed'; id: string; error: TaskErrorFields; durationUs: number };

/** From a thread to the pool: a batch of task events, or a message about the thread. */
export type FromThread =
  | ThreadEvent[]
  | { type: 'ready' }
  | { type: 'initFailed'; error: TaskErrorFields }
  | { type: 'log'; level: 'warn' | 'error'; message: string }
  /** A task in the thread enqueued a task or asked for a result: the main thread does it. */
  | { type: 'request'; requestId: number; request: ForwardedRequest };
