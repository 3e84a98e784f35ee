/**
 * `pnpm bench`: djtasks' DatabaseBackend against Graphile Worker and pg-boss on the same local
 * PostgreSQL (and djtasks on SQLite), plus the machine's single-row commit limits.
 * Environment: DJTASKS_BENCH_PG_URL (a server where databases can be created), DJTASKS_BENCH_N.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { countSql, openSystem, REMAINING } from './systems.ts';
import { hooks } from './tasks.ts';

const ADMIN =
  process.env['DJTASKS_BENCH_PG_URL'] ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const N = Number(process.env['DJTASKS_BENCH_N'] ?? 20_000);
const ONE_AT_A_TIME = 2000;
const LATENCY_SAMPLES = 200;
const CONCURRENCY = 10;
const DRAIN_CAP_MS = 60_000;
const CHILD = fileURLToPath(new URL('./drain-child.ts', import.meta.url));

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: ADMIN });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

async function freshDatabase(name: string): Promise<string> {
  await admin(`drop database if exists ${name} with (force)`);
  await admin(`create database ${name}`);
  const url = new URL(ADMIN);
  url.pathname = `/${name}`;
  return url.href;
}

async function commits(url: string): Promise<number> {
  return countSql(
    url,
    `select xact_commit as n from pg_stat_database where datname = current_database()`,
  );
}

const rate = (n: number, ms: number) => Math.round((n / ms) * 1000);
const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;

async function drain(
  system: string,
  url: string,
  processes: number,
  variant: string,
): Promise<{ perSecond: number; commitsPerTask: number; n: number; capped: boolean }> {
  const remaining = REMAINING[system]!;
  const n = await countSql(url, remaining);
  const children = Array.from({ length: processes }, () =>
    spawn(process.execPath, [CHILD, system, url, String(CONCURRENCY), variant], {
      stdio: ['pipe', 'pipe', 'inherit'],
    }),
  );
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve) =>
          child.stdout.on('data', (d: Buffer) => d.toString().includes('ready') && resolve()),
        ),
    ),
  );
  // Every system's table gets fresh planner statistics, as autovacuum gives a live table.
  await countSql(url, 'analyze');
  // PostgreSQL publishes other sessions' commit counts about once a second.
  await new Promise((resolve) => setTimeout(resolve, 1100));
  const before = await commits(url);
  const started = performance.now();
  for (const child of children) child.stdin.write('go\n');
  const poll = new pg.Client({ connectionString: url });
  await poll.connect();
  let left = n;
  while (left > 0 && performance.now() - started < DRAIN_CAP_MS) {
    const { rows } = await poll.query<{ n: string }>(remaining);
    left = Number(rows[0]!.n);
    if (left > 0) await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const elapsed = performance.now() - started;
  await poll.end();
  await Promise.all(
    children.map(
      (child) =>
        new Promise((resolve) => {
          child.once('exit', resolve);
          child.kill('SIGTERM');
        }),
    ),
  );
  await new Promise((resolve) => setTimeout(resolve, 1100));
  const after = await commits(url);
  const done = n - left;
  if (left > 0) {
    await countSql(
      url,
      system === 'pgboss'
        ? `with d as (delete from pgboss.job where name = 'bench' and state in ('created', 'retry') returning 1) select count(*) as n from d`
        : 'select 0 as n',
    );
  }
  return {
    perSecond: rate(done, elapsed),
    commitsPerTask: (after - before) / Math.max(1, done),
    n: done,
    capped: left > 0,
  };
}

async function latency(
  system: string,
  url: string,
  variant: string,
): Promise<{ median: number; p95: number }> {
  const bench = await openSystem(system, url);
  const stop = await bench.startWorker(CONCURRENCY, variant);
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const samples: number[] = [];
  for (let i = 0; i < LATENCY_SAMPLES; i++) {
    const startedAt = new Promise<number>(
      (resolve) => (hooks.started = () => resolve(performance.now())),
    );
    const t0 = performance.now();
    await bench.enqueueOne();
    samples.push((await startedAt) - t0);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  hooks.started = undefined;
  await stop();
  await bench.close();
  samples.sort((a, b) => a - b);
  return { median: percentile(samples, 0.5), p95: percentile(samples, 0.95) };
}

async function enqueueRates(system: string, url: string): Promise<{ one: number; bulk: number }> {
  const bench = await openSystem(system, url);
  let t = performance.now();
  for (let i = 0; i < ONE_AT_A_TIME; i++) await bench.enqueueOne();
  const one = rate(ONE_AT_A_TIME, performance.now() - t);
  t = performance.now();
  await bench.enqueueBulk(N);
  const bulk = rate(N, performance.now() - t);
  await bench.close();
  return { one, bulk };
}

const table: string[][] = [];
const row = (...cells: (string | number)[]) => {
  table.push(cells.map(String));
  console.error(cells.join(' | '));
};

async function benchPostgres(system: string, label: string, variants: string[]): Promise<void> {
  const url = await freshDatabase(`djtasks_bench_${system}`);
  const rates = await enqueueRates(system, url);
  row(label, 'enqueue one at a time (tasks/s)', rates.one);
  row(label, 'enqueue in bulk (tasks/s)', rates.bulk);
  for (const variant of variants) {
    const name = `${label}${variant === 'plain' ? '' : ` (${variant})`}`;
    for (const processes of [1, 2]) {
      // The first drain takes what the enqueue measurements left: N + ONE_AT_A_TIME tasks.
      if (processes === 2 || variant !== variants[0]) {
        const bench = await openSystem(system, url);
        await bench.enqueueBulk(N);
        await bench.close();
      }
      const result = await drain(system, url, processes, variant);
      row(
        name,
        `drain ${result.n} with ${processes} process(es) (tasks/s)${result.capped ? ' [stopped at 60 s]' : ''}`,
        result.perSecond,
      );
      row(
        name,
        `commits per task (drain, ${processes} process(es))`,
        result.commitsPerTask.toFixed(2),
      );
    }
    const lat = await latency(system, url, variant);
    row(
      name,
      'enqueue-to-start latency median / p95 (ms)',
      `${lat.median.toFixed(1)} / ${lat.p95.toFixed(1)}`,
    );
  }
  await admin(`drop database if exists djtasks_bench_${system} with (force)`);
}

async function benchSqlite(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'djtasks-bench-'));
  const file = join(dir, 'tasks.sqlite3');
  try {
    const { configureTasks, taskBackends } = await import('@djtasks/tasks');
    const { DatabaseBackend, migrate } = await import('../src/index.ts');
    const { Worker } = await import('../src/worker.ts');
    const { benchNoop } = await import('./tasks.ts');
    configureTasks({
      backends: {
        default: {
          backend: DatabaseBackend,
          queues: [],
          options: { database: file, createDatabase: true },
        },
      },
    });
    const backend = taskBackends.get('default') as InstanceType<typeof DatabaseBackend>;
    await migrate((await backend.getOrm()).em);
    let t = performance.now();
    for (let i = 0; i < ONE_AT_A_TIME; i++) await benchNoop.enqueue();
    row(
      'djtasks SQLite',
      'enqueue one at a time (tasks/s)',
      rate(ONE_AT_A_TIME, performance.now() - t),
    );
    t = performance.now();
    await benchNoop.enqueueMany(Array.from({ length: N }, () => [] as []));
    row('djtasks SQLite', 'enqueue in bulk (tasks/s)', rate(N, performance.now() - t));
    t = performance.now();
    const summary = await new Worker({
      batch: true,
      concurrency: CONCURRENCY,
      startupDelay: false,
    }).run();
    row(
      'djtasks SQLite',
      `drain ${summary.claimed} with 1 worker (in process) (tasks/s)`,
      rate(summary.claimed, performance.now() - t),
    );
    const worker = new Worker({ concurrency: CONCURRENCY, startupDelay: false }).start();
    await new Promise((resolve) => setTimeout(resolve, 500));
    const samples: number[] = [];
    for (let i = 0; i < LATENCY_SAMPLES; i++) {
      const startedAt = new Promise<number>(
        (resolve) => (hooks.started = () => resolve(performance.now())),
      );
      const t0 = performance.now();
      await benchNoop.enqueue();
      samples.push((await startedAt) - t0);
    }
    hooks.started = undefined;
    await worker.stop();
    samples.sort((a, b) => a - b);
    row(
      'djtasks SQLite',
      'enqueue-to-start latency median / p95 (ms)',
      `${percentile(samples, 0.5).toFixed(1)} / ${percentile(samples, 0.95).toFixed(1)}`,
    );
    await taskBackends.close();
    configureTasks();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function physicalLimits(): Promise<void> {
  const url = await freshDatabase('djtasks_bench_pgbench');
  const dir = mkdtempSync(join(tmpdir(), 'djtasks-pgbench-'));
  try {
    const setup = new pg.Client({ connectionString: url });
    await setup.connect();
    await setup.query('create table t (id bigserial primary key, v int)');
    await setup.end();
    const script = join(dir, 'insert.sql');
    (await import('node:fs')).writeFileSync(script, 'insert into t (v) values (1);\n');
    const u = new URL(url);
    for (const clients of [1, 8]) {
      const out = execFileSync(
        'pgbench',
        [
          '-n',
          '-h',
          u.hostname,
          '-p',
          u.port || '5432',
          '-U',
          decodeURIComponent(u.username),
          '-c',
          String(clients),
          '-j',
          String(Math.min(clients, 2)),
          '-T',
          '5',
          '-f',
          script,
          u.pathname.slice(1),
        ],
        { encoding: 'utf8' },
      );
      const tps = /tps = ([\d.]+)/.exec(out)?.[1] ?? '?';
      row(
        'PostgreSQL (pgbench)',
        `single-row commits/s, ${clients} client(s)`,
        Math.round(Number(tps)),
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await admin('drop database if exists djtasks_bench_pgbench with (force)');
  }
  for (const sync of ['NORMAL', 'FULL']) {
    const sdir = mkdtempSync(join(tmpdir(), 'djtasks-sqlite-'));
    const db = new DatabaseSync(join(sdir, 'c.sqlite3'));
    db.exec(
      `pragma journal_mode = wal; pragma synchronous = ${sync}; create table t (id integer primary key, v int)`,
    );
    const insert = db.prepare('insert into t (v) values (1)');
    const count = 20_000;
    const t = performance.now();
    for (let i = 0; i < count; i++) insert.run();
    row(
      'SQLite WAL (node:sqlite)',
      `single-row commits/s, synchronous=${sync}`,
      rate(count, performance.now() - t),
    );
    db.close();
    rmSync(sdir, { recursive: true, force: true });
  }
}

console.error(
  `djtasks bench: N=${N}, concurrency ${CONCURRENCY}, ${cpus().length} x ${cpus()[0]?.model ?? '?'}, Node ${process.version}, ${new Date().toISOString()}`,
);
// DJTASKS_BENCH_ONLY=limits,sqlite,djtasks,graphile,pgboss runs a subset.
const only = new Set(
  (process.env['DJTASKS_BENCH_ONLY'] ?? 'limits,sqlite,djtasks,graphile,pgboss').split(','),
);
if (only.has('limits')) await physicalLimits();
if (only.has('sqlite')) await benchSqlite();
if (only.has('djtasks')) await benchPostgres('djtasks', 'djtasks', ['plain', 'prefetch=200']);
if (only.has('graphile'))
  await benchPostgres('graphile', 'Graphile Worker 0.18.0', ['plain', 'batched']);
if (only.has('pgboss')) await benchPostgres('pgboss', 'pg-boss 12.30.0', ['plain', 'batched']);
console.log('\n| system | measure | value |\n| --- | --- | --- |');
for (const cells of table) console.log(`| ${cells.join(' | ')} |`);
