import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { countRun } from './fixtures/tasks.ts';
import { useWorkerDatabase } from './processes.ts';

const BIN = fileURLToPath(new URL('../bin/djtasks.js', import.meta.url));
const CONFIG = fileURLToPath(new URL('./fixtures/djtasks.config.ts', import.meta.url));

/** Run `djtasks <globalArgs> worker --batch <args>` to the end; resolves with its stderr lines. */
function drain(url: string, globalArgs: string[], args: string[] = []): Promise<string[]> {
  const child = spawn(
    process.execPath,
    [BIN, '--config', CONFIG, ...globalArgs, 'worker', '--batch', '--no-startup-delay', ...args],
    { env: { ...process.env, DJTASKS_TEST_DB: url }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => {
      if (code === 0) resolve(stderr.split('\n').filter((line) => line !== ''));
      else reject(new Error(`worker exited ${code}:\n${stderr}`));
    });
  });
}

describe('djtasks worker logs', () => {
  const db = useWorkerDatabase('sqlite');

  it('writes JSON lines with the fields of each attempt at -v 2', async () => {
    const results = await countRun.enqueueMany([[], []]);
    const lines = await drain(
      db.url(),
      ['-v', '2'],
      ['--log-format', 'json', '--worker-id', 'w-json'],
    );
    const records = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    for (const record of records) {
      expect(record).toMatchObject({ level: expect.any(String), msg: expect.any(String) });
      expect(Date.parse(String(record.time))).not.toBeNaN();
    }
    const attempts = records.filter((record) => record.msg === 'task attempt');
    expect(attempts.map((record) => record.taskId).sort()).toEqual(results.map((r) => r.id).sort());
    for (const record of attempts) {
      expect(record).toMatchObject({
        level: 'DEBUG',
        taskName: 'test.countRun',
        attempt: 1,
        queue: 'default',
        workerId: 'w-json',
        status: 'SUCCESSFUL',
        durationMs: expect.any(Number),
      });
    }
  });

  it('writes no line per task at the default level, in text', async () => {
    await countRun.enqueueMany([[], [], []]);
    const lines = await drain(db.url(), ['-v', '1', '--log-format=text']);
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.every((line) => line.startsWith('[djtasks] '))).toBe(true);
    expect(lines.filter((line) => /task attempt|test\.countRun/.test(line))).toEqual([]);
  });

  it('refuses an unknown log format', async () => {
    await expect(drain(db.url(), ['--log-format', 'xml'])).rejects.toThrow(
      "--log-format must be one of text, json (got 'xml')",
    );
  });
});
