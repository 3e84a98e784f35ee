/**
 * The attribute names djtasks records, following OpenTelemetry's messaging semantic
 * conventions where one fits (`messaging.*`), and `djtasks.*` for what is its own.
 */

/** The package, as the instrumentation scope of its tracer and meter. */
export const INSTRUMENTATION_NAME = '@djtasks/opentelemetry';
/** Kept equal to package.json's version. */
export const INSTRUMENTATION_VERSION = '0.1.0';

/** `messaging.system`: always `djtasks`. */
export const MESSAGING_SYSTEM = 'messaging.system';
/** `messaging.operation.type`: `send` at enqueue, `process` for an attempt. */
export const MESSAGING_OPERATION_TYPE = 'messaging.operation.type';
/** `messaging.operation.name`: `enqueue`, or `run` for an attempt. */
export const MESSAGING_OPERATION_NAME = 'messaging.operation.name';
/** `messaging.destination.name`: the queue name. */
export const MESSAGING_DESTINATION_NAME = 'messaging.destination.name';
/** `messaging.message.id`: the task result's id. */
export const MESSAGING_MESSAGE_ID = 'messaging.message.id';
/** `messaging.batch.message_count`: the number of tasks an `enqueueMany` enqueued. */
export const MESSAGING_BATCH_MESSAGE_COUNT = 'messaging.batch.message_count';

/** The task's registered name. */
export const TASK_NAME = 'djtasks.task.name';
/** The alias of the backend the task is enqueued on. */
export const TASK_BACKEND = 'djtasks.backend';
/** The attempt number, from 1. */
export const TASK_ATTEMPT = 'djtasks.task.attempt';
/** The result's status after the attempt: SUCCESSFUL, FAILED, CANCELLED, or READY (retried). */
export const TASK_STATUS = 'djtasks.task.status';
/** Whether the attempt failed and the task will be attempted again. */
export const TASK_RETRY = 'djtasks.task.retry';
/** The id of the worker that ran the attempt. */
export const TASK_WORKER_ID = 'djtasks.worker.id';

/** The value of `messaging.system`. */
export const SYSTEM = 'djtasks';
