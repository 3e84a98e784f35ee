/**
 * For backend authors: the base class, the one task-run lifecycle, and the helpers that
 * every backend in this repository uses.
 */
export { BaseTaskBackend, type BackendInit, type TaskBackendClass } from './backends/base.ts';
export { randomId } from './ids.ts';
export { normalizeArgs, normalizeJson, normalizeReturnValue } from './json.ts';
export {
  invokeTask,
  markAttemptStarted,
  recordAttemptFailure,
  retryDelay,
  runTaskAttempt,
  type RunTaskAttemptOptions,
} from './lifecycle.ts';
export { getTaskLogger } from './log.ts';
export { loadTaskModules, resolveTaskModule } from './modules.ts';
export { getRegisteredTask, registeredTaskNames } from './registry.ts';
export {
  copyTaskResult,
  createTaskResult,
  updateTaskResult,
  type TaskResultFields,
} from './result.ts';
export { isFinishedStatus } from './status.ts';
