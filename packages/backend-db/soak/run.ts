/**
 * The soak test: 3 `djtasks worker` processes drain 10,000 tasks while a chaos loop SIGKILLs
 * them (and starts replacements), freezes them with SIGSTOP for up to 4 s (past their 2 s
 * lease) and cuts their database connections (PostgreSQL). Every run of a task appends its
 * start and end to a log file. It fails on a lost task, on two attempts of one task running at
 * once where the earlier one's worker was never frozen or killed, or on a row whose final state
 * disagrees with its logged runs.
 *
 *   node soak/run.ts [postgresql|sqlite] [--tasks N] [--minutes M]     (pnpm soak)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { EntityManager } from '@mikro-orm/sql';
import pg from 'pg';
import { configureTasks, taskBackends } from '@djtasks/tasks';
import { DatabaseBackend, TASK_RESULT_TABLE } from '../src/index.ts';
import { scratchDatabase } from '../test/helpers.ts';
import { soakTask } from './tasks.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    tasks: { type: 'string', default: '10000' },
    minutes: { type: 'string', default: '10' },
  },
});
const dialect = positionals[0] === 'sqlite' ? 'sqlite' : 'postgresql';
const total = Number(values.tasks);
const deadline = Date.now() + Number(values.minutes) * 60_000;
const BIN = fileURLToPath(new URL('../bin/djtasks.js', import.meta.url));
const CONFIG = fileURLToPath(new URL('./djtasks.config.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'djtasks-soak-'));
const runLog = join(dir, 'runs.jsonl');
const say = (message: string) => console.log(`[soak ${new Date().toISOString()}] ${message}`);

const db = await scratchDatabase(dialect);
say(`${dialect} database ${db.url}, logs in ${dir}`);
configureTasks({
  backends: { default: { backend: DatabaseBackend, queues: [], options: { database: db.url } } },
});
const backend = taskBackends.get('default') as DatabaseBackend;
const em = (await backend.getOrm()).em.fork() as unknown as EntityManager;
const count = async (where: string) =>
  Number(
    (
      await em.execute<{ n: unknown }[]>(
        `select count(*) as n from ${TASK_RESULT_TABLE} where ${where}`,
      )
    )[0]!.n,
  );

for (let start = 0; start < total; start += 2000) {
  const n = Math.min(2000, total - start);
  await soakTask.enqueueMany(
    Array.from({ length: n }, () => [Math.floor(Math.random() * 40)] as [number]),
  );
}
say(`enqueued ${total} tasks`);

interface Slot {
  child: ChildProcess;
  exited: Promise<number | null>;
}
/** Disruptions of a worker process: frozen or killed from t0 to t1. */
const disruptions: { pid: number; kind: 'STOP' | 'KILL'; t0: number; t1: number }[] = [];
let cuts = 0;
let generation = 0;

function startWorker(i: number): Slot {
  const id = `soak-${i}-${generation++}`;
  const out = openSync(join(dir, `${id}.log`), 'a');
  const child = spawn(
    process.execPath,
    [
      BIN,
      '--config',
      CONFIG,
      '-v',
      '1',
      'worker',
      '--no-startup-delay',
      '--concurrency',
      '10',
      '--lease',
      '2',
      '--interval',
      '0.5',
      '--worker-id',
      id,
    ],
    {
      env: { ...process.env, DJTASKS_TEST_DB: db.url, DJTASKS_SOAK_LOG: runLog },
      stdio: ['ignore', out, out],
    },
  );
  closeSync(out);
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  return { child, exited };
}

const slots = [0, 1, 2].map((i) => startWorker(i));

async function cutConnections(pid: number): Promise<void> {
  const admin = new pg.Client({ connectionString: db.url });
  await admin.connect();
  try {
    // The worker's connections are the ones whose client port belongs to it; simpler: every
    // djtasks connection but this script's, picked at random half of the time.
    const { rowCount } = await admin.query(
      `select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() ` +
        `and pid <> pg_backend_pid() and backend_type = 'client backend' and random() < 0.5`,
    );
    cuts += rowCount ?? 0;
  } finally {
    await admin.end();
  }
  void pid;
}

let chaosOn = true;
const chaos = (async () => {
  while (chaosOn) {
    await sleep(400 + Math.random() * 1000);
    if (!chaosOn) break;
    const i = Math.floor(Math.random() * slots.length);
    const slot = slots[i]!;
    const pid = slot.child.pid!;
    const roll = Math.random();
    if (roll < 0.3) {
      const t0 = Date.now();
      slot.child.kill('SIGKILL');
      await slot.exited;
      disruptions.push({ pid, kind: 'KILL', t0, t1: Number.POSITIVE_INFINITY });
      slots[i] = startWorker(i);
    } else if (roll < 0.6 || dialect === 'sqlite') {
      const t0 = Date.now();
      slot.child.kill('SIGSTOP');
      await sleep(500 + Math.random() * 3500);
      slot.child.kill('SIGCONT');
      disruptions.push({ pid, kind: 'STOP', t0, t1: Date.now() });
    } else {
      await cutConnections(pid).catch(() => {});
    }
  }
})();

let finished = 0;
while (Date.now() < deadline) {
  finished = await count(`status in ('SUCCESSFUL', 'FAILED')`);
  if (finished === total) break;
  await sleep(1000);
}
chaosOn = false;
await chaos;
say(
  `drained ${finished}/${total}; chaos: ${disruptions.filter((d) => d.kind === 'KILL').length} SIGKILL, ` +
    `${disruptions.filter((d) => d.kind === 'STOP').length} SIGSTOP, ${cuts} connections cut`,
);
for (const slot of slots) slot.child.kill('SIGTERM');
const codes = await Promise.all(slots.map((slot) => slot.exited));

const problems: string[] = [];
if (codes.some((code) => code !== 0))
  problems.push(`workers exited with ${codes.join(', ')} after SIGTERM`);
if (finished !== total)
  problems.push(`lost: ${total - finished} task(s) not finished by the deadline`);

interface Entry {
  id: string;
  attempt: number;
  pid: number;
  event: string;
  t: number;
}
const entries = readFileSync(runLog, 'utf8')
  .trim()
  .split('\n')
  .map((line) => JSON.parse(line) as Entry);
/** Runs by task: one per (attempt, pid) with start and end (end undefined: never ended). */
const runs = new Map<
  string,
  { attempt: number; pid: number; start: number; end?: number; event?: string }[]
>();
for (const e of entries) {
  const list = runs.get(e.id) ?? [];
  runs.set(e.id, list);
  if (e.event === 'start') list.push({ attempt: e.attempt, pid: e.pid, start: e.t });
  else {
    const run = list.find((r) => r.attempt === e.attempt && r.pid === e.pid && r.end === undefined);
    if (run) {
      run.end = e.t;
      run.event = e.event;
    }
  }
}
const disrupted = (pid: number, from: number, to: number) =>
  disruptions.some((d) => d.pid === pid && d.t0 <= to && d.t1 >= from);
let overlaps = 0;
for (const [id, list] of runs) {
  const sorted = [...list].sort((a, b) => a.start - b.start);
  for (let a = 0; a < sorted.length; a++) {
    for (let b = a + 1; b < sorted.length; b++) {
      const first = sorted[a]!;
      const second = sorted[b]!;
      if ((first.end ?? Number.POSITIVE_INFINITY) <= second.start) continue;
      // Overlapping runs: allowed only if the earlier one's worker was frozen or killed meanwhile.
      if (!disrupted(first.pid, first.start, second.start)) {
        overlaps++;
        if (overlaps <= 10)
          problems.push(
            `overlap: task ${id} attempt ${first.attempt} (pid ${first.pid}) still ran when attempt ${second.attempt} started, and its worker was never frozen or killed`,
          );
      }
    }
  }
}
if (overlaps > 10) problems.push(`… ${overlaps} overlaps in all`);

const rows = await em.execute<
  {
    id: string;
    status: string;
    attempts: number;
    return_value: string | null;
    errors: string;
    worker_ids: string;
  }[]
>(`select id, status, attempts, return_value, errors, worker_ids from ${TASK_RESULT_TABLE}`);
let disagreements = 0;
for (const row of rows) {
  const list = runs.get(row.id) ?? [];
  const attempts = Number(row.attempts);
  const errors = JSON.parse(row.errors) as unknown[];
  const workerIds = JSON.parse(row.worker_ids) as unknown[];
  const why: string[] = [];
  if (row.status !== 'SUCCESSFUL') why.push(`status ${row.status}`);
  else {
    if (row.return_value !== String(attempts))
      why.push(`return value ${row.return_value} but ${attempts} attempts`);
    if (!list.some((r) => r.attempt === attempts && r.event === 'end'))
      why.push(`no logged end of attempt ${attempts}`);
  }
  if (list.some((r) => r.attempt > attempts)) why.push(`a logged attempt beyond ${attempts}`);
  if (list.length === 0) why.push('never ran');
  if (row.status === 'SUCCESSFUL' && errors.length !== attempts - 1)
    why.push(`${errors.length} errors for ${attempts} attempts`);
  if (row.status === 'SUCCESSFUL' && workerIds.length !== attempts)
    why.push(`${workerIds.length} worker ids for ${attempts} attempts`);
  if (why.length > 0) {
    disagreements++;
    if (disagreements <= 10) problems.push(`row ${row.id}: ${why.join('; ')}`);
  }
}
if (disagreements > 10) problems.push(`… ${disagreements} rows disagree in all`);
const retried = rows.filter((r) => Number(r.attempts) > 1).length;
say(
  `${entries.length} log lines, ${rows.length} rows, ${retried} run more than once (after a kill or a freeze)`,
);

await taskBackends.close();
await db.drop();
if (problems.length > 0) {
  console.error(`[soak] FAILED (logs kept in ${dir}):\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
say('passed: nothing lost, no overlap in live workers, every row agrees with its logged runs');
process.exit(0);
