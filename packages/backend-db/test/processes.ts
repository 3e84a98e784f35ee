import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../bin/djtasks.js', import.meta.url));
const CONFIG = fileURLToPath(new URL('./fixtures/djtasks.config.ts', import.meta.url));

/** A `djtasks worker` process started by a test. */
export interface WorkerProcess {
  child: ChildProcess;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const started = new Set<ChildProcess>();

/** Start `djtasks worker` with `args` against the database at `url`. */
export function startWorkerProcess(url: string, args: string[]): WorkerProcess {
  const child = spawn(
    process.execPath,
    [BIN, '--config', CONFIG, '-v', '1', 'worker', '--no-startup-delay', ...args],
    {
      env: { ...process.env, DJTASKS_TEST_DB: url },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  started.add(child);
  let text = '';
  child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      started.delete(child);
      resolve({ code, signal });
    });
  });
  return { child, output: () => text, exited };
}

/** Kill every worker process a test started that is still alive, and wait for them to exit. */
export async function killWorkerProcesses(): Promise<void> {
  const alive = [...started];
  for (const child of alive) child.kill('SIGKILL');
  await Promise.all(
    alive.map(
      (child) =>
        new Promise((resolve) =>
          child.exitCode !== null || child.signalCode !== null
            ? resolve(null)
            : child.once('exit', resolve),
        ),
    ),
  );
}

/** Poll `check` until it returns true; throw naming `what` after `timeoutMs`. */
export async function waitUntil(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline)
      throw new Error(`Timed out after ${timeoutMs} ms waiting until ${what}`);
    await sleep(50);
  }
}
