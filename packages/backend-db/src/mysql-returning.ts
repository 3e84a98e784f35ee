/** `UPDATE … RETURNING *` of one row for MariaDB and MySQL, which have no RETURNING on UPDATE. */
import type { EntityManager } from '@mikro-orm/sql';
import type { TaskRow } from './rows.ts';
import { TASK_RESULT_TABLE as T } from './schema.ts';

/**
 * Run `update` (an UPDATE of row `id` that says in its WHERE clause which rows it may change)
 * and read the row back in the same transaction, under the lock the update took: the
 * `UPDATE … RETURNING *` of the other databases. Undefined when the update matched nothing.
 */
export async function updateReturningRow(
  em: EntityManager,
  id: string,
  update: string,
  params: readonly unknown[],
): Promise<TaskRow | undefined> {
  return em.transactional(async (tem) => {
    const result = await tem.execute<{ affectedRows: number }>(update, [...params], 'run');
    if (result.affectedRows === 0) return undefined;
    const rows = await tem.execute<TaskRow[]>(`select * from ${T} where id = ?`, [id]);
    return rows[0];
  });
}
