/**
 * Connection cuts at chosen statements: a trigger on the djtasks tables terminates the very
 * backend running the statement (`pg_terminate_backend(pg_backend_pid())`), so the cut lands
 * inside the claim, the completion, the recovery pass, the lease renewal or the worker upsert.
 * Sequences (not rolled back with the statement) decide which statements are cut and count them.
 */
import { describe, expect, it } from 'vitest';
import pg from 'pg';
import { TASK_RESULT_TABLE, WORKER_TABLE } from '../src/index.ts';
import { countRunRetried, hangs, sleepsThenReturns } from './fixtures/tasks.ts';
import { RUNS_TABLE } from './fixtures/side-table.ts';
import { startWorkerProcess, useWorkerDatabase, waitUntil } from './processes.ts';

/** Statement kind → cut every Nth such statement, at most `max` times. */
const PLAN: Record<string, { every: number; max: number }> = {
  claim: { every: 3, max: 8 },
  outcome: { every: 7, max: 8 },
  recovery: { every: 2, max: 4 },
  heartbeat: { every: 1, max: 4 },
  worker: { every: 3, max: 3 },
};

async function installCuts(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    for (const kind of Object.keys(PLAN)) {
      await client.query(`create sequence cut_seen_${kind}`);
      await client.query(`create sequence cut_done_${kind}`);
    }
    await client.query(
      `create table cut_plan (kind text primary key, every int not null, max int not null)`,
    );
    for (const [kind, { every, max }] of Object.entries(PLAN)) {
      await client.query(`insert into cut_plan values ($1, $2, $3)`, [kind, every, max]);
    }
    await client.query(`create function cut_here() returns trigger language plpgsql as $$
declare
  cut_kind text;
  plan cut_plan%rowtype;
begin
  if tg_table_name = '${WORKER_TABLE}' then cut_kind := 'worker';
  elsif old.status = 'READY' and new.status = 'RUNNING' then cut_kind := 'claim';
  elsif old.status = 'RUNNING' and new.status = 'RUNNING' then cut_kind := 'heartbeat';
  elsif old.status = 'RUNNING' and new.errors like '%"WorkerLost"%' and old.errors not like '%"WorkerLost"%' then cut_kind := 'recovery';
  elsif old.status = 'RUNNING' then cut_kind := 'outcome';
  else return new;
  end if;
  select * into plan from cut_plan where cut_plan.kind = cut_kind;
  if nextval('cut_seen_' || cut_kind) % plan.every = 0 and nextval('cut_done_' || cut_kind) <= plan.max then
    perform pg_terminate_backend(pg_backend_pid());
  end if;
  return new;
end $$`);
    await client.query(
      `create trigger cut_task before update on ${TASK_RESULT_TABLE} for each row execute function cut_here()`,
    );
    await client.query(
      `create trigger cut_worker before update on ${WORKER_TABLE} for each row execute function cut_here()`,
    );
  } finally {
    await client.end();
  }
}

async function cutsDone(url: string): Promise<Record<string, number>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const done: Record<string, number> = {};
    for (const [kind, { max }] of Object.entries(PLAN)) {
      const { rows } = await client.query<{ last_value: string; is_called: boolean }>(
        `select last_value, is_called from cut_done_${kind}`,
      );
      done[kind] = rows[0]!.is_called ? Math.min(Number(rows[0]!.last_value), max) : 0;
    }
    return done;
  } finally {
    await client.end();
  }
}

describe('connection cuts inside every kind of statement (postgresql)', () => {
  const db = useWorkerDatabase('postgresql');

  it(
    'drains 1,000 tasks through 20+ cuts, runs each once, and exits 0 on SIGTERM',
    { timeout: 180_000 },
    async () => {
      const total = 1000;
      const ghosts = 30;
      const results = await countRunRetried.enqueueMany(
        Array.from({ length: total + ghosts }, () => [] as []),
      );
      // Tasks of a worker that died: their leases expired long ago, so the recovery pass takes them.
      const ghostIds = results.slice(0, ghosts).map((r) => r.id);
      await db.sql(
        `update ${TASK_RESULT_TABLE} set status = 'RUNNING', attempts = 1, started_at = now(), ` +
          `last_attempted_at = now(), lease_owner = 'ghost', lease_expires_at = now() - interval '1 hour', ` +
          `claim_token = 'ghost-' || id where id in (${ghostIds.map(() => '?').join(', ')})`,
        ghostIds,
      );
      // Three slow tasks keep leases held for several heartbeats (6 s against a 1 s renewal), so
      // renewals happen (and are cut) even on a loaded machine.
      const slow = await sleepsThenReturns.enqueueMany([[6000], [6000], [6000]]);
      await installCuts(db.url());
      const worker = startWorkerProcess(db.url(), [
        '--concurrency',
        '10',
        '--lease',
        '3',
        '--interval',
        '0.2',
        '--worker-id',
        'cut',
      ]);
      await waitUntil(
        'every task is done',
        async () =>
          (await db.count(
            `select count(*) from ${TASK_RESULT_TABLE} where status = 'SUCCESSFUL'`,
          )) ===
          total + ghosts + slow.length,
        120_000,
      ).catch((error: unknown) => {
        throw new Error(`${(error as Error).message}\n${worker.output().slice(-6000)}`);
      });
      // The worker still takes new work after the cuts, then stops cleanly.
      const late = await countRunRetried.enqueue();
      await waitUntil('a task enqueued after the cuts is done', async () => {
        await late.refresh();
        return late.isFinished;
      });
      worker.child.kill('SIGTERM');
      expect(await worker.exited, worker.output()).toEqual({ code: 0, signal: null });
      const done = await cutsDone(db.url());
      const cuts = Object.values(done).reduce((a, b) => a + b, 0);
      expect(cuts, JSON.stringify(done)).toBeGreaterThanOrEqual(20);
      for (const kind of ['claim', 'outcome', 'recovery', 'heartbeat', 'worker']) {
        expect(done[kind], `${kind}: ${JSON.stringify(done)}`).toBeGreaterThan(0);
      }
      const runs = total + ghosts + slow.length + 1;
      expect(await db.count(`select count(*) from ${RUNS_TABLE}`)).toBe(runs);
      expect(await db.count(`select count(distinct task_id) from ${RUNS_TABLE}`)).toBe(runs);
      expect(
        await db.count(
          `select count(*) from ${TASK_RESULT_TABLE} where attempts <> 1 and id not in (${ghostIds.map(() => '?').join(', ')})`,
          ghostIds,
        ),
      ).toBe(0);
      expect(
        await db.count(
          `select count(*) from ${TASK_RESULT_TABLE} where attempts = 2 and errors like '%WorkerLost%' and id in (${ghostIds.map(() => '?').join(', ')})`,
          ghostIds,
        ),
      ).toBe(ghosts);
    },
  );

  it('exits within the grace period on a second SIGTERM while a task never returns, releasing it with WorkerLost', async () => {
    const result = await hangs.enqueue();
    const worker = startWorkerProcess(db.url(), ['--grace', '1', '--worker-id', 'forced']);
    await waitUntil(
      'the task runs',
      async () => (await db.count(`select count(*) from ${RUNS_TABLE}`)) === 1,
    );
    worker.child.kill('SIGTERM');
    await waitUntil('the worker acknowledges the first signal', () =>
      Promise.resolve(worker.output().includes('shutting down gracefully')),
    );
    const secondAt = performance.now();
    worker.child.kill('SIGTERM');
    // The task sleeps ten minutes and ignores its signal: only the grace period ends the worker.
    expect(await worker.exited, worker.output()).toEqual({ code: 1, signal: null });
    console.info(
      `exit ${Math.round(performance.now() - secondAt)} ms after the second SIGTERM (grace 1 s)`,
    );
    await result.refresh();
    expect(result.status).toBe('FAILED');
    expect(result.errors.map((e) => e.exceptionClassPath)).toEqual(['WorkerLost']);
    expect(result.errors[0]!.message).toContain('did not stop within 1000 ms');
  });
});
