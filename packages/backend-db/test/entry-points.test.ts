/**
 * Producer and consumer are separate paths: code that only enqueues (through the root entry
 * point, on SQLite) loads neither the worker, nor its heartbeat thread, nor `pg`.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

async function modulesLoaded(script: string, args: string[]): Promise<string[]> {
  const { stdout } = await run(
    process.execPath,
    ['--import', fixture('record-modules.ts'), fixture(script), ...args],
    { cwd: fileURLToPath(new URL('..', import.meta.url)) },
  );
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as string[];
}

const WORKER_CODE =
  /\/backend-db\/src\/(worker|worker-services|claim-schedule|running-attempts|local-queue|heartbeat|heartbeat-thread|listener|maintenance|cli[-\w]*)\.ts$/;
const PG =
  /\/node_modules\/(\.pnpm\/)?(pg|pg-pool|@mikro-orm\+postgresql|@mikro-orm\/postgresql)[@/]/;

describe('entry points', () => {
  it('@djtasks/backend-db/worker loads the worker (the check sees it)', async () => {
    const loaded = await modulesLoaded('import-worker.ts', []);
    expect(loaded.filter((url) => WORKER_CODE.test(url)).length).toBeGreaterThan(0);
    expect(loaded.some((url) => PG.test(url))).toBe(true);
  });

  it('enqueueing through @djtasks/backend-db on SQLite loads no worker code and no pg', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'djtasks-entry-'));
    try {
      const loaded = await modulesLoaded('enqueue-only.ts', [join(dir, 'tasks.sqlite3')]);
      // It did load the backend (the check sees the package's modules).
      expect(loaded.some((url) => url.endsWith('/backend-db/src/backend.ts'))).toBe(true);
      expect(loaded.filter((url) => WORKER_CODE.test(url))).toEqual([]);
      expect(loaded.filter((url) => PG.test(url))).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
