/**
 * Plans that do not depend on statistics (issue 12): on a fresh table of 100,000 READY and
 * 1,000,000 finished rows that was never analyzed (autovacuum off on it), every hot statement,
 * exactly as the code sends it, must read the task table through its intended index, with no
 * sequential scan of the table and no sort over it: under both the custom plans PostgreSQL
 * makes for the first executions of a prepared statement and the generic plan it may keep.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { TASK_RESULT_TABLE as T } from '../src/index.ts';
import { scratchPostgres, type ScratchDatabase } from './helpers.ts';
import { HOT_STATEMENTS, OLD_CLAIM_PG, OLD_INDEXES } from './plans.ts';

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  Plans?: PlanNode[];
}

/** What is wrong with `plan`: sequential scans of the task table, sorts over it. */
export function planProblems(plan: PlanNode): string[] {
  const problems: string[] = [];
  const readsTable = (node: PlanNode): boolean =>
    node['Relation Name'] === T ||
    (node['Node Type'] !== 'Limit' && (node.Plans ?? []).some(readsTable));
  const walk = (node: PlanNode) => {
    if (node['Node Type'] === 'Seq Scan' && node['Relation Name'] === T)
      problems.push(`Seq Scan on ${T}`);
    // A sort of rows read from the table (not of a few rows a LIMIT below it already bounds).
    if (/Sort$/.test(node['Node Type']) && (node.Plans ?? []).some(readsTable))
      problems.push(`${node['Node Type']} over ${T}`);
    for (const child of node.Plans ?? []) walk(child);
  };
  walk(plan);
  return problems;
}

function indexesUsed(plan: PlanNode): string[] {
  const found: string[] = [];
  const walk = (node: PlanNode) => {
    if (node['Index Name']?.startsWith(T)) found.push(node['Index Name']);
    for (const child of node.Plans ?? []) walk(child);
  };
  walk(plan);
  return found;
}

function literal(client: pg.Client, value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'number') return String(value);
  if (value instanceof Date) return `${client.escapeLiteral(value.toISOString())}::timestamptz`;
  if (Array.isArray(value))
    return `array[${value.map((v) => literal(client, v)).join(', ')}]::text[]`;
  return client.escapeLiteral(typeof value === 'string' ? value : JSON.stringify(value));
}

describe('plans on a fresh, never-analyzed PostgreSQL table (100,000 READY, 1,000,000 finished)', () => {
  let db: ScratchDatabase;
  let client: pg.Client;

  beforeAll(async () => {
    db = await scratchPostgres();
    client = new pg.Client({ connectionString: db.url });
    await client.connect();
    await client.query(`alter table ${T} set (autovacuum_enabled = false)`);
    await client.query(
      `insert into ${T} (id, status, task_name, queue_name, backend_name, priority, args, available_at, ` +
        'enqueued_at, started_at, last_attempted_at, finished_at, attempts, return_value) ' +
        `select 'f' || g, case when g % 10 = 0 then 'FAILED' else 'SUCCESSFUL' end, 'app.tasks.noop', ` +
        `case when g % 7 = 0 then 'emails' else 'default' end, 'default', 0, '[]', ` +
        `now() - interval '1 day' + g * interval '1 ms', now() - interval '1 day' + g * interval '1 ms', ` +
        `now() - interval '1 day', now() - interval '1 day', now() - interval '1 day', 1, 'null' ` +
        'from generate_series(1, 1000000) as g',
    );
    await client.query(
      `insert into ${T} (id, status, task_name, queue_name, backend_name, priority, args, available_at, enqueued_at) ` +
        `select 'r' || g, 'READY', 'app.tasks.noop', case when g % 7 = 0 then 'emails' else 'default' end, ` +
        `'default', (g % 3) - 1, '[]', now() - interval '1 hour' + g * interval '1 ms', now() - interval '1 hour' ` +
        'from generate_series(1, 100000) as g',
    );
    await client.query(
      `insert into ${T} (id, status, task_name, queue_name, backend_name, priority, args, available_at, enqueued_at, ` +
        'started_at, last_attempted_at, attempts, lease_owner, lease_expires_at, claim_token) ' +
        `select 'x' || g, 'RUNNING', 'app.tasks.noop', 'default', 'default', 0, '[]', now(), now(), now(), now(), 1, ` +
        `'worker-1', now() + interval '30 s', 'tok' || g from generate_series(1, 20) as g`,
    );
  }, 300_000);

  afterAll(async () => {
    await client?.end();
    await db?.drop();
  });

  async function explain(sql: string, params: readonly unknown[], mode: string): Promise<PlanNode> {
    await client.query('deallocate all');
    await client.query(`set plan_cache_mode = ${mode}`);
    await client.query(`prepare hot as ${sql}`);
    const args = params.length ? `(${params.map((p) => literal(client, p)).join(', ')})` : '';
    const result = await client.query<{ 'QUERY PLAN': { Plan: PlanNode }[] }>(
      `explain (format json) execute hot${args}`,
    );
    return result.rows[0]!['QUERY PLAN'][0]!.Plan;
  }

  it('the table was never analyzed', async () => {
    const { rows } = await client.query<{ analyzed: boolean; n: string }>(
      'select (last_analyze is not null or last_autoanalyze is not null) as analyzed, ' +
        `(select count(*) from ${T}) as n from pg_stat_user_tables where relname = $1`,
      [T],
    );
    expect(rows[0]).toEqual({ analyzed: false, n: '1100020' });
  });

  it('the check flags the claim and the indexes as they were before migration 0007', async () => {
    // In a transaction rolled back after: the indexes of 0001, the claim of before issue 12.
    await client.query('begin');
    try {
      for (const statement of OLD_INDEXES) await client.query(statement);
      const plan = await explain(OLD_CLAIM_PG, [new Date(), 'default', 'default', 50], 'auto');
      expect(planProblems(plan), JSON.stringify(plan)).toContain(`Sort over ${T}`);
    } finally {
      await client.query('rollback');
    }
  });

  for (const mode of ['force_custom_plan', 'force_generic_plan']) {
    for (const hot of HOT_STATEMENTS) {
      const sql = hot.statement.postgresql;
      if (sql === null) continue;
      it(`${hot.label} (${mode.replace('force_', '').replace('_plan', ' plan')})`, async () => {
        const plan = await explain(sql, hot.pg, mode);
        const shown = JSON.stringify(plan);
        expect(planProblems(plan), shown).toEqual([]);
        if (hot.index) expect(indexesUsed(plan), shown).toContain(`${T}_${hot.index}`);
      });
    }
  }
});
