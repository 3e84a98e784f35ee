/**
 * `pnpm bench`: djtasks' DatabaseBackend against Graphile Worker and pg-boss, fairly: every
 * system's worker in its own process, each measure on a fresh database (and again after
 * ANALYZE), rounds interleaved across systems, the machine's load recorded. Prints the tables
 * and the issue-12 goals, and writes a JSON result file (`render-readme.ts` turns it into the
 * README section). `node bench/run.ts --help` lists the options.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { mariadbVersion } from './databases-mariadb.ts';
import { postgresAdminUrl, removeSqliteScratch } from './databases.ts';
import { measureLimits } from './limits.ts';
import { load, runCase, type CaseOptions } from './measure.ts';
import { renderConfiguration, renderMarkdown, type BenchResult } from './report.ts';
import { DATABASES, SYSTEMS, systemById } from './systems/index.ts';

const HELP = `node bench/run.ts [options]
  --systems a,b,...     systems to run (default: all): ${SYSTEMS.map((s) => s.id).join(', ')}
  --rounds N            interleaved rounds (default 3)
  --conditions list     fresh,analyzed (default both)
  --tasks N             tasks per bulk enqueue and drain (default 20000)
  --one N               tasks enqueued one at a time (default 2000)
  --latency-samples N   enqueue-to-start samples (default 200)
  --latency-interval MS time between latency enqueues (default 10)
  --concurrency N       tasks in flight per worker (default 10)
  --drain-cap S         give up on a drain after S seconds (default 120)
  --out FILE            result file (default bench/results/latest.json; with --smoke, one in the temp dir)
  --no-limits           skip the single-row commits/s measure (pgbench; node:sqlite), ~12 s
                        (off with --smoke unless --limits)
  --no-warm-up          skip the unrecorded warm-up pass (one tiny case per system before round 1;
                        off with --smoke unless --warm-up)
  --smoke               tiny sizes for a quick check (500 tasks, 100 one at a time, 20 samples, 1 round)
Environment: DJTASKS_BENCH_PG_URL, a PostgreSQL URL whose user may create databases
(default postgresql://postgres@127.0.0.1:5432/postgres); DJTASKS_BENCH_MARIADB_URL, the same
for MariaDB (default mariadb://root@127.0.0.1:3306/).`;

const { values: args } = parseArgs({
  allowNegative: true,
  options: {
    systems: { type: 'string' },
    rounds: { type: 'string' },
    conditions: { type: 'string' },
    tasks: { type: 'string' },
    one: { type: 'string' },
    'latency-samples': { type: 'string' },
    'latency-interval': { type: 'string' },
    concurrency: { type: 'string' },
    'drain-cap': { type: 'string' },
    out: { type: 'string' },
    smoke: { type: 'boolean', default: false },
    limits: { type: 'boolean' },
    'warm-up': { type: 'boolean' },
    help: { type: 'boolean', default: false },
  },
});
if (args.help) {
  console.log(HELP);
  process.exit(0);
}

function whole(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`--${name} must be a whole number ≥ 1 (got ${value})`);
  return n;
}

const smoke = args.smoke;
const options: CaseOptions & { rounds: number } = {
  tasks: whole('tasks', args.tasks, smoke ? 500 : 20_000),
  oneAtATime: whole('one', args.one, smoke ? 100 : 2000),
  latencySamples: whole('latency-samples', args['latency-samples'], smoke ? 20 : 200),
  latencyIntervalMs: whole('latency-interval', args['latency-interval'], 10),
  concurrency: whole('concurrency', args.concurrency, 10),
  drainCapMs: whole('drain-cap', args['drain-cap'], 120) * 1000,
  rounds: whole('rounds', args.rounds, smoke ? 1 : 3),
};
const systems = args.systems ? args.systems.split(',').map((id) => systemById(id.trim())) : SYSTEMS;
const conditions = (args.conditions ?? 'fresh,analyzed').split(',').map((c) => {
  if (c !== 'fresh' && c !== 'analyzed')
    throw new Error(`--conditions: 'fresh' or 'analyzed' (got ${c})`);
  return c;
});
// A smoke run must not overwrite the result file the README is made from.
const out = resolve(
  args.out ??
    (smoke
      ? join(tmpdir(), 'djtasks-bench-smoke.json')
      : fileURLToPath(new URL('./results/latest.json', import.meta.url))),
);

async function postgresInfo(): Promise<Pick<BenchResult['meta'], 'postgres' | 'postgresSettings'>> {
  const client = new pg.Client({ connectionString: postgresAdminUrl() });
  await client.connect();
  try {
    const version = (await client.query<{ server_version: string }>('show server_version')).rows[0]!
      .server_version;
    const settings: Record<string, string> = {};
    for (const name of ['fsync', 'synchronous_commit', 'shared_buffers', 'max_connections']) {
      settings[name] = (await client.query<Record<string, string>>(`show ${name}`)).rows[0]![name]!;
    }
    return { postgres: `PostgreSQL ${version.split(' ')[0]}`, postgresSettings: settings };
  } finally {
    await client.end();
  }
}

const started = new Date();
const result: BenchResult = {
  meta: {
    startedAt: started.toISOString(),
    finishedAt: started.toISOString(),
    durationSeconds: 0,
    node: process.version,
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    cores: cpus().length,
    memoryGb: Math.round(totalmem() / 2 ** 30),
    ...(systems.some((s) => s.database === 'postgresql') ? await postgresInfo() : {}),
    ...(systems.some((s) => s.database === 'mariadb') ? { mariadb: await mariadbVersion() } : {}),
    options: { ...options, conditions, systems: systems.map((s) => s.id) },
    rounds: [],
  },
  systems: systems.map(
    ({ id, label, family, database, version, configuration, docs, measures }) => ({
      id,
      label,
      family,
      database,
      version,
      configuration,
      docs,
      measures,
    }),
  ),
  cases: [],
};

function save(): void {
  result.meta.finishedAt = new Date().toISOString();
  result.meta.durationSeconds = Math.round((Date.now() - started.getTime()) / 1000);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
}

const brief = (n: number | undefined, digits = 0) => (n === undefined ? '–' : n.toFixed(digits));
console.error(
  `djtasks bench: ${systems.length} systems × ${conditions.length} conditions × ${options.rounds} rounds; ` +
    `${options.tasks} tasks per drain; results to ${out}`,
);
try {
  if ((args.limits ?? !smoke) && systems.some((s) => s.database === 'postgresql')) {
    result.limits = await measureLimits();
    save();
  }
  if (args['warm-up'] ?? !smoke) {
    // One tiny unrecorded case per system first, so that no system's first measure runs in a
    // cold harness (code not yet compiled by V8, modules not loaded): only round 1's first
    // system would pay for it.
    for (const system of systems) {
      const database = DATABASES[system.database];
      if (!database) throw new Error(`${system.id}: no ${system.database} database in the harness`);
      await runCase(system, database, 'fresh', 0, {
        ...options,
        tasks: 200,
        oneAtATime: 200,
        latencySamples: 5,
      });
    }
    console.error(`warm-up done (${systems.length} tiny cases, not recorded)`);
  }
  for (let round = 1; round <= options.rounds; round++) {
    result.meta.rounds.push({ round, startedAt: new Date().toISOString(), load: load() });
    // Rotate the order each round, so no system always runs first (or right after another).
    const k = (round - 1) % systems.length;
    const order = [...systems.slice(k), ...systems.slice(0, k)];
    for (const condition of conditions) {
      for (const system of order) {
        const database = DATABASES[system.database];
        if (!database)
          throw new Error(`${system.id}: no ${system.database} database in the harness`);
        const c = await runCase(system, database, condition, round, options);
        result.cases.push(c);
        save();
        console.error(
          `round ${round} ${condition.padEnd(8)} ${system.id.padEnd(20)} ` +
            `one ${brief(c.enqueueOnePerSecond)}/s bulk ${brief(c.enqueueBulkPerSecond)}/s ` +
            `drain ${brief(c.drain?.perSecond)}/s cpu ${brief(c.drain?.cpuUsPerTask)}µs ` +
            `commits ${brief(c.drain?.commitsPerTask, 3)} latency ${brief(c.latency?.medianMs, 2)}/${brief(c.latency?.p95Ms, 2)}ms ` +
            `load ${c.loadBefore.loadavg1.toFixed(2)}`,
        );
      }
    }
  }
} finally {
  removeSqliteScratch();
  save();
}
console.log(renderMarkdown(result));
console.log(`\nConfigurations:\n\n${renderConfiguration(result)}\n\nResult file: ${out}`);
