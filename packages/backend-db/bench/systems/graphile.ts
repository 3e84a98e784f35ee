/**
 * Graphile Worker, unbatched (its default) and with its batching options as its performance
 * page runs them. Docs: https://worker.graphile.org/docs/performance (Batching, localQueue,
 * completeJobBatchDelay) and https://worker.graphile.org/docs/config (maxPoolSize).
 */
import { Logger, makeWorkerUtils, run, type Runner } from 'graphile-worker';
import pg from 'pg';
import type { BenchSystem } from './types.ts';
import { packageVersion } from './version.ts';

const VERSION = packageVersion('graphile-worker');
const silent = new Logger(() => () => {});

function graphileSystem(batched: boolean): BenchSystem {
  return {
    id: batched ? 'graphile-batched' : 'graphile',
    label: `Graphile Worker ${VERSION}${batched ? ', batched' : ''}`,
    family: 'graphile',
    database: 'postgresql',
    measures: ['enqueue', 'drain', 'latency'],
    configuration: batched
      ? 'concurrentJobs 10, maxPoolSize 12, localQueue { size: 500 }, completeJobBatchDelay 0, failJobBatchDelay 0 (the performance page configuration), LISTEN/NOTIFY on (built in)'
      : 'concurrentJobs 10, maxPoolSize 12 (10 or concurrency + 2, whichever is larger), no local queue, no batch delays (the defaults), LISTEN/NOTIFY on (built in)',
    docs: batched
      ? [
          'https://worker.graphile.org/docs/performance',
          'https://worker.graphile.org/docs/config#workerlocalqueue',
        ]
      : ['https://worker.graphile.org/docs/config', 'https://worker.graphile.org/docs/performance'],
    version: VERSION,
    remainingSql: 'select count(*) as n from graphile_worker.jobs',
    async install(location) {
      const utils = await makeWorkerUtils({ connectionString: location, logger: silent });
      try {
        await utils.migrate();
      } finally {
        await utils.release();
      }
    },
    async producer(location) {
      const utils = await makeWorkerUtils({ connectionString: location, logger: silent });
      return {
        enqueueOne: async (t) => {
          await utils.addJob('bench', { t });
        },
        enqueueBulk: async (n) => {
          // One add_jobs() call, as its perfTest schedules jobs.
          await utils.addJobs(
            Array.from({ length: n }, () => ({ identifier: 'bench', payload: { t: 0 } })),
          );
        },
        close: async () => {
          await utils.release();
        },
      };
    },
    async worker(location, concurrency, onTask) {
      // Graphile Worker takes a pool of the user's (`pgPool`), so it can be connected first.
      const pgPool = new pg.Pool({
        connectionString: location,
        max: Math.max(10, concurrency + 2),
      });
      // The error handlers Graphile Worker asks a pool of the user's to have (it warns otherwise).
      pgPool.on('error', (error) => console.error('graphile-worker idle client:', error));
      pgPool.on('connect', (client) => {
        client.on('error', (error) => console.error('graphile-worker client:', error));
      });
      (await pgPool.connect()).release();
      let runner: Runner | undefined;
      return {
        async start() {
          runner = await run({
            pgPool,
            logger: silent,
            noHandleSignals: true,
            taskList: {
              bench: (payload) => {
                onTask((payload as { t: number }).t);
              },
            },
            preset: {
              worker: {
                concurrentJobs: concurrency,
                maxPoolSize: Math.max(10, concurrency + 2),
                ...(batched
                  ? { localQueue: { size: 500 }, completeJobBatchDelay: 0, failJobBatchDelay: 0 }
                  : {}),
              },
            },
          });
        },
        async stop() {
          await runner?.stop();
          await pgPool.end();
        },
      };
    },
  };
}

export const graphile = graphileSystem(false);
export const graphileBatched = graphileSystem(true);
