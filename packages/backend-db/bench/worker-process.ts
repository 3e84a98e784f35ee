/**
 * One system's worker in its own process: `node worker-process.ts <system> <location> <concurrency>`,
 * forked by the harness. It counts the tasks it runs and reports over IPC, so the harness
 * never polls the tables while tasks run; the CPU it reports is this process's own.
 */
import { nowUs, type FromWorker, type ToWorker } from './protocol.ts';
import { systemById } from './systems/index.ts';

const [id, location, concurrency] = process.argv.slice(2) as [string, string, string];
const system = systemById(id);
const send = (message: FromWorker) => process.send!(message);

let expect = Infinity;
let count = 0;
const latenciesUs: number[] = [];
let cpuAtStart: NodeJS.CpuUsage | undefined;

function onTask(t: number): void {
  if (t > 0) latenciesUs.push(nowUs() - t);
  if (++count === expect) send({ type: 'ran', count });
}

// Connect before listening for `start`: the harness times from `start`, so opening connections
// is not counted as draining.
const worker = await system.worker(location, Number(concurrency), onTask);

process.on('message', (message: ToWorker) => {
  void (async () => {
    switch (message.type) {
      case 'start': {
        expect = message.expect;
        cpuAtStart = process.cpuUsage();
        const started = performance.now();
        await worker.start();
        send({ type: 'started', ms: performance.now() - started });
        break;
      }
      case 'stop': {
        const cpu = process.cpuUsage(cpuAtStart);
        send({ type: 'report', cpuUs: cpu.user + cpu.system, count, latenciesUs });
        await worker.stop();
        // Whatever a library leaves open (a timer, a socket) must not keep this process alive.
        process.exit(0);
        break;
      }
    }
  })().catch((error: unknown) => {
    console.error(`worker process (${id}):`, error);
    process.exit(1);
  });
});
send({ type: 'ready' });
