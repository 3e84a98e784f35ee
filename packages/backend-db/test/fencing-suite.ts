import { describe, expect, it } from 'vitest';
import { taskBackends, TaskResultStatus } from '@djtasks/tasks';
import { DatabaseBackend, recoverAbandoned, TASK_RESULT_TABLE } from '../src/index.ts';
import { dialectOf } from '../src/dialect.ts';
import { outlivesItsLease } from './fixtures/tasks.ts';
import { RUNS_TABLE } from './fixtures/side-table.ts';
import {
  startWorkerProcess,
  useWorkerDatabase,
  waitUntil,
  type WorkerProcess,
} from './processes.ts';

/** Fencing by attempt: a worker frozen past its lease can never change a newer attempt's row. */
export function fencingSuite(dialect: 'sqlite' | 'postgresql'): void {
  describe(`fencing by attempt (${dialect})`, () => {
    const db = useWorkerDatabase(dialect);

    /** Take back expired leases from this process, nudging the frozen worker if it holds SQLite's lock. */
    async function recoverWhileFrozen(worker: WorkerProcess, ids: string[]): Promise<void> {
      const backend = taskBackends.get('default') as DatabaseBackend;
      const em = (await backend.getOrm()).em.fork();
      await waitUntil('the frozen attempts are taken back', async () => {
        try {
          await recoverAbandoned(backend, em as never, dialectOf(em as never));
        } catch {
          // SQLite: the worker froze inside a write; let it finish that and freeze it again.
          worker.child.kill('SIGCONT');
          await new Promise((resolve) => setTimeout(resolve, 20));
          worker.child.kill('SIGSTOP');
        }
        const ready = await db.count(
          `select count(*) from ${TASK_RESULT_TABLE} where status = 'READY' and id in (?, ?)`,
          ids,
        );
        return ready === ids.length;
      });
    }

    it('discards the late outcome of an attempt whose worker was frozen past its lease and re-claimed the task', async () => {
      const succeedsLate = await outlivesItsLease.enqueue(false);
      const failsLate = await outlivesItsLease.enqueue(true);
      const ids = [succeedsLate.id, failsLate.id];
      const worker = startWorkerProcess(db.url(), [
        '--concurrency',
        '4',
        '--lease',
        '1',
        '--interval',
        '0.2',
        '--worker-id',
        'frozen',
      ]);
      const events = (event: string, attempt: number) =>
        db.count(`select count(*) from ${RUNS_TABLE} where event = ? and attempt = ?`, [
          event,
          attempt,
        ]);
      await waitUntil('both first attempts run', async () => (await events('start', 1)) === 2);
      worker.child.kill('SIGSTOP');
      await waitUntil(
        'both leases expire',
        async () =>
          (await db.count(
            `select count(*) from ${TASK_RESULT_TABLE} where status = 'RUNNING' and lease_expires_at < ?`,
            [dialect === 'sqlite' ? Date.now() : new Date()],
          )) === 2,
      );
      await recoverWhileFrozen(worker, ids);
      worker.child.kill('SIGCONT');
      await waitUntil(
        'both second attempts end',
        async () => (await events('end', 2)) === 2,
        60_000,
      );
      await waitUntil(
        'both tasks are finished',
        async () =>
          (await db.count(
            `select count(*) from ${TASK_RESULT_TABLE} where status in ('SUCCESSFUL', 'FAILED')`,
          )) === 2,
      );
      worker.child.kill('SIGTERM');
      expect(await worker.exited, worker.output()).toEqual({ code: 0, signal: null });
      for (const result of [succeedsLate, failsLate]) {
        await result.refresh();
        expect(result.status, worker.output()).toBe(TaskResultStatus.SUCCESSFUL);
        expect(result.returnValue).toBe(2);
        expect(result.attempts).toBe(2);
        expect(result.errors.map((e) => e.exceptionClassPath)).toEqual(['WorkerLost']);
        expect(result.workerIds).toEqual(['frozen', 'frozen']);
      }
      // No third attempt ran beside the second one.
      expect(await events('start', 3)).toBe(0);
      expect(await db.count(`select count(*) from ${RUNS_TABLE} where event = 'start'`)).toBe(4);
      // The woken worker learned from its heartbeat that both first attempts lost their rows.
      expect(worker.output().split('lost its lease while it ran').length - 1).toBe(2);
      // Each discarded outcome is logged once.
      expect(worker.output().split('discarded the late outcome').length - 1).toBe(2);
    });
  });
}
