export {
  DEFAULT_TASK_BACKEND_ALIAS,
  DEFAULT_TASK_PRIORITY,
  DEFAULT_TASK_QUEUE_NAME,
  TASK_MAX_PRIORITY,
  TASK_MIN_PRIORITY,
} from './constants.ts';
export { DummyBackend } from './backends/dummy.ts';
export { ImmediateBackend } from './backends/immediate.ts';
export {
  configureTasks,
  defaultTaskBackend,
  defineConfig,
  taskBackends,
  TaskBackendHandler,
  type BackendConfig,
  type BackendOptionsOf,
  type TasksConfig,
} from './backend-registry.ts';
export { TaskContext } from './context.ts';
export {
  InvalidTask,
  InvalidTaskBackend,
  InvalidSchedule,
  InvalidTaskMetadata,
  InvalidTaskResultData,
  NoReturnValue,
  TaskAlreadyFinished,
  TaskBackendClosed,
  TaskBackendUnsupported,
  TaskCancelled,
  TaskException,
  TaskJsonError,
  TaskMetadataTooLarge,
  TaskModuleImportError,
  TaskResultDoesNotExist,
  TaskResultMismatch,
  TaskTimeout,
  WorkerLost,
} from './exceptions.ts';
export { addTaskInstrumentation, type TaskInstrumentation } from './instrumentation.ts';
export type { JsonArray, JsonObject, JsonValue } from './json.ts';
export type { TaskLogger } from './log.ts';
export { TASK_METADATA_MAX_BYTES, type TaskMetadata } from './metadata.ts';
export { TaskResult } from './result.ts';
export {
  defaultBackoff,
  exponentialBackoff,
  type Backoff,
  type ExponentialBackoffOptions,
} from './retry.ts';
export {
  taskEnqueued,
  taskFinished,
  taskStarted,
  TaskSignal,
  type TaskSignalPayload,
  type TaskSignalReceiver,
} from './signals.ts';
export type { Schedule, ScheduleCatchUp, ScheduleConfig } from './schedules.ts';
export { TaskResultStatus } from './status.ts';
export {
  task,
  Task,
  TASK_UNIQUE_KEY_MAX_LENGTH,
  type TaskArgs,
  type TaskOptions,
  type TaskReturn,
  type TaskUsingOptions,
} from './task.ts';
export { TaskError } from './task-error.ts';
