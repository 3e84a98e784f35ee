/**
 * The messages between the pool (main thread) and its worker threads. Everything here is
 * plain data that survives `postMessage`.
 */
import type { JsonValue } from '@djtasks/tasks';

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
  | { type: 'close' };

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
  | { type: 'log'; level: 'warn' | 'error'; message: string };
