/**
 * `DatabaseBackend`: options, validation, enqueue (plain, in bulk, under a unique key),
 * getResult, cancel, and the listeners in-process workers use. A little over 300 lines: the
 * backend class is one unit (as Django's backends are), its SQL is in `sql/insert.ts`.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { MikroORM } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/sql';
import {
  InvalidTask,
  InvalidTaskBackend,
  TaskAlreadyFinished,
  TaskResultDoesNotExist,
  TaskResultStatus,
  taskEnqueued,
  taskFinished,
  type Task,
  type TaskArgs,
  type TaskResult,
} from '@djtasks/tasks';
import {
  BaseTaskBackend,
  createTaskResult,
  getRegisteredTask,
  loadTaskModules,
  sendTransitionSignal,
  type BackendInit,
} from '@djtasks/tasks/backend';
import { queueStatsRows, type QueueStats } from './admin-queries.ts';
import { checkDatabaseOption, openDatabase } from './connection.ts';
import { dialectOf, type DialectName } from './dialect.ts';
import { newTaskId } from './ids.ts';
import {
  cancelReadyRow,
  insertRows,
  insertUniqueRow,
  requestCancel,
  selectRow,
} from './sql/insert.ts';
import { rowToTaskResult } from './rows.ts';
import type { SqliteDialectOptions } from './sqlite.ts';

/** Options of {@link DatabaseBackend}: give `orm` or `database`. */
export interface DatabaseBackendOptions {
  /**
   * The app's own MikroORM instance (or a function returning it), so that tasks live in the
   * app's database and an enqueue inside `em.transactional()` joins that transaction. The
   * backend does not close it.
   */
  orm?: MikroORM | (() => MikroORM | Promise<MikroORM>);
  /**
   * Where the tasks live when no `orm` is given: a PostgreSQL URL
   * (`postgresql://user@host:5432/db`) or a SQLite file (`./tasks.sqlite3`, `sqlite:./tasks.sqlite3`).
   */
  database?: string;
  /** SQLite tuning when `database` is a SQLite file. */
  sqlite?: SqliteDialectOptions;
  /**
   * Create the `database` (a PostgreSQL database, or the SQLite file) when it does not exist.
   * Off by default: a misspelt name is an error, not a new empty database.
   * @defaultValue false
   */
  createDatabase?: boolean;
}

const entityManagerScope = new AsyncLocalStorage<EntityManager>();

function checkStoredName(what: string, value: string, max: number): void {
  // Characters as PostgreSQL counts them (code points), so both databases accept the same names.
  const length = [...value].length;
  if (length > max) {
    throw new InvalidTask(
      `The ${what} must be at most ${max} characters to be stored by DatabaseBackend (got ${length}: '${value.slice(0, 40)}…').`,
    );
  }
  if (value.includes('\0')) {
    throw new InvalidTask(
      `The ${what} must not contain a NUL character to be stored by DatabaseBackend (got ${JSON.stringify(value)}).`,
    );
  }
}

/**
 * Run `fn` so that every task it enqueues on a `DatabaseBackend` is written through `em`,
 * and so joins the transaction `em` is in (rolled back with it, visible to workers only
 * after it commits). Inside `orm.em.transactional()` of the backend's own ORM this happens
 * without it.
 */
export function enqueueThrough<T>(em: EntityManager, fn: () => Promise<T>): Promise<T> {
  return entityManagerScope.run(em, fn);
}

/**
 * Keeps tasks in a database table through MikroORM (SQLite or PostgreSQL): get-result,
 * priority, deferral and retries. Tasks are run by a `Worker` (`djtasks worker`).
 */
export class DatabaseBackend extends BaseTaskBackend<DatabaseBackendOptions> {
  override readonly supportsDefer = true;
  override readonly supportsPriority = true;
  override readonly supportsGetResult = true;
  override readonly supportsRetries = true;
  override readonly supportsTimeout = true;
  override readonly supportsCancel = true;
  override readonly supportsUniqueKey = true;

  #orm: Promise<MikroORM> | undefined;
  #ownsOrm = false;
  #taskModulesLoaded: Promise<unknown> | undefined;
  readonly #enqueueListeners = new Set<(queues: ReadonlySet<string>) => void>();
  readonly #cancelListeners = new Set<(id: string) => void>();

  constructor(init: BackendInit<DatabaseBackendOptions>) {
    super(init);
    const { orm, database } = init.options;
    if ((orm === undefined) === (database === undefined)) {
      throw new InvalidTaskBackend(
        `DatabaseBackend '${init.alias}' needs exactly one of the options 'orm' (the app's MikroORM) ` +
          `or 'database' (a PostgreSQL URL or a SQLite file path); got ${orm === undefined ? 'neither' : 'both'}.`,
      );
    }
    if (database !== undefined && (typeof database !== 'string' || database === '')) {
      throw new InvalidTaskBackend(
        `DatabaseBackend '${init.alias}': 'database' must be a non-empty string (got ${JSON.stringify(database)}).`,
      );
    }
    // A database djtasks cannot open is a configuration error now, not a retry loop later.
    if (database !== undefined) checkDatabaseOption(database);
  }

  /**
   * Throw `InvalidTask` if the task cannot be stored: besides the checks of every backend, a
   * task name of at most 255 characters and a queue name of at most 64 (the column sizes,
   * enforced on SQLite too), neither holding a NUL character (which PostgreSQL text cannot).
   */
  override validateTask(task: Task<any, any, any>): void {
    super.validateTask(task);
    checkStoredName('task name', task.name, 255);
    checkStoredName('queue name', task.queueName, 64);
  }

  /** The MikroORM instance tasks are stored through, opened on first use. */
  getOrm(): Promise<MikroORM> {
    if (!this.#orm) {
      const { orm, database, sqlite, createDatabase } = this.options;
      if (database !== undefined) {
        this.#ownsOrm = true;
        this.#orm = openDatabase(database, { sqlite, createDatabase });
      } else {
        this.#orm = Promise.resolve(typeof orm === 'function' ? orm() : orm!);
      }
      this.#orm.catch(() => {
        this.#orm = undefined;
      });
    }
    return this.#orm;
  }

  /**
   * The `EntityManager` to write through now: the one given to `enqueueThrough`, else the
   * transaction of the backend's ORM this call runs in, else the ORM's global manager.
   */
  async entityManager(): Promise<EntityManager> {
    const scoped = entityManagerScope.getStore();
    if (scoped) return scoped;
    const orm = await this.getOrm();
    const root = orm.em as unknown as EntityManager;
    const current = root.getContext(false);
    return current.getDriver() === root.getDriver() ? current : root;
  }

  /** The database this backend's ORM talks to. */
  async dialect(): Promise<DialectName> {
    return dialectOf((await this.getOrm()).em as unknown as EntityManager);
  }

  override async enqueue<TReturn>(
    task: Task<TaskArgs, TReturn, any>,
    args: TaskArgs,
  ): Promise<TaskResult<TReturn>> {
    const [result] = await this.enqueueMany(task, [args]);
    return result!;
  }

  /** Insert one row per entry of `argsList` with one INSERT statement. */
  override async enqueueMany<TReturn>(
    task: Task<TaskArgs, TReturn, any>,
    argsList: readonly TaskArgs[],
  ): Promise<TaskResult<TReturn>[]> {
    const enqueuedAt = new Date();
    const results = argsList.map((args) =>
      createTaskResult(task, args, { id: newTaskId(), enqueuedAt }),
    );
    if (results.length === 0) return results;
    if (task.uniqueKey !== null) return this.#enqueueUnique(task, results[0]!, argsList.length);
    const em = await this.entityManager();
    const rows = results.map((result) => ({
      id: result.id,
      taskName: task.name,
      queueName: task.queueName,
      backendName: this.alias,
      priority: task.priority,
      args: JSON.stringify(result.args),
      runAfter: task.runAfter,
      enqueuedAt,
      metadata: JSON.stringify(result.metadata),
    }));
    const dialect = dialectOf(em);
    if (rows.length > 3000 && dialect === 'sqlite') {
      await em.transactional((tem) => insertRows(tem, dialect, rows));
    } else {
      await insertRows(em, dialect, rows);
    }
    const sender = this.constructor as typeof DatabaseBackend;
    for (const result of results) taskEnqueued.send({ sender, taskResult: result });
    const queues = new Set([task.queueName]);
    for (const listener of this.#enqueueListeners) listener(queues);
    return results;
  }

  /**
   * Insert `result` unless a READY or RUNNING task holds its unique key; each of the `count`
   * entries gets the holder's result (the new one, or the one already there).
   */
  async #enqueueUnique<TReturn>(
    task: Task<TaskArgs, TReturn, any>,
    result: TaskResult<TReturn>,
    count: number,
  ): Promise<TaskResult<TReturn>[]> {
    const em = await this.entityManager();
    const row = {
      id: result.id,
      taskName: task.name,
      queueName: task.queueName,
      backendName: this.alias,
      priority: task.priority,
      args: JSON.stringify(result.args),
      runAfter: task.runAfter,
      enqueuedAt: result.enqueuedAt!,
      metadata: JSON.stringify(result.metadata),
    };
    const outcome = await insertUniqueRow(em, dialectOf(em), row, task.uniqueKey!);
    let holder: TaskResult<TReturn> = result;
    if (outcome.inserted) {
      taskEnqueued.send({ sender: this.constructor as typeof DatabaseBackend, taskResult: result });
      const queues = new Set([task.queueName]);
      for (const listener of this.#enqueueListeners) listener(queues);
    } else {
      holder = rowToTaskResult(outcome.holder, this.taskModules) as TaskResult<TReturn>;
    }
    return Array.from({ length: count }, () => holder);
  }

  override async getResult(id: string): Promise<TaskResult> {
    const em = await this.entityManager();
    const row = await selectRow(em, id);
    if (!row) throw new TaskResultDoesNotExist(id);
    if (!getRegisteredTask(row.task_name) && this.taskModules.length > 0) {
      this.#taskModulesLoaded ??= loadTaskModules(this.taskModules);
      await this.#taskModulesLoaded;
    }
    return rowToTaskResult(row, this.taskModules);
  }

  /**
   * Cancel task `id`: a READY (or deferred) task becomes CANCELLED at once and never starts
   * (`taskFinished` is sent here); for a RUNNING task the request is stored on its row and the
   * worker running it learns of it within about a second (at once in this process), aborts the
   * task's signal with `TaskCancelled`, and records it CANCELLED (never retried). Resolves with
   * the result as it is now. Cancelling a CANCELLED task does nothing; a SUCCESSFUL or FAILED one
   * throws `TaskAlreadyFinished`.
   */
  override async cancel(id: string): Promise<TaskResult> {
    const em = await this.entityManager();
    const dialect = dialectOf(em);
    const now = new Date();
    const sender = this.constructor as typeof DatabaseBackend;
    const cancelled = await cancelReadyRow(em, dialect, id, now);
    if (cancelled) {
      const result = rowToTaskResult(cancelled, this.taskModules);
      sendTransitionSignal({ result, signal: taskFinished, retryAt: null }, sender);
      return result;
    }
    const running = await requestCancel(em, dialect, id, now);
    if (running) {
      for (const listener of this.#cancelListeners) listener(id);
      return rowToTaskResult(running, this.taskModules);
    }
    const row = await selectRow(em, id);
    if (!row) throw new TaskResultDoesNotExist(id);
    const result = rowToTaskResult(row, this.taskModules);
    if (result.status === TaskResultStatus.CANCELLED) return result;
    throw new TaskAlreadyFinished(id, result.status);
  }

  /**
   * The tasks ready to run now in each queue (that has any) and when the oldest became ready,
   * in one query: what `@djtasks/opentelemetry` reports as queue depth and oldest-ready age.
   */
  async queueStats(now: Date = new Date()): Promise<QueueStats[]> {
    const em = await this.entityManager();
    return queueStatsRows(em, dialectOf(em), this.alias, now);
  }

  /** Call `listener` with the id of each RUNNING task cancelled through this backend instance (in-process workers). */
  onCancel(listener: (id: string) => void): () => void {
    this.#cancelListeners.add(listener);
    return () => this.#cancelListeners.delete(listener);
  }

  /**
   * Call `listener` after each enqueue through this backend instance (after the INSERT, which
   * may still be inside an uncommitted transaction). Workers in the same process use it to
   * wake up at once. Returns a function that removes it.
   */
  onEnqueue(listener: (queues: ReadonlySet<string>) => void): () => void {
    this.#enqueueListeners.add(listener);
    return () => this.#enqueueListeners.delete(listener);
  }

  /** Close the database connection if the backend opened it (not an app's `orm`). */
  override async close(): Promise<void> {
    const orm = this.#orm;
    this.#orm = undefined;
    if (orm && this.#ownsOrm) await (await orm).close();
  }
}
