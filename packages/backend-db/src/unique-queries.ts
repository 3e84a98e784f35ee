/**
 * Enqueueing a task with a unique key: the database's unique partial index on
 * (backend_name, task_name, unique_key) over READY and RUNNING rows decides which enqueue
 * wins, never a read before the insert (which two processes could both pass).
 */
import type { EntityManager } from '@mikro-orm/sql';
import { placeholders, type DialectName } from './dialect.ts';
import { UniqueKeyContention } from './errors.ts';
import { INSERT_COLUMN_COUNT, INSERT_COLUMNS, pushRowParams, type NewTaskRow } from './queries.ts';
import { insertUniqueRowMysql, selectKeyHolderMysql } from './mysql-queries.ts';
import type { TaskRow } from './rows.ts';
import { TASK_RESULT_TABLE as T } from './schema.ts';

/**
 * How often to try again when the holder finished between our refused insert and our read
 * (the key was free again): each round either inserts, or finds a holder, unless the holder
 * finishes again in that instant.
 */
const ROUNDS = 20;

/**
 * Insert `row` unless a READY or RUNNING row of the same backend, task and `uniqueKey` exists;
 * resolve with the row that holds the key: `inserted` true when it is `row`. Runs through `em`,
 * so it joins the transaction `em` is in.
 */
export async function insertUniqueRow(
  em: EntityManager,
  dialect: DialectName,
  row: NewTaskRow,
  uniqueKey: string,
): Promise<{ inserted: true } | { inserted: false; holder: TaskRow }> {
  for (let round = 0; round < ROUNDS; round++) {
    if (dialect === 'mysql') {
      if (await insertUniqueRowMysql(em, row, uniqueKey)) return { inserted: true };
      const holder = await selectKeyHolderMysql(em, row.backendName, row.taskName, uniqueKey);
      if (holder) return { inserted: false, holder };
      continue;
    }
    // ON CONFLICT DO NOTHING: a conflicting insert of another transaction makes PostgreSQL wait
    // for it to commit or roll back, so the read below sees the winner.
    const params: unknown[] = [];
    pushRowParams(params, dialect, row);
    params.push(uniqueKey);
    const inserted = await em.execute<{ id: string }[]>(
      `insert into ${T} (${INSERT_COLUMNS}, unique_key) values (${placeholders(INSERT_COLUMN_COUNT + 1)}) ` +
        `on conflict do nothing returning id`,
      params,
      'all',
    );
    if (inserted.length > 0) return { inserted: true };
    const holders = await em.execute<TaskRow[]>(
      `select * from ${T} where backend_name = ? and task_name = ? and unique_key = ? ` +
        `and status in ('READY', 'RUNNING')`,
      [row.backendName, row.taskName, uniqueKey],
    );
    if (holders[0]) return { inserted: false, holder: holders[0] };
  }
  throw new UniqueKeyContention(row.taskName, uniqueKey, ROUNDS);
}

/** A unique key held by a READY or RUNNING task, as `djtasks status` shows it. */
export interface HeldUniqueKey {
  taskName: string;
  uniqueKey: string;
  id: string;
  status: string;
}

/** The unique keys held now on `backendName`, most recently enqueued first, at most `limit`. */
export async function selectHeldUniqueKeys(
  em: EntityManager,
  backendName: string,
  limit: number,
): Promise<HeldUniqueKey[]> {
  const rows = await em.execute<
    { task_name: string; unique_key: string; id: string; status: string }[]
  >(
    `select task_name, unique_key, id, status from ${T} where backend_name = ? ` +
      `and unique_key is not null and status in ('READY', 'RUNNING') order by enqueued_at desc limit ?`,
    [backendName, limit],
  );
  return rows.map((row) => ({
    taskName: row.task_name,
    uniqueKey: row.unique_key,
    id: row.id,
    status: row.status,
  }));
}
