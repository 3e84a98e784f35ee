/**
 * The producer's SQL: insert new task rows (plain, in bulk, or under a unique key), read one
 * row, and cancel. Every function takes the `EntityManager` to run through, so it joins
 * whatever transaction that manager is in. Over 300 lines: each statement is written for the
 * three databases side by side, and MariaDB/MySQL need their own unique insert (no ON CONFLICT)
 * and update-then-read (no RETURNING on UPDATE).
 */
import type { EntityManager } from '@mikro-orm/sql';
import { dbDate, type DialectName } from '../dialect.ts';
import { UniqueKeyContention } from '../errors.ts';
import type { TaskRow } from '../rows.ts';
import { TASK_RESULT_TABLE as T } from '../schema.ts';
import { TASK_COLUMNS } from './columns.ts';
import { runnerOf, type Runner } from './runner.ts';
import type { Statement } from './statement.ts';

/** The columns of a new row. */
export interface NewTaskRow {
  id: string;
  taskName: string;
  queueName: string;
  backendName: string;
  priority: number;
  args: string;
  runAfter: Date | null;
  enqueuedAt: Date;
  /** JSON object of strings (`'{}'` for none). */
  metadata: string;
}

const COLUMNS =
  'id, status, task_name, queue_name, backend_name, priority, args, run_after, available_at, enqueued_at, metadata';

/** One row: id, task, queue, backend, priority, args, run after, available at, enqueued at, metadata. */
const INSERT_ONE: Statement = {
  name: 'djtasks_insert_one',
  postgresql: `insert into ${T} (${COLUMNS}) values ($1, 'READY', $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
  sqlite: `insert into ${T} (${COLUMNS}) values (?, 'READY', ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  mysql: `insert into ${T} (${COLUMNS}) values (?, 'READY', ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
};

/**
 * Many rows of one task in one statement: task, queue, backend, priority, run after, available
 * at, enqueued at, then the rows' ids, arguments and metadata as one JSON array (which the
 * database parses far faster than thousands of bound parameters).
 */
const INSERT_MANY: Statement = {
  name: 'djtasks_insert_many',
  postgresql:
    `insert into ${T} (${COLUMNS}) select x.id, 'READY', $1::text, $2::text, $3::text, $4::integer, x.args, ` +
    '$5::timestamptz, $6::timestamptz, $7::timestamptz, x.metadata ' +
    'from json_to_recordset($8::json) as x(id text, args text, metadata text)',
  sqlite:
    `insert into ${T} (${COLUMNS}) select json_extract(value, '$.id'), 'READY', ?, ?, ?, ?, ` +
    `json_extract(value, '$.args'), ?, ?, ?, json_extract(value, '$.metadata') from json_each(?)`,
  mysql:
    `insert into ${T} (${COLUMNS}) select x.id, 'READY', ?, ?, ?, ?, x.args, ?, ?, ?, x.metadata ` +
    "from json_table(?, '$[*]' columns (id varchar(64) path '$.id', args longtext path '$.args', " +
    "metadata longtext path '$.metadata')) as x",
};

/** As {@link INSERT_ONE} with the unique key last; inserts nothing while a READY or RUNNING row holds the key. */
const INSERT_UNIQUE: Statement = {
  name: 'djtasks_insert_unique',
  postgresql:
    `insert into ${T} (${COLUMNS}, unique_key) values ($1, 'READY', $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ` +
    'on conflict do nothing returning id',
  sqlite:
    `insert into ${T} (${COLUMNS}, unique_key) values (?, 'READY', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ` +
    'on conflict do nothing returning id',
  // No ON CONFLICT: the unique index on the generated `unique_active` column (NULL unless READY
  // or RUNNING) refuses the row with a duplicate-key error, after waiting for a conflicting
  // insert of another transaction to commit or roll back.
  mysql: `insert into ${T} (${COLUMNS}, unique_key) values (?, 'READY', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
};

/** The READY or RUNNING row holding a unique key: backend, task name, key. */
const SELECT_KEY_HOLDER: Statement = {
  name: 'djtasks_select_key_holder',
  postgresql:
    `select ${TASK_COLUMNS.postgresql(T)} from ${T} where backend_name = $1 and task_name = $2 ` +
    `and unique_key = $3 and status in ('READY', 'RUNNING')`,
  sqlite:
    `select * from ${T} where backend_name = ? and task_name = ? and unique_key = ? ` +
    `and status in ('READY', 'RUNNING')`,
  // A locking read: it sees the latest committed holder even in a REPEATABLE READ transaction
  // whose snapshot is older.
  mysql:
    `select * from ${T} where backend_name = ? and task_name = ? and unique_active = ? ` +
    'lock in share mode',
};

const SELECT_ONE: Statement = {
  name: 'djtasks_select_one',
  postgresql: `select ${TASK_COLUMNS.postgresql(T)} from ${T} where id = $1`,
  sqlite: `select * from ${T} where id = ?`,
  mysql: `select * from ${T} where id = ?`,
};

/** Cancel a READY row: finished and cancel-requested now (`now`, `now`, id). */
const CANCEL_READY: Statement = {
  name: 'djtasks_cancel_ready',
  postgresql:
    `update ${T} as t set status = 'CANCELLED', finished_at = $1, cancel_requested_at = $2 ` +
    `where t.id = $3 and t.status = 'READY' returning ${TASK_COLUMNS.postgresql('t')}`,
  sqlite:
    `update ${T} set status = 'CANCELLED', finished_at = ?, cancel_requested_at = ? ` +
    `where id = ? and status = 'READY' returning *`,
  // No RETURNING on UPDATE: the row is read back in the same transaction (updateThenRead).
  mysql:
    `update ${T} set status = 'CANCELLED', finished_at = ?, cancel_requested_at = ? ` +
    `where id = ? and status = 'READY'`,
};

/** Ask the worker of a RUNNING row to cancel it (`now`, id). */
const REQUEST_CANCEL: Statement = {
  name: 'djtasks_request_cancel',
  postgresql:
    `update ${T} as t set cancel_requested_at = coalesce(t.cancel_requested_at, $1) ` +
    `where t.id = $2 and t.status = 'RUNNING' returning ${TASK_COLUMNS.postgresql('t')}`,
  sqlite:
    `update ${T} set cancel_requested_at = coalesce(cancel_requested_at, ?) ` +
    `where id = ? and status = 'RUNNING' returning *`,
  mysql:
    `update ${T} set cancel_requested_at = coalesce(cancel_requested_at, ?) ` +
    `where id = ? and status = 'RUNNING'`,
};

/** Rows per INSERT statement: bounds the size of one statement's JSON. */
export const INSERT_CHUNK = 3000;

function rowParams(dialect: DialectName, row: NewTaskRow): unknown[] {
  return [
    row.id,
    row.taskName,
    row.queueName,
    row.backendName,
    row.priority,
    row.args,
    dbDate(dialect, row.runAfter),
    dbDate(dialect, row.runAfter ?? row.enqueuedAt),
    dbDate(dialect, row.enqueuedAt),
    row.metadata,
  ];
}

/**
 * Insert rows: one statement for one row, one per {@link INSERT_CHUNK} rows of one task (rows
 * of several tasks go one by one).
 */
export async function insertRows(
  em: EntityManager,
  dialect: DialectName,
  rows: readonly NewTaskRow[],
): Promise<void> {
  const runner = runnerOf(em, dialect);
  if (rows.length === 1 || !sameTask(rows)) {
    for (const row of rows) await runner.run(INSERT_ONE, rowParams(dialect, row));
    return;
  }
  const first = rows[0]!;
  for (let start = 0; start < rows.length; start += INSERT_CHUNK) {
    const chunk = rows.slice(start, start + INSERT_CHUNK);
    await runner.run(INSERT_MANY, [
      first.taskName,
      first.queueName,
      first.backendName,
      first.priority,
      dbDate(dialect, first.runAfter),
      dbDate(dialect, first.runAfter ?? first.enqueuedAt),
      dbDate(dialect, first.enqueuedAt),
      JSON.stringify(chunk.map((row) => ({ id: row.id, args: row.args, metadata: row.metadata }))),
    ]);
  }
}

function sameTask(rows: readonly NewTaskRow[]): boolean {
  const first = rows[0]!;
  return rows.every(
    (row) =>
      row.taskName === first.taskName &&
      row.queueName === first.queueName &&
      row.backendName === first.backendName &&
      row.priority === first.priority &&
      row.runAfter === first.runAfter &&
      row.enqueuedAt === first.enqueuedAt,
  );
}

/**
 * How often to try again when the holder finished between our refused insert and our read
 * (the key was free again): each round either inserts, or finds a holder, unless the holder
 * finishes again in that instant.
 */
const UNIQUE_ROUNDS = 20;

/**
 * Insert `row` unless a READY or RUNNING row of the same backend, task and `uniqueKey` exists;
 * resolve with the row that holds the key: `inserted` true when it is `row`. The database's
 * unique partial index decides which enqueue wins, never a read before the insert (which two
 * processes could both pass): a conflicting insert of another transaction makes PostgreSQL
 * wait for it to commit or roll back, so the read after a refused insert sees the winner.
 */
export async function insertUniqueRow(
  em: EntityManager,
  dialect: DialectName,
  row: NewTaskRow,
  uniqueKey: string,
): Promise<{ inserted: true } | { inserted: false; holder: TaskRow }> {
  const runner = runnerOf(em, dialect);
  for (let round = 0; round < UNIQUE_ROUNDS; round++) {
    if (dialect === 'mysql') {
      if (await insertOrDuplicate(runner, [...rowParams(dialect, row), uniqueKey])) {
        return { inserted: true };
      }
    } else {
      const inserted = await runner.all<{ id: string }>(INSERT_UNIQUE, [
        ...rowParams(dialect, row),
        uniqueKey,
      ]);
      if (inserted.length > 0) return { inserted: true };
    }
    const holders = await runner.all<TaskRow>(SELECT_KEY_HOLDER, [
      row.backendName,
      row.taskName,
      uniqueKey,
    ]);
    if (holders[0]) return { inserted: false, holder: holders[0] };
  }
  throw new UniqueKeyContention(row.taskName, uniqueKey, UNIQUE_ROUNDS);
}

/** MySQL's error number for a duplicate key. */
const ER_DUP_ENTRY = 1062;

/** MariaDB/MySQL: insert a keyed row; false when the unique index refused it. */
async function insertOrDuplicate(runner: Runner, params: unknown[]): Promise<boolean> {
  try {
    await runner.run(INSERT_UNIQUE, params);
    return true;
  } catch (error) {
    // A failed statement rolls back alone in MySQL: an enclosing transaction goes on.
    if ((error as { errno?: number }).errno === ER_DUP_ENTRY) return false;
    throw error;
  }
}

/**
 * MariaDB/MySQL have no `UPDATE … RETURNING`: run `update` (on row `id`) and read the row back
 * in one transaction, under the lock the update took. Undefined when it matched no row.
 */
async function updateThenRead(
  em: EntityManager,
  update: Statement,
  params: unknown[],
  id: string,
): Promise<TaskRow | undefined> {
  return em.transactional(async (tem) => {
    const runner = runnerOf(tem, 'mysql');
    if ((await runner.run(update, params)) === 0) return undefined;
    return (await runner.all<TaskRow>(SELECT_ONE, [id]))[0];
  });
}

/** Fetch one row by id. */
export async function selectRow(em: EntityManager, id: string): Promise<TaskRow | undefined> {
  const rows = await runnerOf(em).all<TaskRow>(SELECT_ONE, [id]);
  return rows[0];
}

/** Cancel a READY row: CANCELLED now. Returns the row as updated, or undefined if it was not READY. */
export async function cancelReadyRow(
  em: EntityManager,
  dialect: DialectName,
  id: string,
  now: Date,
): Promise<TaskRow | undefined> {
  const params = [dbDate(dialect, now), dbDate(dialect, now), id];
  if (dialect === 'mysql') return updateThenRead(em, CANCEL_READY, params, id);
  const rows = await runnerOf(em, dialect).all<TaskRow>(CANCEL_READY, params);
  return rows[0];
}

/**
 * Ask the worker running a RUNNING row to cancel it (its heartbeat reads the column). Returns
 * the row, or undefined if it is not RUNNING.
 */
export async function requestCancel(
  em: EntityManager,
  dialect: DialectName,
  id: string,
  now: Date,
): Promise<TaskRow | undefined> {
  const params = [dbDate(dialect, now), id];
  if (dialect === 'mysql') return updateThenRead(em, REQUEST_CANCEL, params, id);
  const rows = await runnerOf(em, dialect).all<TaskRow>(REQUEST_CANCEL, params);
  return rows[0];
}

/** The statements of this module, for the plan tests. */
export const INSERT_STATEMENTS = {
  INSERT_ONE,
  INSERT_MANY,
  INSERT_UNIQUE,
  SELECT_KEY_HOLDER,
  SELECT_ONE,
  CANCEL_READY,
  REQUEST_CANCEL,
};

/** A unique key held by a READY or RUNNING task, as `djtasks status` shows it. */
export interface HeldUniqueKey {
  taskName: string;
  uniqueKey: string;
  id: string;
  status: string;
}

const SELECT_HELD_KEYS: Statement = {
  name: 'djtasks_select_held_keys',
  postgresql:
    `select task_name, unique_key, id, status from ${T} where backend_name = $1 ` +
    `and unique_key is not null and status in ('READY', 'RUNNING') order by enqueued_at desc limit $2`,
  sqlite:
    `select task_name, unique_key, id, status from ${T} where backend_name = ? ` +
    `and unique_key is not null and status in ('READY', 'RUNNING') order by enqueued_at desc limit ?`,
  mysql:
    `select task_name, unique_key, id, status from ${T} where backend_name = ? ` +
    `and unique_key is not null and status in ('READY', 'RUNNING') order by enqueued_at desc limit ?`,
};

/** The unique keys held now on `backendName`, most recently enqueued first, at most `limit`. */
export async function selectHeldUniqueKeys(
  em: EntityManager,
  backendName: string,
  limit: number,
): Promise<HeldUniqueKey[]> {
  const rows = await runnerOf(em).all<{
    task_name: string;
    unique_key: string;
    id: string;
    status: string;
  }>(SELECT_HELD_KEYS, [backendName, limit]);
  return rows.map((row) => ({
    taskName: row.task_name,
    uniqueKey: row.unique_key,
    id: row.id,
    status: row.status,
  }));
}
