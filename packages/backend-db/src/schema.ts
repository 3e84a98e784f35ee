import { defineEntity, p } from '@mikro-orm/core';

/** The name of the table that holds task results. */
export const TASK_RESULT_TABLE = 'djtasks_task_result';
/** The name of the table where running workers report themselves. */
export const WORKER_TABLE = 'djtasks_worker';
/** The table of periodic task schedules: the last tick each one fired. */
export const SCHEDULE_TABLE = 'djtasks_schedule';

/**
 * One row per enqueued task: what django-tasks-db keeps, plus every attempt's error, the
 * attempt count and the lease of the worker running it. JSON columns are text written by
 * djtasks, so a damaged row can be read and failed instead of breaking the worker.
 */
export const TaskResultSchema = defineEntity({
  name: 'DjtasksTaskResult',
  tableName: TASK_RESULT_TABLE,
  properties: {
    id: p.string().length(64).primary(),
    status: p.string().length(10),
    taskName: p.string().length(255),
    queueName: p.string().length(64),
    backendName: p.string().length(64),
    priority: p.integer(),
    /** JSON array of the arguments. */
    args: p.text(),
    /** The task's `runAfter`; null when it may run at once. */
    runAfter: p.datetime().nullable(),
    /** When the task may next be claimed: `runAfter`, or the enqueue time. */
    availableAt: p.datetime(),
    enqueuedAt: p.datetime(),
    startedAt: p.datetime().nullable(),
    lastAttemptedAt: p.datetime().nullable(),
    finishedAt: p.datetime().nullable(),
    attempts: p.integer(),
    /** JSON array: the worker id of each attempt. */
    workerIds: p.text(),
    /** JSON array: one `TaskError` per failed attempt. */
    errors: p.text(),
    /** JSON of the return value, when SUCCESSFUL. */
    returnValue: p.text().nullable(),
    /** The worker holding the lease of the running attempt. */
    leaseOwner: p.string().length(64).nullable(),
    /** When that lease runs out unless renewed. */
    leaseExpiresAt: p.datetime().nullable(),
    /** Unique to the running attempt: every write of that attempt's outcome or lease requires it. */
    claimToken: p.string().length(64).nullable(),
    /** When `cancel()` asked the worker running the task to stop it. */
    cancelRequestedAt: p.datetime().nullable(),
    /** The task's `uniqueKey`: one READY or RUNNING row per backend, task name and key. */
    uniqueKey: p.string().length(255).nullable(),
    /** JSON object of strings set at enqueue (`result.metadata`, migration 0004). */
    metadata: p.text().default('{}'),
  },
});

/** The MikroORM entity of task results, for an app that wants to query them with its own `EntityManager`. */
export class TaskResultEntity extends TaskResultSchema.class {}
TaskResultSchema.setClass(TaskResultEntity);

/** A worker process, as its heartbeat reports it (for `djtasks status`). */
export const WorkerSchema = defineEntity({
  name: 'DjtasksWorker',
  tableName: WORKER_TABLE,
  properties: {
    id: p.string().length(64).primary(),
    backendName: p.string().length(64),
    hostname: p.string().length(255),
    pid: p.integer(),
    queues: p.text(),
    startedAt: p.datetime(),
    lastSeenAt: p.datetime(),
    /** When the worker last claimed or stored something: its heartbeat may live on while it is stuck. */
    lastProgressAt: p.datetime().nullable(),
  },
});

/** The MikroORM entity of worker heartbeats. */
export class WorkerEntity extends WorkerSchema.class {}
WorkerSchema.setClass(WorkerEntity);
