/** Which queues a worker (or an admin command) looks at, and that choice as SQL. */
import { placeholders } from '../dialect.ts';

/** Which queues a worker takes tasks from. */
export interface QueueFilter {
  backendName: string;
  /** Queue names, or `'*'` for all. */
  queues: readonly string[] | '*';
  /** With `'*'`: queue names to leave alone. */
  excludeQueues: readonly string[];
}

/** `filter` as a `where` condition with `?` placeholders (for the admin commands' statements). */
export function queueWhere(filter: QueueFilter, prefix = ''): { sql: string; params: unknown[] } {
  const col = (name: string) => `${prefix}${name}`;
  let sql = `${col('backend_name')} = ?`;
  const params: unknown[] = [filter.backendName];
  if (filter.queues !== '*') {
    sql += ` and ${col('queue_name')} in (${placeholders(filter.queues.length)})`;
    params.push(...filter.queues);
  } else if (filter.excludeQueues.length > 0) {
    sql += ` and ${col('queue_name')} not in (${placeholders(filter.excludeQueues.length)})`;
    params.push(...filter.excludeQueues);
  }
  return { sql, params };
}
