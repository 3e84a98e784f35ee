/**
 * The MariaDB plans of the hot statements on a fresh table (never analyzed by hand): the claim
 * reads its index in claim order (no filesort), and everything else finds its rows by primary
 * key or by the range of one index, never by a scan of the table.
 *
 * On MariaDB the plans are fixed in the statements themselves (`FORCE INDEX` on the picks,
 * `STRAIGHT_JOIN` from the JSON of ids to the primary key), so the table here is smaller than
 * PostgreSQL's plan test (20,000 READY and 200,000 finished rows: 1.1 million rows take about
 * 45 s to insert on the CI machine); that the planner honours them does not depend on the size.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MikroORM } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/sql';
import { openDatabase, TASK_RESULT_TABLE as T } from '../src/index.ts';
import { CLAIM_STATEMENTS } from '../src/sql/claim.ts';
import { COMPLETE_STATEMENTS } from '../src/sql/complete.ts';
import { LOCK_HELD, RENEW_HELD, SELECT_CANCELLED } from '../src/sql/heartbeat.ts';
import { RECOVER_STATEMENTS } from '../src/sql/recover.ts';
import { sqlOf, type Statement } from '../src/sql/statement.ts';
import { onMariadb, scratchMariadb, type ScratchDatabase } from './helpers.ts';

const READY = 20_000;
const FINISHED = 200_000;

interface PlanRow {
  table: string;
  type: string;
  key: string | null;
  Extra: string | null;
}

onMariadb('plans of the hot statements', () => {
  describe('plans of the hot statements (mariadb)', () => {
    let db: ScratchDatabase;
    let orm: MikroORM;
    const em = () => orm.em.fork() as unknown as EntityManager;

    beforeAll(async () => {
      db = await scratchMariadb();
      orm = await openDatabase(db.url);
      // MariaDB's seq_1_to_N tables: one statement per status, no round trip per row.
      await em().execute(
        `insert into ${T} (id, status, task_name, queue_name, backend_name, priority, args, available_at, enqueued_at, finished_at, attempts) ` +
          `select concat('f', lpad(seq, 8, '0')), 'SUCCESSFUL', 't', 'default', 'default', 0, '[]', ` +
          `utc_timestamp(6), utc_timestamp(6), utc_timestamp(6), 1 from seq_1_to_${FINISHED}`,
        [],
        'run',
      );
      await em().execute(
        `insert into ${T} (id, status, task_name, queue_name, backend_name, priority, args, available_at, enqueued_at) ` +
          `select concat('r', lpad(seq, 8, '0')), 'READY', 't', 'default', 'default', seq % 3, '[]', ` +
          `utc_timestamp(6), utc_timestamp(6) from seq_1_to_${READY}`,
        [],
        'run',
      );
    }, 180_000);
    afterAll(async () => {
      await orm?.close();
      await db?.drop();
    });

    async function plan(statement: Statement, params: unknown[]): Promise<PlanRow[]> {
      return em().execute<PlanRow[]>(`explain ${sqlOf(statement, 'mysql')}`, params);
    }

    /** The task table's part of a plan: by `key`, never a full scan, never a filesort. */
    function expectTaskTable(rows: PlanRow[], key: string): void {
      for (const row of rows) expect(row.Extra ?? '', JSON.stringify(row)).not.toMatch(/filesort/i);
      const task = rows.filter((row) => row.table === T || row.table === 't');
      expect(task, JSON.stringify(rows)).toHaveLength(1);
      expect(task[0]!.type, JSON.stringify(task[0])).not.toBe('ALL');
      expect(task[0]!.key, JSON.stringify(task[0])).toBe(key);
    }

    const now = () => new Date();
    const ids = JSON.stringify(['r00000001', 'r00000002']);
    const held = JSON.stringify([{ id: 'r00000001', token: 'a' }]);
    const outcomes = JSON.stringify([{ id: 'r00000001', claim_token: 'a', status: 'SUCCESSFUL' }]);

    it('claims from one queue in claim order from ready_queue_idx', async () => {
      expectTaskTable(
        await plan(CLAIM_STATEMENTS.PICK.oneQueue, ['default', 'default', now(), 10]),
        `${T}_ready_queue_idx`,
      );
    });

    it('claims from all queues in claim order from ready_backend_idx', async () => {
      expectTaskTable(
        await plan(CLAIM_STATEMENTS.PICK.allQueues, ['default', '["other"]', now(), 10]),
        `${T}_ready_backend_idx`,
      );
    });

    it('marks, reads back, locks, completes and renews by primary key', async () => {
      const cases: [Statement, unknown[]][] = [
        [CLAIM_STATEMENTS.MYSQL_MARK, [ids, 'w', now(), now(), now()]],
        [CLAIM_STATEMENTS.MYSQL_CLAIMED, [ids]],
        [COMPLETE_STATEMENTS.LOCK_OUTCOME_ROWS, [outcomes]],
        [COMPLETE_STATEMENTS.COMPLETE, [outcomes]],
        [LOCK_HELD, [held]],
        [RENEW_HELD, [held, now()]],
        [SELECT_CANCELLED, [held]],
      ];
      for (const [statement, params] of cases) {
        const rows = await plan(statement, params);
        expectTaskTable(rows, 'PRIMARY');
        expect(rows.find((row) => row.table === 't')!.type, statement.name).toBe('eq_ref');
      }
    });

    it('finds expired leases in the RUNNING range of running_idx', async () => {
      expectTaskTable(
        await plan(RECOVER_STATEMENTS.SELECT_EXPIRED, ['default', now(), 100]),
        `${T}_running_idx`,
      );
    });
  });
});
