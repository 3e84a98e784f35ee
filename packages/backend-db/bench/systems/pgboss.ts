/**
 * pg-boss 12, configured as its docs recommend for both latency and throughput:
 * LISTEN/NOTIFY (`useListenNotify` on the instance and `notify: true` on the queue) so an idle
 * worker is woken when a job is created, and `batchSize` with `burstWhenBatchFull` so a worker
 * facing a backlog fetches the next batch at once instead of waiting for its poll interval.
 * Docs: https://pgboss.io/api/workers (work() options, "Low-latency dispatch with
 * LISTEN/NOTIFY"), https://pgboss.io/api/queues (createQueue notify),
 * https://pgboss.io/api/constructor (useListenNotify, max), https://pgboss.io/api/jobs (insert).
 *
 * Why not batchSize 1: with NOTIFY active a worker waits `notifyPollingIntervalSeconds` (30 s)
 * after each fetch unless notified, `burstWhenBatchFull` is ignored at batch size 1, and
 * `burstWhenReadyExceeds` reads a ready count cached up to a minute; a single-job worker facing
 * a backlog therefore drains about 10 jobs per 30 s (pg-boss dist/manager.js resolveInterval).
 */
import { PgBoss } from 'pg-boss';
import type { BenchSystem } from './types.ts';
import { packageVersion } from './version.ts';

const VERSION = packageVersion('pg-boss');
const QUEUE = 'bench';
const BATCH = 50;

async function open(location: string, listen: boolean): Promise<PgBoss> {
  const boss = new PgBoss({ connectionString: location, useListenNotify: listen });
  boss.on('error', (error) => console.error('pg-boss:', error));
  await boss.start();
  return boss;
}

export const pgboss: BenchSystem = {
  id: 'pgboss',
  label: `pg-boss ${VERSION}`,
  family: 'pgboss',
  database: 'postgresql',
  measures: ['enqueue', 'drain', 'latency'],
  configuration: `useListenNotify: true, queue notify: true; work() with localConcurrency 10 (one job at a time per worker, so 10 in flight), batchSize ${BATCH}, burstWhenBatchFull: true; other options default (pool max 10, supervise on); bulk enqueue is one insert() call`,
  docs: [
    'https://pgboss.io/api/workers',
    'https://pgboss.io/api/queues',
    'https://pgboss.io/api/constructor',
    'https://pgboss.io/api/jobs',
  ],
  version: VERSION,
  remainingSql: `select count(*) as n from pgboss.job where name = '${QUEUE}' and state in ('created', 'retry', 'active')`,
  async install(location) {
    const boss = await open(location, false);
    try {
      await boss.createQueue(QUEUE, { notify: true });
    } finally {
      await boss.stop({ graceful: false });
    }
  },
  async producer(location) {
    const boss = await open(location, false);
    return {
      enqueueOne: async (t) => {
        await boss.send(QUEUE, { t });
      },
      enqueueBulk: async (n) => {
        await boss.insert(
          QUEUE,
          Array.from({ length: n }, () => ({ data: { t: 0 } })),
        );
      },
      close: () => boss.stop({ graceful: false }),
    };
  },
  async worker(location, concurrency, onTask) {
    const boss = await open(location, true);
    return {
      async start() {
        await boss.work<{ t: number }>(
          QUEUE,
          { localConcurrency: concurrency, batchSize: BATCH, burstWhenBatchFull: true },
          (jobs) => {
            // The batch's jobs one after another: each of the `concurrency` workers runs one at a time.
            for (const job of jobs) onTask(job.data.t);
            return Promise.resolve();
          },
        );
      },
      async stop() {
        await boss.offWork(QUEUE);
        await boss.stop({ graceful: true });
      },
    };
  },
};
