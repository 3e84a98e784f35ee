/**
 * A database backend for djtasks on MikroORM 7 (SQLite or PostgreSQL): what an app needs to
 * enqueue, read results and administer. The worker is its own entry point,
 * `@djtasks/backend-db/worker`, so that enqueue-only code never loads it (nor its heartbeat
 * thread, nor `pg` on SQLite).
 */
export { DatabaseBackend, enqueueThrough, type DatabaseBackendOptions } from './backend.ts';
export { openDatabase, type ConnectionInfo } from './connection.ts';
export {
  DJTASKS_MIGRATIONS,
  Djtasks0001TaskResult,
  Djtasks0002ClaimToken,
  Djtasks0003Cancel,
  Djtasks0004Metadata,
  Djtasks0005UniqueKeySchedules,
  Djtasks0006AdminIndexes,
  Djtasks0007ClaimIndexes,
  Djtasks0008UniqueKeyIndex,
  migrate,
  MIGRATIONS_TABLE,
  READY_CHANNEL,
  type DjtasksMigration,
} from './migrations.ts';
export {
  SCHEDULE_TABLE,
  TASK_RESULT_TABLE,
  TaskResultEntity,
  TaskResultSchema,
  WORKER_TABLE,
  WorkerEntity,
  WorkerSchema,
} from './schema.ts';
export { DjtasksSqliteDialect, type SqliteDialectOptions } from './sqlite.ts';
export { prune, status, type PruneRequest } from './admin.ts';
export {
  BadTaskRow,
  DatabaseConfigurationError,
  InvalidWorkerOptions,
  UniqueKeyContention,
  UnreadableTimestamp,
} from './errors.ts';
export type { QueueStats, QueueStatus } from './admin-queries.ts';
export {
  cancelResult,
  countsByQueueAndStatus,
  deleteResult,
  getResultDetail,
  InvalidResultQuery,
  listResults,
  listWorkers,
  retryResult,
  TaskNotRetryable,
  TaskStillRunning,
  type ListResultsOptions,
  type QueueStatusCount,
  type ResultPage,
  type TaskAttempt,
  type TaskResultDetail,
  type TaskResultSummary,
  type WorkerInfo,
} from './task-admin.ts';
export {
  taskThroughput,
  taskTimings,
  type Percentiles,
  type QueueTimings,
  type StatsWindowOptions,
  type Throughput,
  type ThroughputBucket,
  type Timings,
} from './task-admin-stats.ts';
export { listScheduleResults } from './task-admin-schedules.ts';
export { recoverAbandoned, type RecoveryReport } from './recovery.ts';
export { scheduleReport, type ScheduleReport } from './schedule-report.ts';
export type { WorkerOptions, WorkerSummary } from './worker-options.ts';
