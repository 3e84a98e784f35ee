import { TaskException } from '@djtasks/tasks';
import type { TaskErrorFields } from './protocol.ts';

/**
 * A task's worker thread ended while it ran the task: it called `process.exit()`, crashed
 * (an uncaught exception, its memory limit) or was terminated by `close()`.
 */
export class WorkerThreadError extends TaskException {
  override name = 'WorkerThreadError';
}

/**
 * Rebuild an error a task raised in a thread, so that `TaskError.fromException` in the main
 * thread records the same class name, message and stack as the thread saw.
 */
export function errorFromFields(fields: TaskErrorFields): Error {
  const error = new Error(fields.message);
  error.name = fields.exceptionClassPath;
  error.stack = fields.traceback;
  // TaskError.fromException reads the class name from `error.constructor.name`.
  Object.defineProperty(error, 'constructor', {
    value: { name: fields.exceptionClassPath },
    enumerable: false,
  });
  return error;
}
