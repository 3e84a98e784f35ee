/**
 * Plans that do not depend on statistics (issue 12), on SQLite: on a fresh file of 100,000
 * READY and 1,000,000 finished rows that was never analyzed, every hot statement, exactly as
 * the code sends it, must read the task table through its intended index: no `SCAN` of the
 * table without an index and no `USE TEMP B-TREE FOR ORDER BY`.
 */
import { DatabaseSync } from 'node:sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TASK_RESULT_TABLE as T } from '../src/index.ts';
import { scratchSqlite, type ScratchDatabase } from './helpers.ts';
import { HOT_STATEMENTS, OLD_CLAIM_SQLITE, OLD_INDEXES } from './plans.ts';

/** What is wrong with a plan: a scan of the task table without an index, a sort for ORDER BY. */
export function sqlitePlanProblems(details: readonly string[]): string[] {
  return details.filter(
    (detail) =>
      // The task table is named or aliased `t` / `p` in the statements; other scans are of
      // json_each and subqueries.
      new RegExp(`^SCAN (${T}|t|p)( AS \\w+)?$`).test(detail) ||
      detail.includes('USE TEMP B-TREE FOR ORDER BY'),
  );
}

describe('plans on a fresh, never-analyzed SQLite file (100,000 READY, 1,000,000 finished)', () => {
  let file: ScratchDatabase;
  let db: DatabaseSync;

  beforeAll(async () => {
    file = await scratchSqlite();
    db = new DatabaseSync(file.url);
    db.exec(
      `insert into ${T} (id, status, task_name, queue_name, backend_name, priority, args, available_at, ` +
        'enqueued_at, started_at, last_attempted_at, finished_at, attempts, return_value) ' +
        'with recursive g(n) as (select 1 union all select n + 1 from g where n < 1000000) ' +
        `select 'f' || n, case when n % 10 = 0 then 'FAILED' else 'SUCCESSFUL' end, 'app.tasks.noop', ` +
        `case when n % 7 = 0 then 'emails' else 'default' end, 'default', 0, '[]', 1764590000000 + n, ` +
        `1764590000000 + n, 1764590000000, 1764590000000, 1764590000000, 1, 'null' from g`,
    );
    db.exec(
      `insert into ${T} (id, status, task_name, queue_name, backend_name, priority, args, available_at, enqueued_at) ` +
        'with recursive g(n) as (select 1 union all select n + 1 from g where n < 100000) ' +
        `select 'r' || n, 'READY', 'app.tasks.noop', case when n % 7 = 0 then 'emails' else 'default' end, ` +
        `'default', (n % 3) - 1, '[]', 1764590000000 + n, 1764590000000 from g`,
    );
  }, 300_000);

  afterAll(async () => {
    db?.close();
    await file?.drop();
  });

  it('the file was never analyzed', () => {
    const stats = db
      .prepare("select count(*) as n from sqlite_master where name = 'sqlite_stat1'")
      .get() as { n: number };
    expect(stats.n).toBe(0);
  });

  it('the check flags the claim and the indexes as they were before migration 0007', () => {
    db.exec('begin');
    try {
      for (const statement of OLD_INDEXES) db.exec(statement);
      const plan = explain(db, OLD_CLAIM_SQLITE, [Date.now(), 'default', 'default', 50]);
      expect(sqlitePlanProblems(plan), plan.join('\n')).toContain('USE TEMP B-TREE FOR ORDER BY');
    } finally {
      db.exec('rollback');
    }
  });

  checkHotStatements(() => db);
});

/**
 * Statistics must not make a plan worse either. Analyzed right after a burst (every row READY,
 * none RUNNING, as the benchmark's "analyzed" condition leaves it), SQLite believed the
 * partial index of RUNNING rows empty and drove the completion from it, parsing the batch's
 * JSON once per running row: the drain ran 3–4× slower than on the fresh file.
 */
describe('plans on a SQLite file analyzed right after a burst (22,100 READY rows)', () => {
  let file: ScratchDatabase;
  let db: DatabaseSync;

  beforeAll(async () => {
    file = await scratchSqlite();
    db = new DatabaseSync(file.url);
    db.exec(
      `insert into ${T} (id, status, task_name, queue_name, backend_name, priority, args, available_at, enqueued_at) ` +
        'with recursive g(n) as (select 1 union all select n + 1 from g where n < 22100) ' +
        `select 'r' || n, 'READY', 'app.tasks.noop', 'default', 'default', 0, '[]', 1764590000000 + n, 1764590000000 from g`,
    );
    db.exec('analyze');
  }, 120_000);

  afterAll(async () => {
    db?.close();
    await file?.drop();
  });

  it('the file was analyzed', () => {
    const stats = db.prepare('select count(*) as n from sqlite_stat1').get() as { n: number };
    expect(stats.n).toBeGreaterThan(0);
  });

  checkHotStatements(() => db);
});

function explain(db: DatabaseSync, sql: string, params: readonly unknown[]): string[] {
  const rows = db.prepare(`explain query plan ${sql}`).all(...(params as never[])) as {
    detail: string;
  }[];
  return rows.map((row) => row.detail);
}

/** One test per hot statement: no problem in its plan, and its intended index used. */
function checkHotStatements(database: () => DatabaseSync): void {
  for (const hot of HOT_STATEMENTS) {
    const sql = hot.statement.sqlite;
    if (sql === null || hot.sqlite === undefined) continue;
    it(hot.label, () => {
      const plan = explain(database(), sql, hot.sqlite!);
      const shown = plan.join('\n');
      expect(sqlitePlanProblems(plan), shown).toEqual([]);
      if (hot.index) {
        const index = hot.index === 'pkey' ? `sqlite_autoindex_${T}_1` : `${T}_${hot.index}`;
        expect(shown).toMatch(new RegExp(`USING (COVERING )?INDEX ${index}\\b`));
      }
    });
  }
}
