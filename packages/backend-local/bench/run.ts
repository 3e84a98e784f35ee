/**
 * `pnpm bench`: ThreadPoolBackend against Piscina, tinypool and a raw postMessage echo, with
 * the same number of threads and a trivial task; then enqueue-to-start latency on an idle
 * pool, and the main thread's event-loop delay while CPU-bound tasks run.
 *
 * BENCH_THREADS (default 2) and BENCH_TASKS (default 20000) change the size.
 */
import { availableParallelism, cpus } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { Tinypool } from 'tinypool';
import { configureTasks, taskBackends, taskFinished, type TaskSignalPayload } from '@djtasks/tasks';
import { ThreadPoolBackend } from '@djtasks/backend-local';
import { add, spin, stamp } from './tasks.ts';

const THREADS = Number(process.env.BENCH_THREADS ?? 2);
const TASKS = Number(process.env.BENCH_TASKS ?? 20_000);
const ROUNDS = 3;
const LATENCY_SAMPLES = 300;
const POOL_TASK = new URL('./workers/pool-task.js', import.meta.url).href;
const ECHO = new URL('./workers/echo.js', import.meta.url);

const now = (): number => performance.timeOrigin + performance.now();
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Best of `ROUNDS` runs of `count` tasks, in tasks per second. */
async function rate(run: (count: number) => Promise<void>): Promise<number> {
  await run(Math.min(2_000, TASKS)); // warm-up
  let best = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const start = performance.now();
    await run(TASKS);
    best = Math.max(best, TASKS / ((performance.now() - start) / 1000));
  }
  return best;
}

function finishedCount(count: number): Promise<void> {
  let seen = 0;
  return new Promise((resolve) => {
    const receiver = (_payload: TaskSignalPayload): void => {
      if (++seen === count) {
        taskFinished.disconnect(receiver);
        resolve();
      }
    };
    taskFinished.connect(receiver);
  });
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

async function latency(start: () => Promise<number>): Promise<{ median: number; p99: number }> {
  for (let i = 0; i < 20; i++) await start(); // warm-up
  const samples: number[] = [];
  for (let i = 0; i < LATENCY_SAMPLES; i++) {
    await pause(2); // let the pool go idle
    const before = now();
    const startedAt = await start();
    samples.push(startedAt - before);
  }
  samples.sort((a, b) => a - b);
  return { median: percentile(samples, 50), p99: percentile(samples, 99) };
}

function configureOurs(): void {
  configureTasks({
    backends: {
      default: {
        backend: ThreadPoolBackend,
        options: { maxWorkers: THREADS, maxResults: TASKS },
      },
    },
    taskModules: [new URL('./tasks.ts', import.meta.url)],
  });
}

async function echoRate(inFlight: number): Promise<number> {
  const workers = Array.from({ length: THREADS }, () => new Worker(ECHO));
  try {
    const run = async (count: number) => {
      const perWorker = Math.ceil(count / THREADS);
      await Promise.all(
        workers.map(
          (worker) =>
            new Promise<void>((resolve) => {
              let sent = 0;
              let received = 0;
              const onMessage = () => {
                received++;
                if (received === perWorker) {
                  worker.off('message', onMessage);
                  resolve();
                } else if (sent < perWorker) {
                  worker.postMessage({ a: sent++, b: 1 });
                }
              };
              worker.on('message', onMessage);
              while (sent < Math.min(inFlight, perWorker)) worker.postMessage({ a: sent++, b: 1 });
            }),
        ),
      );
    };
    return await rate(run);
  } finally {
    await Promise.all(workers.map((worker) => worker.terminate()));
  }
}

async function main(): Promise<void> {
  const rows: [string, number][] = [];
  const table = (label: string, value: number) => {
    rows.push([label, value]);
    console.error(`${label}: ${Math.round(value).toLocaleString('en-US')} tasks/s`);
  };

  // ThreadPoolBackend: enqueue through the public API, wait for every taskFinished.
  configureOurs();
  table(
    'ThreadPoolBackend, task.enqueue() each',
    await rate(async (count) => {
      const done = finishedCount(count);
      const pending = [];
      for (let i = 0; i < count; i++) pending.push(add.enqueue(i, 1));
      await Promise.all(pending);
      await done;
    }),
  );
  table(
    'ThreadPoolBackend, task.enqueueMany()',
    await rate(async (count) => {
      const done = finishedCount(count);
      await add.enqueueMany(Array.from({ length: count }, (_, i) => [i, 1]));
      await done;
    }),
  );
  const ourLatency = await latency(async () => {
    const done = finishedCount(1);
    const result = await stamp.enqueue();
    await done;
    await result.refresh();
    return result.returnValue;
  });

  // CPU-bound tasks in the threads: the main thread's event-loop delay.
  const idle = monitorEventLoopDelay({ resolution: 5 });
  idle.enable();
  await pause(1_000);
  idle.disable();
  const busy = monitorEventLoopDelay({ resolution: 5 });
  busy.enable();
  await pause(20);
  const spinMs = 250;
  const spinCount = THREADS * 4;
  const spinsDone = finishedCount(spinCount);
  await spin.enqueueMany(Array.from({ length: spinCount }, () => [spinMs]));
  await spinsDone;
  busy.disable();
  await taskBackends.close();
  configureTasks();

  const piscina = new Piscina({ filename: POOL_TASK, minThreads: THREADS, maxThreads: THREADS });
  table(
    `Piscina ${Piscina.version}, pool.run()`,
    await rate(async (count) => {
      const pending = [];
      for (let i = 0; i < count; i++) pending.push(piscina.run({ a: i, b: 1 }));
      await Promise.all(pending);
    }),
  );
  const piscinaLatency = await latency(
    () => piscina.run(null, { name: 'stamp' }) as Promise<number>,
  );
  await piscina.destroy();

  const tinypool = new Tinypool({ filename: POOL_TASK, minThreads: THREADS, maxThreads: THREADS });
  table(
    'tinypool, pool.run()',
    await rate(async (count) => {
      const pending = [];
      for (let i = 0; i < count; i++) pending.push(tinypool.run({ a: i, b: 1 }));
      await Promise.all(pending);
    }),
  );
  const tinypoolLatency = await latency(
    () => tinypool.run(null, { name: 'stamp' }) as Promise<number>,
  );
  await tinypool.destroy();

  table('raw postMessage echo, 1 in flight per thread', await echoRate(1));
  table('raw postMessage echo, 32 in flight per thread', await echoRate(32));

  const ours = rows[0]![1];
  const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  console.log(
    `\n${availableParallelism()} cores (${cpu}), Node ${process.version}, ${THREADS} threads, ` +
      `${TASKS.toLocaleString('en-US')} trivial tasks per run, best of ${ROUNDS}\n`,
  );
  console.log('| pool | tasks/s | ThreadPoolBackend (enqueue) ÷ this |');
  console.log('| --- | ---: | ---: |');
  for (const [label, value] of rows) {
    console.log(`| ${label} | ${fmt(value)} | ${(ours / value).toFixed(2)} |`);
  }
  const ms = (n: number) => n.toFixed(3);
  console.log('\nEnqueue-to-start latency on an idle pool (ms, sent → task body starts)\n');
  console.log('| pool | median | p99 |');
  console.log('| --- | ---: | ---: |');
  console.log(`| ThreadPoolBackend | ${ms(ourLatency.median)} | ${ms(ourLatency.p99)} |`);
  console.log(`| Piscina | ${ms(piscinaLatency.median)} | ${ms(piscinaLatency.p99)} |`);
  console.log(`| tinypool | ${ms(tinypoolLatency.median)} | ${ms(tinypoolLatency.p99)} |`);
  const delay = (h: typeof idle) =>
    `${(h.percentile(50) / 1e6).toFixed(1)} | ${(h.percentile(99) / 1e6).toFixed(1)} | ${(h.max / 1e6).toFixed(1)}`;
  console.log(
    `\nMain-thread event-loop delay (ms; monitorEventLoopDelay, 5 ms resolution)\n\n` +
      `| while | p50 | p99 | max |\n| --- | ---: | ---: | ---: |\n` +
      `| idle, 1 s | ${delay(idle)} |\n` +
      `| ${spinCount} tasks of ${spinMs} ms CPU each run on ${THREADS} threads | ${delay(busy)} |`,
  );
}

await main();
