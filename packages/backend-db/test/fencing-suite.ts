import type { TestDialect } from './helpers.ts';
import { createServer, connect, type AddressInfo, type Socket } from 'node:net';
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
export function fencingSuite(dialect: TestDialect): void {
  describe(`fencing by attempt (${dialect})`, () => {
    const db = useWorkerDatabase(dialect);

    /** How a test cuts the worker off from the database, and lets it back. */
    interface Freeze {
      start(worker: WorkerProcess): Promise<void> | void;
      end(worker: WorkerProcess): Promise<void> | void;
      /** The worker's database URL and extra environment. */
      url: () => string;
      env?: Record<string, string>;
    }

    /** Take back expired leases from this process, nudging a SIGSTOPped worker if it holds SQLite's lock. */
    async function recoverWhileFrozen(worker: WorkerProcess, ids: string[]): Promise<void> {
      const backend = taskBackends.get('default') as DatabaseBackend;
      const em = (await backend.getOrm()).em.fork();
      await waitUntil('the frozen attempts are taken back', async () => {
        try {
          await recoverAbandoned(backend, em as never, dialectOf(em as never));
        } catch {
          // SQLite: the worker froze inside a write; let it finish that and freeze it again.
          if (dialect !== 'sqlite') return false;
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

    async function lateOutcomeScenario(freeze: Freeze): Promise<void> {
      const succeedsLate = await outlivesItsLease.enqueue(false);
      const failsLate = await outlivesItsLease.enqueue(true);
      const ids = [succeedsLate.id, failsLate.id];
      const worker = startWorkerProcess(
        freeze.url(),
        ['--concurrency', '4', '--lease', '1', '--interval', '0.2', '--worker-id', 'frozen'],
        freeze.env,
      );
      const events = (event: string, attempt: number) =>
        db.count(`select count(*) from ${RUNS_TABLE} where event = ? and attempt = ?`, [
          event,
          attempt,
        ]);
      await waitUntil('both first attempts run', async () => (await events('start', 1)) === 2);
      await freeze.start(worker);
      await waitUntil(
        'both leases expire',
        async () =>
          (await db.count(
            `select count(*) from ${TASK_RESULT_TABLE} where status = 'RUNNING' and lease_expires_at < ?`,
            [dialect === 'sqlite' ? Date.now() : new Date()],
          )) === 2,
      );
      await recoverWhileFrozen(worker, ids);
      await freeze.end(worker);
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
      // The woken worker learned from its heartbeat that both first attempts lost their rows,
      // fired their signals and said so once each.
      expect(await events('aborted', 1)).toBe(2);
      expect(worker.output().split('lost its lease while it ran').length - 1).toBe(2);
      // Each discarded outcome is logged once.
      expect(worker.output().split('discarded the late outcome').length - 1).toBe(2);
    }

    it('discards the late outcome of an attempt whose worker was frozen (SIGSTOP) past its lease and re-claimed the task', () =>
      lateOutcomeScenario({
        start: (worker) => void worker.child.kill('SIGSTOP'),
        end: (worker) => void worker.child.kill('SIGCONT'),
        url: () => db.url(),
      }));

    it.runIf(dialect === 'postgresql')(
      'discards the late outcome of an attempt whose worker was refused connections for longer than its lease',
      async () => {
        const proxy = await startProxy(new URL(db.url()));
        try {
          await lateOutcomeScenario({
            start: () => proxy.refuse(),
            end: () => proxy.accept(),
            url: () => proxy.url,
            env: { DJTASKS_TEST_SIDE_DB: db.url() },
          });
          expect(proxy.refusals).toBeGreaterThan(0);
        } finally {
          await proxy.close();
        }
      },
    );
  });
}

/** A TCP proxy to the database that can refuse connections (and drop the open ones) for a while. */
async function startProxy(target: URL): Promise<{
  url: string;
  refusals: number;
  refuse(): Promise<void>;
  accept(): Promise<void>;
  close(): Promise<void>;
}> {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(Number(target.port || 5432), target.hostname);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => {});
    }
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  const listen = (port: number) =>
    new Promise<void>((resolve) => server.listen(port, '127.0.0.1', () => resolve()));
  await listen(0);
  const port = (server.address() as AddressInfo).port;
  const url = new URL(target.href);
  url.port = String(port);
  const close = () =>
    new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      if (!server.listening) resolve();
      else server.close(() => resolve());
    });
  const proxy = {
    url: url.href,
    refusals: 0,
    async refuse() {
      proxy.refusals++;
      // Nothing listens on the port now: new connections are refused, open ones are cut.
      await close();
    },
    accept: () => listen(port),
    close,
  };
  return proxy;
}
