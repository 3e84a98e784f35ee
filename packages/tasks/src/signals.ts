import { getTaskLogger, taskDebugEnabled } from './log.ts';
import type { TaskResult } from './result.ts';

/** What a task signal hands its receivers. `sender` is the backend's class, as in Django. */
export interface TaskSignalPayload {
  sender: abstract new (...args: never[]) => unknown;
  taskResult: TaskResult;
}

/** A receiver of a task signal. It may be async; its Promise is not awaited. */
export type TaskSignalReceiver = (payload: TaskSignalPayload) => void | Promise<void>;

/**
 * A list of receivers called one by one when the signal is sent. A receiver that throws
 * or rejects is logged and never breaks the enqueue or the task run that sent the signal.
 */
export class TaskSignal {
  readonly name: string;
  readonly #receivers = new Set<TaskSignalReceiver>();

  constructor(name: string) {
    this.name = name;
  }

  /** Call `receiver` on every send from now on. Connecting twice has no further effect. */
  connect(receiver: TaskSignalReceiver): void {
    this.#receivers.add(receiver);
  }

  /** Stop calling `receiver`; return whether it was connected. */
  disconnect(receiver: TaskSignalReceiver): boolean {
    return this.#receivers.delete(receiver);
  }

  /** Whether any receiver is connected. */
  get hasReceivers(): boolean {
    return this.#receivers.size > 0;
  }

  /** Call every receiver with `payload`. */
  send(payload: TaskSignalPayload): void {
    for (const receiver of this.#receivers) {
      try {
        const pending = receiver(payload);
        if (pending instanceof Promise) {
          pending.catch((error: unknown) => {
            this.#logFailure(receiver, payload, error);
          });
        }
      } catch (error) {
        this.#logFailure(receiver, payload, error);
      }
    }
  }

  #logFailure(receiver: TaskSignalReceiver, payload: TaskSignalPayload, error: unknown): void {
    getTaskLogger().error(
      `receiver ${receiver.name || '(anonymous)'} of ${this.name} failed for task id=${payload.taskResult.id}`,
      error,
    );
  }
}

/** Sent after a task has been enqueued (status `READY`, `enqueuedAt` set). */
export const taskEnqueued = new TaskSignal('taskEnqueued');
/** Sent when an attempt starts (status `RUNNING`). */
export const taskStarted = new TaskSignal('taskStarted');
/** Sent when a task has finished, successfully or not (status `SUCCESSFUL` or `FAILED`). */
export const taskFinished = new TaskSignal('taskFinished');

// Django's built-in receivers log every transition to the "django.tasks" logger; ours go to the task logger.
taskEnqueued.connect(function logTaskEnqueued({ taskResult }) {
  if (!taskDebugEnabled()) return;
  getTaskLogger().debug(
    `Task id=${taskResult.id} name=${taskResult.task.name} enqueued backend=${taskResult.backend}`,
  );
});
// Per-task lines are debug (Django logs started/finished at info): a worker at its default
// level must not write a line per task. A failure stays an error.
taskStarted.connect(function logTaskStarted({ taskResult }) {
  if (!taskDebugEnabled()) return;
  getTaskLogger().debug(
    `Task id=${taskResult.id} name=${taskResult.task.name} state=${taskResult.status}`,
  );
});
taskFinished.connect(function logTaskFinished({ taskResult }) {
  if (taskResult.status !== 'FAILED' && !taskDebugEnabled()) return;
  const logger = getTaskLogger();
  const message = `Task id=${taskResult.id} name=${taskResult.task.name} state=${taskResult.status}`;
  if (taskResult.status === 'FAILED') {
    logger.error(message, taskResult.errors.at(-1)?.traceback ?? '');
  } else {
    logger.debug(message);
  }
});
