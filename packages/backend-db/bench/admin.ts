/**
 * `pnpm bench:admin`: the task admin API's list, filter and count queries on a table of
 * 1,000,000 finished and 10,000 ready rows, on PostgreSQL and on SQLite: latencies (median and
 * worst of 10 runs after a warm-up) and each query's plan, to see which use an index.
 * Environment: DJTASKS_BENCH_PG_URL (a server where databases can be created),
 * DJTASKS_BENCH_ADMIN_ROWS (finished rows, default 1,000,000).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EntityManager } from '@mikro-orm/sql';
import pg from 'pg';
import { configureTasks, taskBackends } from '@djtasks/tasks';
import {
  countsByQueueAndStatus,
  DatabaseBackend,
  listResults,
  listScheduleResults,
  migrate,
  openDatabase,
  TASK_RESULT_TABLE as T,
  taskThroughput,
  taskTimings,
  type ListResultsOptions,
} from '../src/index.ts';
import { dialectOf, readDate, type DialectName } from '../src/dialect.ts';
import {
  selectEnqueuedBuckets,
  selectFinishedBuckets,
  selectRunPercentiles,
  selectStartedBuckets,
  selectWaitPercentiles,
  type StatsWindow,
} from '../src/task-admin-stats-queries.ts';
import {
  selectCounts,
  selectRows,
  selectRowsByKeyPrefix,
  type RowCursor,
  type RowFilter,
} from '../src/task-admin-queries.ts';

const ADMIN =
  process.env['DJTASKS_BENCH_PG_URL'] ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const FINISHED = Number(process.env['DJTASKS_BENCH_ADMIN_ROWS'] ?? 1_000_000);
const READY = 10_000;
const RUNS = 10;

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: ADMIN });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** Fill the table: finished rows over the last 7 days (1 in 12 FAILED, 1 in 50 CANCELLED), then READY ones. */
async function fill(em: EntityManager, dialect: DialectName): Promise<void> {
  const status = `case when g % 50 = 0 then 'CANCELLED' when g % 12 = 0 then 'FAILED' else 'SUCCESSFUL' end`;
  const errors = `case when g % 12 = 0 and g % 50 <> 0 then '[{"exceptionClassPath":"Error","message":"boom ' || (g % 1000) || '","traceback":"Error: boom"}]' else '[]' end`;
  const columns =
    'id, status, task_name, queue_name, backend_name, priority, args, available_at, enqueued_at, ' +
    'started_at, last_attempted_at, finished_at, attempts, worker_ids, errors, return_value, unique_key';
  if (dialect === 'postgresql') {
    await em.execute(
      `insert into ${T} (${columns}) select lpad(g::text, 32, '0'), ${status}, 'bench.task' || (g % 5), 'q' || ((g / 12) % 4), 'default', 0, '[1]', ` +
        `t, t, t + (g % 100) * interval '1 ms', t + (g % 100) * interval '1 ms', t + interval '1 second', 1, '["worker-' || (g % 10) || '"]', ${errors}, '1', ` +
        `case when g % 1000 = 0 then 'schedule:bench:' || lpad(g::text, 10, '0') end ` +
        `from (select g, now() - interval '7 days' + g * (interval '7 days' / ${FINISHED}) as t from generate_series(1, ${FINISHED}) g) s`,
    );
    await em.execute(
      `insert into ${T} (id, status, task_name, queue_name, backend_name, priority, args, available_at, enqueued_at) ` +
        `select lpad((${FINISHED} + g)::text, 32, '0'), 'READY', 'bench.task' || (g % 5), 'q' || ((g / 12) % 4), 'default', 0, '[1]', ` +
        `now() - g * interval '1 ms', now() - g * interval '1 ms' from generate_series(1, ${READY}) g`,
    );
    await em.execute(`analyze ${T}`);
  } else {
    const start = Date.now() - 7 * 86_400_000;
    const step = Math.floor((7 * 86_400_000) / FINISHED);
    await em.execute(
      `with recursive s(g) as (select 1 union all select g + 1 from s where g < ${FINISHED}) ` +
        `insert into ${T} (${columns}) select printf('%032d', g), ${status}, 'bench.task' || (g % 5), 'q' || ((g / 12) % 4), 'default', 0, '[1]', ` +
        `${start} + g * ${step}, ${start} + g * ${step}, ${start} + g * ${step} + g % 100, ${start} + g * ${step} + g % 100, ${start} + g * ${step} + 1000, 1, ` +
        `'["worker-' || (g % 10) || '"]', ${errors}, '1', ` +
        `case when g % 1000 = 0 then printf('schedule:bench:%010d', g) end from s`,
    );
    const now = Date.now();
    await em.execute(
      `with recursive s(g) as (select 1 union all select g + 1 from s where g < ${READY}) ` +
        `insert into ${T} (id, status, task_name, queue_name, backend_name, priority, args, available_at, enqueued_at) ` +
        `select printf('%032d', ${FINISHED} + g), 'READY', 'bench.task' || (g % 5), 'q' || ((g / 12) % 4), 'default', 0, '[1]', ${now} - g, ${now} - g from s`,
    );
    await em.execute(`analyze`);
  }
}

/** An `EntityManager` that records the statements run through it (for EXPLAIN). */
function recording(em: EntityManager, seen: { sql: string; params: unknown[] }[]): EntityManager {
  return {
    execute: (sql: string, params: unknown[] = []) => {
      seen.push({ sql, params });
      return em.execute(sql, params);
    },
  } as unknown as EntityManager;
}

async function plan(em: EntityManager, dialect: DialectName, sql: string, params: unknown[]) {
  if (dialect === 'postgresql') {
    const rows = await em.execute<{ 'QUERY PLAN': string }[]>(`explain ${sql}`, params);
    return rows.map((r) => r['QUERY PLAN']).join(' / ');
  }
  const rows = await em.execute<{ detail: string }[]>(`explain query plan ${sql}`, params);
  return rows.map((r) => r.detail).join(' / ');
}

async function time(fn: () => Promise<unknown>): Promise<{ median: number; max: number }> {
  await fn();
  const samples: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const start = performance.now();
    await fn();
    samples.push(performance.now() - start);
  }
  samples.sort((a, b) => a - b);
  return { median: samples[Math.floor(RUNS / 2)]!, max: samples.at(-1)! };
}

const NO_FILTER: RowFilter = {
  backendName: 'default',
  statuses: [],
  queues: [],
  taskNames: [],
  workerId: undefined,
  enqueuedAfter: undefined,
  enqueuedBefore: undefined,
  finishedAfter: undefined,
  finishedBefore: undefined,
  errorText: undefined,
  uniqueKey: undefined,
  uniqueKeyPrefix: undefined,
};

async function benchmark(dialect: DialectName, database: string): Promise<void> {
  const orm = await openDatabase(database, { createDatabase: true });
  await migrate(orm.em);
  const em = orm.em.fork() as unknown as EntityManager;
  const filling = performance.now();
  await fill(em, dialect);
  console.log(
    `\n## ${dialect}: ${FINISHED.toLocaleString('en')} finished + ${READY.toLocaleString('en')} ready rows (filled in ${((performance.now() - filling) / 1000).toFixed(1)} s)\n`,
  );
  configureTasks({
    backends: { default: { backend: DatabaseBackend, queues: [], options: { database } } },
  });
  const backend = taskBackends.get('default') as DatabaseBackend;
  const middle = await em.execute<{ id: string; enqueued_at: unknown }[]>(
    `select id, enqueued_at from ${T} where id = ?`,
    [String(Math.floor(FINISHED / 2)).padStart(32, '0')],
  );
  const cursorRow = middle[0]!;
  const cursorAt = readDate(cursorRow.enqueued_at)!.getTime();
  const cursor: RowCursor = { enqueuedAt: cursorAt, id: cursorRow.id };
  const after = Buffer.from(JSON.stringify([cursor.enqueuedAt, cursor.id])).toString('base64url');
  const dayAgo = new Date(Date.now() - 86_400_000);
  const cases: [string, ListResultsOptions, Partial<RowFilter>, RowCursor | null][] = [
    ['list, first page (50)', {}, {}, null],
    ['list, a page in the middle (cursor)', { after }, {}, cursor],
    ['status=FAILED', { status: 'FAILED' }, { statuses: ['FAILED'] }, null],
    ['status=READY', { status: 'READY' }, { statuses: ['READY'] }, null],
    [
      'status=FAILED, queue=q2',
      { status: 'FAILED', queue: 'q2' },
      { statuses: ['FAILED'], queues: ['q2'] },
      null,
    ],
    [
      'status=FAILED, queue=q9 (no such queue)',
      { status: 'FAILED', queue: 'q9' },
      { statuses: ['FAILED'], queues: ['q9'] },
      null,
    ],
    ['taskName=bench.task3', { taskName: 'bench.task3' }, { taskNames: ['bench.task3'] }, null],
    ['enqueued in the last day', { enqueuedAfter: dayAgo }, { enqueuedAfter: dayAgo }, null],
    ['workerId=worker-7', { workerId: 'worker-7' }, { workerId: 'worker-7' }, null],
    ['errorText="boom 999"', { errorText: 'boom 999' }, { errorText: 'boom 999' }, null],
    [
      'uniqueKey (one row)',
      { uniqueKey: 'schedule:bench:0000500000' },
      { uniqueKey: 'schedule:bench:0000500000' },
      null,
    ],
    [
      'uniqueKeyPrefix (1 row in 1000 keyed)',
      { uniqueKeyPrefix: 'schedule:bench:' },
      { uniqueKeyPrefix: 'schedule:bench:' },
      null,
    ],
    [
      'errorText, no match (reads every row)',
      { errorText: 'no such text' },
      { errorText: 'no such text' },
      null,
    ],
  ];
  console.log('| query | median ms | max ms | plan |');
  console.log('| --- | ---: | ---: | --- |');
  for (const [name, options, filter, rowCursor] of cases) {
    const t = await time(() => listResults(backend, { limit: 50, ...options }));
    const seen: { sql: string; params: unknown[] }[] = [];
    await selectRows(recording(em, seen), dialect, { ...NO_FILTER, ...filter }, rowCursor, 51);
    const p = await plan(em, dialect, seen[0]!.sql, seen[0]!.params);
    console.log(`| ${name} | ${t.median.toFixed(1)} | ${t.max.toFixed(1)} | ${p} |`);
  }
  {
    const schedule = { name: 'bench', task: 'bench.task0' };
    const t = await time(() => listScheduleResults(backend, schedule, 5));
    const seen: { sql: string; params: unknown[] }[] = [];
    await selectRowsByKeyPrefix(
      recording(em, seen),
      dialect,
      'default',
      schedule.task,
      'schedule:bench:',
      5,
    );
    const p = await plan(em, dialect, seen[0]!.sql, seen[0]!.params);
    console.log(
      `| listScheduleResults (5) | ${t.median.toFixed(1)} | ${t.max.toFixed(1)} | ${p} |`,
    );
  }
  {
    const t = await time(() => countsByQueueAndStatus(backend));
    const seen: { sql: string; params: unknown[] }[] = [];
    await selectCounts(recording(em, seen), dialect, 'default', new Date());
    const p = await plan(em, dialect, seen[0]!.sql, seen[0]!.params);
    console.log(`| countsByQueueAndStatus | ${t.median.toFixed(1)} | ${t.max.toFixed(1)} | ${p} |`);
  }
  for (const [label, minutes, bucketMinutes] of [
    ['last hour, per minute', 60, 1],
    ['last day, per 30 min', 1440, 30],
  ] as const) {
    const t = await time(() => taskThroughput(backend, { minutes, bucketMinutes }));
    console.log(
      `| taskThroughput, ${label} (3 statements) | ${t.median.toFixed(1)} | ${t.max.toFixed(1)} | |`,
    );
    const p = await time(() => taskTimings(backend, { minutes }));
    console.log(
      `| taskTimings, ${label.split(',')[0]} (2 statements) | ${p.median.toFixed(1)} | ${p.max.toFixed(1)} | |`,
    );
    const until = new Date(Math.ceil(Date.now() / 60_000) * 60_000);
    const window: StatsWindow = {
      backendName: 'default',
      since: new Date(until.getTime() - minutes * 60_000),
      until,
      bucketMs: bucketMinutes * 60_000,
    };
    for (const [name, select] of [
      ['enqueued', selectEnqueuedBuckets],
      ['started', selectStartedBuckets],
      ['finished', selectFinishedBuckets],
      ['wait percentiles', selectWaitPercentiles],
      ['run percentiles', selectRunPercentiles],
    ] as const) {
      const seen: { sql: string; params: unknown[] }[] = [];
      await select(recording(em, seen), dialect, window);
      const scans = (await plan(em, dialect, seen[0]!.sql, seen[0]!.params))
        .split(' / ')
        .filter((line) => /scan|search|index/i.test(line))
        .map((line) => line.trim())
        .join(' / ');
      console.log(`| &nbsp; ${label}: ${name} | | | ${scans} |`);
    }
  }
  await taskBackends.close();
  configureTasks();
  await orm.close();
  if (dialectOf(em) !== dialect) throw new Error('unexpected dialect');
}

const name = `djtasks_bench_admin_${process.pid}`;
await admin(`create database ${name}`);
try {
  const url = new URL(ADMIN);
  url.pathname = `/${name}`;
  await benchmark('postgresql', url.href);
} finally {
  await admin(`drop database if exists ${name} with (force)`);
}
const dir = mkdtempSync(join(tmpdir(), 'djtasks-bench-admin-'));
try {
  await benchmark('sqlite', join(dir, 'tasks.sqlite3'));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
