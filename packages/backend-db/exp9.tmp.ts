import type { EntityManager } from '@mikro-orm/sql';
import { migrate, openDatabase } from './src/index.ts';
import { CLAIM_STATEMENTS } from './src/sql/claim.ts';
import { COMPLETE_STATEMENTS } from './src/sql/complete.ts';
import { RECOVER_STATEMENTS } from './src/sql/recover.ts';
import { LOCK_HELD, RENEW_HELD, SELECT_CANCELLED } from './src/sql/heartbeat.ts';
const orm = await openDatabase('mariadb://root@127.0.0.1:3306/h2x');
console.log(await migrate(orm.em));
const em = orm.em.fork() as unknown as EntityManager;
const now = new Date();
const ids = JSON.stringify(['r00000001', 'r00000002']);
const held = JSON.stringify([{ id: 'r00000001', token: 'a' }]);
const outcomes = JSON.stringify([{ id: 'r00000001', claim_token: 'a', status: 'SUCCESSFUL' }]);
const cases: [string, string, unknown[]][] = [
  ['pick one queue', CLAIM_STATEMENTS.PICK.oneQueue.mysql!, ['default', 'default', now, 10]],
  ['pick all queues', CLAIM_STATEMENTS.PICK.allQueues.mysql!, ['default', '[]', now, 10]],
  ['mark', CLAIM_STATEMENTS.MYSQL_MARK.mysql!, [ids, 'w', now, now, now]],
  ['claimed', CLAIM_STATEMENTS.MYSQL_CLAIMED.mysql!, [ids]],
  ['next available', CLAIM_STATEMENTS.NEXT_AVAILABLE.queues.mysql!, ['default', '["default"]']],
  ['lock outcomes', COMPLETE_STATEMENTS.LOCK_OUTCOME_ROWS.mysql!, [outcomes]],
  ['complete', COMPLETE_STATEMENTS.COMPLETE.mysql!, [outcomes]],
  ['expired', RECOVER_STATEMENTS.SELECT_EXPIRED.mysql!, ['default', now, 100]],
  ['lock held', LOCK_HELD.mysql!, [held]],
  ['renew held', RENEW_HELD.mysql!, [held, now]],
  ['cancelled', SELECT_CANCELLED.mysql!, [held]],
];
for (const [name, sql, params] of cases) {
  const rows = await em.execute<Record<string, unknown>[]>(`explain ${sql}`, params);
  console.log(name.padEnd(16), rows.map((r) => `${r.table}:${r.type}:${r.key ?? '-'}:${r.rows}:${r.Extra ?? ''}`).join(' | '));
}
await orm.close();
