/**
 * For backend authors: the base class, the one task lifecycle (its pure transitions and
 * the runner that every backend calls), the one wire codec of results and errors, and the
 * helpers that every backend in this repository uses.
 */
export { BaseTaskBackend, type BackendInit, type TaskBackendClass } from './backends/base.ts';
export { randomId } from './ids.ts';
export { normalizeArgs, normalizeJson, normalizeReturnValue } from './json.ts';
export {
  DEFAULT_ABORT_GRACE_MS,
  invokeTask,
  RunningAttempts,
  runTaskAttempt,
  type RunTaskAttemptOptions,
} from './lifecycle.ts';
export { attemptMetadata, hasTaskInstrumentation, instrumentExecution } from './instrumentation.ts';
export { getTaskLogger } from './log.ts';
export { checkTaskMetadata } from './metadata.ts';
export { loadTaskModules, resolveTaskModule } from './modules.ts';
export { copyTaskResult, createTaskResult, type TaskResultFields } from './result.ts';
export { InProcessScheduler } from './schedule-runner.ts';
export {
  checkSchedule,
  checkSchedules,
  nextTick,
  scheduledTask,
  tickKey,
  ticksDue,
  type Schedule,
} from './schedules.ts';
export { isFinishedStatus, isTaskResultStatus } from './status.ts';
export { rebuildTask, type AnyTask } from './task.ts';
export { getRegisteredTask, registeredTaskNames } from './task-registry.ts';
export {
  cancel,
  fail,
  lose,
  retryDelay,
  sendTransitionSignal,
  startAttempt,
  succeed,
  timeOut,
  type FailOptions,
  type Transition,
} from './transitions.ts';
export {
  exceptionFromData,
  exceptionToData,
  taskErrorFromData,
  taskErrorToData,
  taskResultFromData,
  taskResultToData,
  type DecodeOptions,
  type ExceptionData,
  type TaskErrorData,
  type TaskResultData,
} from './wire.ts';
