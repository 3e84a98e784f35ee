/**
 * The lease heartbeat, run in a worker thread with its own database connection so that it
 * keeps renewing leases while a task blocks the worker's event loop. It renews every lease
 * of the tasks the worker told it it runs (a claim whose reply was lost is not among them, so
 * its lease runs out and another pass takes it back) and reports the worker in the worker
 * table. It never decides anything about tasks.
 */
import { hostname } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ConnectionInfo } from './connection.ts';
import { TASK_RESULT_TABLE as T, WORKER_TABLE as W } from './schema.ts';

/** What the thread is started with. */
export interface HeartbeatData {
  connection: ConnectionInfo;
  workerId: string;
  backendName: string;
  queues: string;
  pid: number;
  leaseMs: number;
  intervalMs: number;
}

interface Beat {
  run(leaseUntil: number, now: number, ids: string[]): Promise<void>;
  close(): Promise<void>;
}

const data = workerData as HeartbeatData;
let stopping = false;
let wake: (() => void) | undefined;
/** The ids of the tasks the worker runs now: only their leases are renewed. */
const held = new Set<string>();
parentPort!.on('message', (message: { type: string; ids?: string[] }) => {
  if (message.type === 'hold') {
    for (const id of message.ids!) held.add(id);
  } else if (message.type === 'release') {
    for (const id of message.ids!) held.delete(id);
  } else if (message.type === 'stop') {
    stopping = true;
    wake?.();
  } else if (message.type === 'beat') {
    wake?.();
  }
});

async function connect(): Promise<Beat> {
  const { connection, workerId, backendName, queues, pid } = data;
  const host = hostname();
  if (connection.dialect === 'sqlite') {
    const { DatabaseSync } = await import('node:sqlite');
    const db = new DatabaseSync(connection.path, { timeout: connection.busyTimeoutMs });
    const renew = db.prepare(
      `update ${T} set lease_expires_at = ? where status = 'RUNNING' and lease_owner = ? ` +
        `and id in (select value from json_each(?))`,
    );
    const seen = db.prepare(
      `insert into ${W} (id, backend_name, hostname, pid, queues, started_at, last_seen_at) values (?, ?, ?, ?, ?, ?, ?) ` +
        `on conflict (id) do update set last_seen_at = excluded.last_seen_at`,
    );
    return {
      run: (leaseUntil, now, ids) => {
        if (ids.length > 0) renew.run(leaseUntil, workerId, JSON.stringify(ids));
        seen.run(workerId, backendName, host, pid, queues, now, now);
        return Promise.resolve();
      },
      close: () => {
        db.close();
        return Promise.resolve();
      },
    };
  }
  const { default: pg } = await import('pg');
  const client = new pg.Client({
    ...connection.pg,
    application_name: `djtasks heartbeat ${workerId}`,
  });
  client.on('error', () => {});
  await client.connect();
  return {
    run: async (leaseUntil, now, ids) => {
      if (ids.length > 0) {
        await client.query(
          `update ${T} set lease_expires_at = $1 where status = 'RUNNING' and lease_owner = $2 and id = any($3)`,
          [new Date(leaseUntil), workerId, ids],
        );
      }
      await client.query(
        `insert into ${W} (id, backend_name, hostname, pid, queues, started_at, last_seen_at) values ($1, $2, $3, $4, $5, $6, $6) ` +
          `on conflict (id) do update set last_seen_at = excluded.last_seen_at`,
        [workerId, backendName, host, pid, queues, new Date(now)],
      );
    },
    close: () => client.end(),
  };
}

async function main(): Promise<void> {
  let beat: Beat | undefined;
  let backoff = 100;
  while (!stopping) {
    try {
      beat ??= await connect();
      const now = Date.now();
      await beat.run(now + data.leaseMs, now, [...held]);
      parentPort!.postMessage({ type: 'renewed', at: now });
      backoff = 100;
      if (stopping) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, data.intervalMs);
        wake = () => {
          clearTimeout(timer);
          wake = undefined;
          resolve();
        };
      });
    } catch (error) {
      parentPort!.postMessage({ type: 'error', message: (error as Error).message });
      await beat?.close().catch(() => {});
      beat = undefined;
      await sleep(backoff);
      backoff = Math.min(backoff * 2, Math.max(1000, data.intervalMs));
    }
  }
  await beat?.close().catch(() => {});
}

await main();
parentPort!.close();
