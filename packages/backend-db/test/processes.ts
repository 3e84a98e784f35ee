import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { EntityManager } from '@mikro-orm/sql';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import { configureTasks, taskBackends } from '@djtasks/tasks';
import { DatabaseBackend, TASK_RESULT_TABLE } from '../src/index.ts';
import { createRunsTable, RUNS_TABLE } from './fixtures/side-table.ts';
import { scratchDatabase, type ScratchDatabase, type TestDialect } from './helpers.ts';

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
export function startWorkerProcess(
  url: string,
  args: string[],
  env: Record<string, string> = {},
): WorkerProcess {
  const child = spawn(
    process.execPath,
    [BIN, '--config', CONFIG, '-v', '1', 'worker', '--no-startup-delay', ...args],
    {
      env: { ...process.env, DJTASKS_TEST_DB: url, ...env },
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

/** What {@link useWorkerDatabase} gives a test file: its scratch database and SQL helpers. */
export interface WorkerDatabase {
  /** The database URL (valid inside tests). */
  url(): string;
  /** Run `query` through the test's own backend connection. */
  sql<T = Record<string, unknown>>(query: string, params?: unknown[]): Promise<T[]>;
  /** The first column of the first row of `query`, as a number. */
  count(query: string, params?: unknown[]): Promise<number>;
}

/**
 * Give the calling `describe` a scratch database with the runs side table, a `default`
 * DatabaseBackend on it, empty tables before each test and no worker process left after it.
 */
export function useWorkerDatabase(dialect: TestDialect): WorkerDatabase {
  let db: ScratchDatabase | undefined;
  beforeAll(async () => {
    db = await scratchDatabase(dialect);
    await createRunsTable(db.url);
  });
  afterAll(async () => {
    await db?.drop();
  });
  beforeEach(async () => {
    configureTasks({
      backends: {
        default: { backend: DatabaseBackend, queues: [], options: { database: db!.url } },
      },
    });
    await sql(`delete from ${TASK_RESULT_TABLE}`);
    await sql(`delete from ${RUNS_TABLE}`);
  });
  afterEach(async () => {
    await killWorkerProcesses();
    await taskBackends.close();
    configureTasks();
  });
  async function sql<T = Record<string, unknown>>(
    query: string,
    params: unknown[] = [],
  ): Promise<T[]> {
    const backend = taskBackends.get('default') as DatabaseBackend;
    const em = (await backend.getOrm()).em.fork() as unknown as EntityManager;
    return em.execute<T[]>(query, params);
  }
  return {
    url: () => db!.url,
    sql,
    count: async (query, params = []) =>
      Number(Object.values((await sql(query, params))[0] ?? {})[0] ?? 0),
  };
}
