/**
 * One system under one condition in one round: enqueue one at a time and in bulk on a fresh
 * database, drain the backlog with the worker in its own process, then measure
 * enqueue-to-start latency against an idle worker in its own process.
 */
import { cpus, loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BenchDatabase } from './databases.ts';
import { nowUs } from './protocol.ts';
import { WorkerProcess } from './worker-handle.ts';
import type { BenchSystem } from './systems/types.ts';

export type Condition = 'fresh' | 'analyzed';

export interface CaseOptions {
  /** Tasks in the bulk enqueue (and so in the drain). */
  tasks: number;
  /** Tasks enqueued one at a time (timed). */
  oneAtATime: number;
  /** Latency samples. */
  latencySamples: number;
  /** Milliseconds between latency enqueues. */
  latencyIntervalMs: number;
  concurrency: number;
  /** Give up on a drain after this long. */
  drainCapMs: number;
}

export interface Load {
  loadavg1: number;
  loadavg5: number;
  cores: number;
}

/** What one case measured; a field is absent when the system skips that measure. */
export interface CaseResult {
  system: string;
  condition: Condition;
  round: number;
  startedAt: string;
  loadBefore: Load;
  loadAfter: Load;
  enqueueOnePerSecond?: number;
  enqueueBulkPerSecond?: number;
  drain?: {
    tasks: number;
    perSecond: number;
    /** Worker process CPU (user + system) per task, µs. */
    cpuUsPerTask: number;
    /** Transactions committed per task (the harness's own statements subtracted); undefined on SQLite. */
    commitsPerTask?: number;
    /** From `start` until the worker had started. */
    workerStartMs: number;
    /** From the last task run until the last outcome was stored. */
    tailMs: number;
    capped: boolean;
  };
  latency?: { samples: number; medianMs: number; p95Ms: number; maxMs: number };
  /** Autovacuum/auto-analyze runs seen on the system's tables (0 unless something went wrong). */
  maintenanceRuns: number;
}

// Unmeasured enqueues first: connections, prepared statements and JIT warm in the harness process.
const WARM_UP = 100;

export const load = (): Load => {
  const [one, five] = loadavg();
  return { loadavg1: one ?? 0, loadavg5: five ?? 0, cores: cpus().length };
};

export const percentile = (sorted: readonly number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(sorted.length * p) - 1))] ?? NaN;

async function startWorker(
  system: BenchSystem,
  location: string,
  options: CaseOptions,
  expect: number,
): Promise<{ worker: WorkerProcess; startedAt: number }> {
  const worker = new WorkerProcess(system, location, options.concurrency);
  if (!(await worker.next('ready', 60_000))) {
    await worker.kill();
    throw new Error(`${system.id}: the worker process did not load`);
  }
  const startedAt = nowUs();
  worker.send({ type: 'start', expect });
  return { worker, startedAt };
}

async function drain(
  system: BenchSystem,
  database: BenchDatabase,
  location: string,
  tasks: number,
  options: CaseOptions,
): Promise<NonNullable<CaseResult['drain']>> {
  // Every session that wrote the backlog has left, so its commits are counted before `before`.
  await database.settle(location);
  const before = await database.commits(location);
  const { worker, startedAt } = await startWorker(system, location, options, tasks);
  const started = await worker.next('started', options.drainCapMs);
  const ran = await worker.next('ran', options.drainCapMs - (nowUs() - startedAt) / 1000);
  const ranAt = nowUs();
  // The worker has run every task; wait (briefly) until the last outcome is stored.
  const counter = await database.remaining(location, system.remainingSql);
  let left = await counter.count();
  while (left > 0 && (nowUs() - startedAt) / 1000 < options.drainCapMs) {
    await sleep(2);
    left = await counter.count();
  }
  const doneAt = nowUs();
  await counter.close();
  const report = await worker.stop();
  await database.settle(location);
  const after = await database.commits(location);
  const done = tasks - left;
  const seconds = (doneAt - startedAt) / 1e6;
  return {
    tasks: done,
    perSecond: done / seconds,
    cpuUsPerTask: report ? report.cpuUs / Math.max(1, done) : NaN,
    commitsPerTask:
      before === undefined || after === undefined
        ? undefined
        : (after - before - counter.statements) / Math.max(1, done),
    workerStartMs: started?.ms ?? NaN,
    tailMs: ran ? (doneAt - ranAt) / 1000 : NaN,
    capped: left > 0,
  };
}

async function latency(
  system: BenchSystem,
  location: string,
  options: CaseOptions,
): Promise<NonNullable<CaseResult['latency']>> {
  const warmUp = 10;
  const { worker } = await startWorker(system, location, options, warmUp + options.latencySamples);
  if (!(await worker.next('started', 60_000))) {
    await worker.kill();
    throw new Error(`${system.id}: the worker did not start`);
  }
  // Let the worker reach its idle state (LISTEN set up, first empty poll done).
  await sleep(1000);
  const producer = await system.producer(location);
  try {
    let next = performance.now();
    for (let i = 0; i < warmUp + options.latencySamples; i++) {
      await producer.enqueueOne(i < warmUp ? 0 : nowUs());
      next += options.latencyIntervalMs;
      await sleep(Math.max(0, next - performance.now()));
    }
    await worker.next('ran', 30_000);
  } finally {
    await producer.close();
  }
  const report = await worker.stop();
  const sorted = (report?.latenciesUs ?? []).map((us) => us / 1000).sort((a, b) => a - b);
  return {
    samples: sorted.length,
    medianMs: percentile(sorted, 0.5),
    p95Ms: percentile(sorted, 0.95),
    maxMs: sorted.at(-1) ?? NaN,
  };
}

/** Run every measure `system` takes part in, on a database made fresh for it. */
export async function runCase(
  system: BenchSystem,
  database: BenchDatabase,
  condition: Condition,
  round: number,
  options: CaseOptions,
): Promise<CaseResult> {
  const result: CaseResult = {
    system: system.id,
    condition,
    round,
    startedAt: new Date().toISOString(),
    loadBefore: load(),
    loadAfter: load(),
    maintenanceRuns: 0,
  };
  const location = await database.fresh(system.id);
  try {
    await system.install(location);
    await database.keepAutovacuumOff(location);
    const measures = new Set(system.measures);
    let tasks = 0;
    if (measures.has('enqueue') || measures.has('drain')) {
      const producer = await system.producer(location);
      try {
        for (let i = 0; i < WARM_UP; i++) await producer.enqueueOne(0);
        tasks += WARM_UP;
        if (measures.has('enqueue')) {
          let t = performance.now();
          for (let i = 0; i < options.oneAtATime; i++) await producer.enqueueOne(0);
          result.enqueueOnePerSecond = options.oneAtATime / ((performance.now() - t) / 1000);
          tasks += options.oneAtATime;
          t = performance.now();
          await producer.enqueueBulk(options.tasks);
          result.enqueueBulkPerSecond = options.tasks / ((performance.now() - t) / 1000);
        } else {
          await producer.enqueueBulk(options.tasks);
        }
        tasks += options.tasks;
      } finally {
        await producer.close();
      }
    }
    if (measures.has('drain')) {
      if (condition === 'analyzed') await database.analyze(location);
      result.drain = await drain(system, database, location, tasks, options);
    }
    if (measures.has('latency')) {
      // On the table the drain left behind (finished rows, as after a burst); analyzed again
      // in the analyzed condition so the statistics describe it.
      if (condition === 'analyzed') await database.analyze(location);
      result.latency = await latency(system, location, options);
    }
    result.maintenanceRuns = await database.maintenanceRuns(location);
  } finally {
    await database.drop(location);
  }
  result.loadAfter = load();
  return result;
}
