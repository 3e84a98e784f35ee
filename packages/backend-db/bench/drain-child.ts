/** A benchmark worker process: opens its system, prints "ready", starts on "go", stops on SIGTERM. */
import { createInterface } from 'node:readline';
import { openSystem } from './systems.ts';

const [name, url, concurrency, variant] = process.argv.slice(2) as [string, string, string, string];
const system = await openSystem(name, url);
console.log('ready');
const lines = createInterface({ input: process.stdin });
let stop: (() => Promise<void>) | undefined;
lines.on('line', (line) => {
  if (line === 'go') void system.startWorker(Number(concurrency), variant).then((s) => (stop = s));
});
process.once('SIGTERM', () => {
  lines.close();
  void (async () => {
    await stop?.();
    await system.close();
    process.exit(0);
  })();
});
