/**
 * Start the app the way its containers do: `node src/manage.ts migrate`, then
 * `node src/main.ts` (and a task worker process for the database backend).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { environmentWith } from '../../src/settings.ts';
import { pdfText } from './pdf-text.ts';

export const APP_DIR = fileURLToPath(new URL('../..', import.meta.url));
const run = promisify(execFile);

export interface RunningProcess {
  child: ChildProcess;
  /** Everything it printed so far (stdout and stderr). */
  output(): string;
  /** SIGTERM, then wait for the exit. */
  stop(): Promise<void>;
}

function startProcess(args: string[], env: Record<string, string>): RunningProcess {
  const child = spawn(process.execPath, args, {
    cwd: APP_DIR,
    env: environmentWith(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return {
    child,
    output: () => output,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Apply migrations with the given environment. */
export async function migrate(env: Record<string, string>): Promise<string> {
  const { stdout } = await run(process.execPath, ['src/manage.ts', 'migrate'], {
    cwd: APP_DIR,
    env: environmentWith(env),
  });
  return stdout;
}

export interface RunningApp extends RunningProcess {
  url: string;
}

/** Start the web server on a free port; resolve once it listens. */
export async function startApp(env: Record<string, string>): Promise<RunningApp> {
  const app = startProcess(['src/main.ts'], { HOST: '127.0.0.1', PORT: '0', ...env });
  const url = await new Promise<string>((resolve, reject) => {
    const onData = () => {
      const match = /listening on (http:\/\/\S+)/.exec(app.output());
      if (match?.[1]) {
        app.child.stdout?.off('data', onData);
        resolve(match[1]);
      }
    };
    app.child.stdout?.on('data', onData);
    app.child.once('exit', (code) =>
      reject(new Error(`the app exited with ${code} before listening:\n${app.output()}`)),
    );
  });
  return { ...app, url };
}

/** A fresh temporary folder, and its removal. */
export function temporaryFolder(prefix: string): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** The text of a PDF (PDF.js: no poppler needed). */
export async function pdfToText(file: string): Promise<string> {
  return pdfText(file);
}

export { startProcess };

/** Start a task worker process (database backend); resolve once it runs. */
export async function startWorker(
  env: Record<string, string>,
  args: string[] = [],
): Promise<RunningProcess> {
  const worker = startProcess(['src/manage.ts', 'worker', ...args], env);
  await new Promise<void>((resolve, reject) => {
    const onData = () => {
      if (/worker \S+ running tasks/.test(worker.output())) {
        worker.child.stdout?.off('data', onData);
        resolve();
      }
    };
    worker.child.stdout?.on('data', onData);
    worker.child.once('exit', (code) =>
      reject(new Error(`the worker exited with ${code} before running:\n${worker.output()}`)),
    );
  });
  return worker;
}

/** Run `manage.ts worker --batch` to its end; resolve with its output. */
export async function runBatchWorker(env: Record<string, string>): Promise<string> {
  const { stdout } = await run(process.execPath, ['src/manage.ts', 'worker', '--batch'], {
    cwd: APP_DIR,
    env: environmentWith(env),
  });
  return stdout;
}
