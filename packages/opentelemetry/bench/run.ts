/**
 * `pnpm bench`: the cost of @djtasks/opentelemetry per task, on the thread pool and on a
 * PostgreSQL drain, with the OpenTelemetry SDK set up as an app would (batched span export to
 * an exporter that discards, a metric reader), against the same run without instrumentTasks().
 * Each variant runs ROUNDS times, alternating, and the best round counts.
 *
 * BENCH_TASKS (default 5000) changes the size.
 */
import { availableParallelism, cpus, loadavg } from 'node:os';
import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { configureTasks, taskBackends, taskFinished } from '@djtasks/tasks';
import { ThreadPoolBackend } from '@djtasks/backend-local';
import { DatabaseBackend } from '@djtasks/backend-db';
import { Worker } from '@djtasks/backend-db/worker';
import { instrumentTasks } from '../src/index.ts';
import { meterProviderWithReader } from '../test/support/metrics.ts';
import { scratchPostgres } from '../test/support/postgres.ts';
import { benchNoop } from './tasks.ts';

const TASKS = Number(process.env['BENCH_TASKS'] ?? 5000);
const ROUNDS = 3;
const TASK_MODULE = new URL('./tasks.ts', import.meta.url).href;

let exported = 0;
const tracerProvider = new TracerProvider({
  spanProcessors: [
    new BatchSpanProcessor({
      exporter: {
        export(spans, done) {
          exported += spans.length;
          done({ code: 0 });
        },
        shutdown: () => Promise.resolve(),
      },
    }),
  ],
});
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
propagation.setGlobalPropagator(new W3CTraceContextPropagator());
trace.setGlobalTracerProvider(tracerProvider);
const { provider: meterProvider, reader } = meterProviderWithReader();

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

function finished(count: number): Promise<void> {
  let seen = 0;
  return new Promise((resolve) => {
    const receiver = (): void => {
      if (++seen === count) {
        taskFinished.disconnect(receiver);
        resolve();
      }
    };
    taskFinished.connect(receiver);
  });
}

/** Enqueue TASKS tasks one by one, then wait for them to run; ms for each phase. */
async function threadPoolRound(): Promise<{ enqueue: number; total: number }> {
  const done = finished(TASKS);
  const start = performance.now();
  await Promise.all(Array.from({ length: TASKS }, () => benchNoop.enqueue()));
  const enqueue = performance.now() - start;
  await done;
  return { enqueue, total: performance.now() - start };
}

async function databaseRound(): Promise<{ enqueue: number; total: number }> {
  const start = performance.now();
  for (let i = 0; i < TASKS; i += 100) {
    await Promise.all(Array.from({ length: Math.min(100, TASKS - i) }, () => benchNoop.enqueue()));
  }
  const enqueue = performance.now() - start;
  const drainStart = performance.now();
  await new Worker({ batch: true, concurrency: 10, startupDelay: false }).run();
  return { enqueue, total: enqueue + (performance.now() - drainStart) };
}

async function compare(name: string, round: () => Promise<{ enqueue: number; total: number }>) {
  await round(); // warm-up
  const best = {
    off: { enqueue: Infinity, total: Infinity },
    on: { enqueue: Infinity, total: Infinity },
  };
  for (let i = 0; i < ROUNDS; i++) {
    for (const variant of ['off', 'on'] as const) {
      const undo = variant === 'on' ? instrumentTasks({ meterProvider }) : () => {};
      const result = await round();
      undo();
      best[variant].enqueue = Math.min(best[variant].enqueue, result.enqueue);
      best[variant].total = Math.min(best[variant].total, result.total);
    }
  }
  const us = (ms: number) => ((ms * 1000) / TASKS).toFixed(1);
  console.log(`\n${name}, ${TASKS} tasks, best of ${ROUNDS}:`);
  console.log(`  without: ${us(best.off.total)} µs/task (enqueue ${us(best.off.enqueue)})`);
  console.log(`  with:    ${us(best.on.total)} µs/task (enqueue ${us(best.on.enqueue)})`);
  console.log(
    `  overhead: ${us(best.on.total - best.off.total)} µs/task (enqueue ${us(best.on.enqueue - best.off.enqueue)})`,
  );
}

console.log(
  `Node ${process.version}, ${availableParallelism()} CPUs (${cpus()[0]?.model ?? '?'}), load ${loadavg()
    .map((n) => n.toFixed(1))
    .join(' ')}`,
);

configureTasks({
  backends: { default: { backend: ThreadPoolBackend, options: { maxWorkers: 2 } } },
  taskModules: [TASK_MODULE],
  logger: quiet,
});
await compare('Thread pool (2 threads)', threadPoolRound);
await taskBackends.close();

// The same with every thread set up with instrumentTaskThread(): a thread then waits for each
// attempt's context from the main thread. Its "without" (main thread not instrumented) shows
// that wait alone, against the "without" above.
configureTasks({
  backends: {
    default: {
      backend: ThreadPoolBackend,
      options: { maxWorkers: 2, threadSetup: new URL('./thread-setup.ts', import.meta.url) },
    },
  },
  taskModules: [TASK_MODULE],
  logger: quiet,
});
await compare(
  'Thread pool (2 threads), threads set up with instrumentTaskThread()',
  threadPoolRound,
);
await taskBackends.close();

const database = await scratchPostgres();
try {
  configureTasks({
    backends: { default: { backend: DatabaseBackend, options: { database: database.url } } },
    taskModules: [TASK_MODULE],
    logger: quiet,
  });
  await compare(
    'PostgreSQL: enqueue one by one (100 at a time), then drain with 1 worker',
    databaseRound,
  );
  await taskBackends.close();
} finally {
  await database.drop();
}
await tracerProvider.forceFlush();
await reader.collect();
console.log(`\n(${exported} spans exported)`);
await tracerProvider.shutdown();
await meterProvider.shutdown();
