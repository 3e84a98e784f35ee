/**
 * `node bench/cpu.ts`: the CPU time one trivial task costs on ThreadPoolBackend, in
 * microseconds: the whole process (main thread and both worker threads) and the main thread
 * alone (`process.threadCpuUsage`), where the pool's bookkeeping runs. CPU time moves far less
 * than throughput when other work shares the machine; compare the minimum of several rounds.
 * For an instruction count, run it under `valgrind --tool=callgrind` at two sizes and divide
 * the difference by the difference of the sizes.
 *
 * BENCH_TASKS (default 20000) and BENCH_ROUNDS (default 5) change the size.
 */
import { configureTasks, taskBackends, taskFinished } from '@djtasks/tasks';
import { ThreadPoolBackend } from '@djtasks/backend-local';
import { add } from './tasks.ts';

const TASKS = Number(process.env.BENCH_TASKS ?? 20_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);

// The default maxResults (1000): the heap stays the same size whatever TASKS is, so a run's
// garbage collection per task does not depend on it (keeping every result would add major
// collections that land in one run and not another).
configureTasks({
  backends: { default: { backend: ThreadPoolBackend, options: { maxWorkers: 2 } } },
  taskModules: [new URL('./tasks.ts', import.meta.url)],
});

function finishedCount(count: number): Promise<void> {
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

async function run(count: number): Promise<void> {
  const done = finishedCount(count);
  const pending = [];
  for (let i = 0; i < count; i++) pending.push(add.enqueue(i, 1));
  await Promise.all(pending);
  await done;
}

await run(2_000); // warm-up: threads started, code optimised
await run(2_000);
const rounds: { total: number; main: number; rate: number }[] = [];
for (let round = 0; round < ROUNDS; round++) {
  const cpu = process.cpuUsage();
  const main = process.threadCpuUsage();
  const start = performance.now();
  await run(TASKS);
  const wall = performance.now() - start;
  const { user, system } = process.cpuUsage(cpu);
  const mainUsed = process.threadCpuUsage(main);
  rounds.push({
    total: (user + system) / TASKS,
    main: (mainUsed.user + mainUsed.system) / TASKS,
    rate: TASKS / (wall / 1000),
  });
}
await taskBackends.close();

const min = (key: 'total' | 'main') => Math.min(...rounds.map((r) => r[key])).toFixed(2);
const median = (key: 'total' | 'main' | 'rate') =>
  rounds.map((r) => r[key]).sort((a, b) => a - b)[Math.floor(rounds.length / 2)]!;
console.log(
  `${TASKS.toLocaleString('en-US')} trivial tasks × ${ROUNDS} rounds, 2 threads: CPU per task ` +
    `${min('total')} µs in all, ${min('main')} µs on the main thread (minimum of the rounds; ` +
    `medians ${median('total').toFixed(2)} and ${median('main').toFixed(2)}); ` +
    `median ${Math.round(median('rate')).toLocaleString('en-US')} tasks/s`,
);
