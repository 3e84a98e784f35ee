import type { TestDialect } from './helpers.ts';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { EntityManager } from '@mikro-orm/sql';
import { describe, expect, it } from 'vitest';
import { InvalidTask, taskBackends, TaskResultStatus } from '@djtasks/tasks';
import { DatabaseBackend, enqueueThrough, TASK_RESULT_TABLE } from '../src/index.ts';
import { countRun } from './fixtures/tasks.ts';
import { startWorkerProcess, useWorkerDatabase, waitUntil } from './processes.ts';

const ENQUEUER = fileURLToPath(new URL('./fixtures/enqueue-unique.ts', import.meta.url));

/** Run `processes` enqueuer processes of `each` concurrent enqueues; resolve with every id they got. */
async function enqueueFromProcesses(
  url: string,
  key: string,
  processes: number,
  each: number,
): Promise<string[]> {
  const startAt = String(Date.now() + 3000);
  const runs = Array.from(
    { length: processes },
    () =>
      new Promise<string[]>((resolve, reject) => {
        const child = spawn(process.execPath, [ENQUEUER], {
          env: {
            ...process.env,
            DJTASKS_TEST_DB: url,
            UNIQUE_KEY: key,
            ENQUEUES: String(each),
            START_AT: startAt,
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let out = '';
        let err = '';
        child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
        child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
        child.once('exit', (code) => {
          if (code === 0) resolve(JSON.parse(out) as string[]);
          else reject(new Error(`enqueuer exited with ${code}: ${err}`));
        });
      }),
  );
  return (await Promise.all(runs)).flat();
}

/** Unique keys on the database: one READY or RUNNING task per name and key, decided by the database. */
export function uniqueSuite(dialect: TestDialect): void {
  describe(`unique tasks (${dialect})`, () => {
    const db = useWorkerDatabase(dialect);
    const rows = (key: string) =>
      db.count(`select count(*) from ${TASK_RESULT_TABLE} where unique_key = ?`, [key]);

    it('returns the waiting task for a second enqueue with the same key, a new one for another key or task', async () => {
      const first = await countRun.using({ uniqueKey: 'report-42' }).enqueue();
      const again = await countRun.using({ uniqueKey: 'report-42' }).enqueue();
      const other = await countRun.using({ uniqueKey: 'report-43' }).enqueue();
      const plain = await countRun.enqueue();
      expect(again.id).toBe(first.id);
      expect(again.status).toBe(TaskResultStatus.READY);
      expect(again.task.uniqueKey).toBe('report-42');
      expect(other.id).not.toBe(first.id);
      expect(plain.task.uniqueKey).toBeNull();
      expect(await rows('report-42')).toBe(1);
      expect(await db.count(`select count(*) from ${TASK_RESULT_TABLE}`)).toBe(3);
      const read = await countRun.getResult(first.id);
      expect(read.task.uniqueKey).toBe('report-42');
    });

    it('gives every entry of enqueueMany the one task holding the key', async () => {
      const results = await countRun.using({ uniqueKey: 'many' }).enqueueMany([[], [], []]);
      expect(new Set(results.map((result) => result.id)).size).toBe(1);
      expect(await rows('many')).toBe(1);
    });

    it('frees the key once the task has finished (cancelled, or run by a worker)', async () => {
      const keyed = countRun.using({ uniqueKey: 'free' });
      const first = await keyed.enqueue();
      await first.cancel();
      const second = await keyed.enqueue();
      expect(second.id).not.toBe(first.id);
      const worker = startWorkerProcess(db.url(), ['--interval', '0.2']);
      await waitUntil('the second task ran', async () => {
        await second.refresh();
        return second.isFinished;
      });
      expect(second.status).toBe(TaskResultStatus.SUCCESSFUL);
      const third = await keyed.enqueue();
      expect(new Set([first.id, second.id, third.id]).size).toBe(3);
      worker.child.kill('SIGTERM');
      await worker.exited;
      expect(await rows('free')).toBe(3);
    });

    it('holds the key inside a transaction, and gives it back when the transaction rolls back', async () => {
      const backend = taskBackends.get('default') as DatabaseBackend;
      const orm = await backend.getOrm();
      const em = orm.em.fork() as unknown as EntityManager;
      const keyed = countRun.using({ uniqueKey: 'tx' });
      await expect(
        em.transactional(async (tem) =>
          enqueueThrough(tem, async () => {
            const first = await keyed.enqueue();
            const again = await keyed.enqueue();
            expect(again.id).toBe(first.id);
            throw new Error('roll back');
          }),
        ),
      ).rejects.toThrow('roll back');
      expect(await rows('tx')).toBe(0);
      const after = await keyed.enqueue();
      expect(after.status).toBe(TaskResultStatus.READY);
      expect(await rows('tx')).toBe(1);
    });

    it('djtasks status shows the keys held', async () => {
      const held = await countRun.using({ uniqueKey: 'shown' }).enqueue();
      const output = await new Promise<string>((resolve) => {
        const child = spawn(
          process.execPath,
          [
            fileURLToPath(new URL('../bin/djtasks.js', import.meta.url)),
            '--config',
            fileURLToPath(new URL('./fixtures/djtasks.config.ts', import.meta.url)),
            'status',
          ],
          { env: { ...process.env, DJTASKS_TEST_DB: db.url() }, stdio: ['ignore', 'pipe', 'pipe'] },
        );
        let text = '';
        child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
        child.stderr.on('data', (chunk: Buffer) => (text += chunk.toString()));
        child.once('exit', () => resolve(text));
      });
      expect(output).toContain(`test.countRun\tshown\t${held.id}\tREADY`);
    });

    it('refuses an empty key or one longer than 255 characters, naming it', () => {
      expect(() => countRun.using({ uniqueKey: '' })).toThrow(InvalidTask);
      expect(() => countRun.using({ uniqueKey: 'x'.repeat(256) })).toThrow(
        /uniqueKey must be at most 255 characters \(got 256/,
      );
    });

    it('50 concurrent enqueues with one key from 5 processes create one row, and every caller gets its id; after it ran, the same creates a new one', async () => {
      const ids = await enqueueFromProcesses(db.url(), 'race', 5, 10);
      expect(ids).toHaveLength(50);
      expect(new Set(ids).size).toBe(1);
      expect(await rows('race')).toBe(1);
      const worker = startWorkerProcess(db.url(), ['--interval', '0.2']);
      const first = await countRun.getResult(ids[0]!);
      await waitUntil('the task ran', async () => {
        await first.refresh();
        return first.isFinished;
      });
      worker.child.kill('SIGTERM');
      await worker.exited;
      const next = await enqueueFromProcesses(db.url(), 'race', 5, 10);
      expect(new Set(next).size).toBe(1);
      expect(next[0]).not.toBe(ids[0]);
      expect(await rows('race')).toBe(2);
    }, 120_000);
  });
}
