/** A database backend for djtasks on MikroORM 7: SQLite or PostgreSQL, with a worker. */
export { DatabaseBackend, enqueueThrough, type DatabaseBackendOptions } from './backend.ts';
export { openDatabase, type ConnectionInfo } from './connection.ts';
export {
  DJTASKS_MIGRATIONS,
  Djtasks0001TaskResult,
  Djtasks0002ClaimToken,
  Djtasks0003Cancel,
  Djtasks0005UniqueKeySchedules,
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
export type { QueueStatus } from './admin-queries.ts';
export { recoverAbandoned, type RecoveryReport } from './recovery.ts';
export { scheduleReport, type ScheduleReport } from './schedule-report.ts';
export { Worker, type WorkerOptions, type WorkerSummary } from './worker.ts';
