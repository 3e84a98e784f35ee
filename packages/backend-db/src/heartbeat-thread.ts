/**
 * The lease heartbeat, run in a worker thread with its own database connection so that it
 * keeps renewing leases while a task blocks the worker's event loop. It renews the lease of
 * every attempt the worker told it it runs, by claim token (a claim whose reply was lost is
 * not among them, so its lease runs out and another pass takes it back), tells the worker
 * which of those attempts no longer hold their row (taken back after a freeze), and reports
 * the worker in the worker table. It never decides anything about tasks.
 */
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ConnectionInfo, MySqlConnectionConfig } from './connection.ts';
import { MYSQL_SESSION } from './mysql-session.ts';
import {
  LOCK_HELD,
  RENEW_HELD,
  RENEW_LEASES,
  SELECT_CANCELLED,
  WORKER_SEEN,
} from './sql/heartbeat.ts';
import { sqlOf } from './sql/statement.ts';

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
  /** Renew the leases of `held` attempts; resolves with the tokens renewed. */
  run(leaseUntil: number, now: number, held: Held[]): Promise<Set<string>>;
  /** The tokens of `held` attempts whose cancellation was asked for. */
  cancelled(held: Held[]): Promise<Set<string>>;
  close(): Promise<void>;
}

/** An attempt the worker runs: its row id and claim token. */
export interface Held {
  id: string;
  token: string;
}

const data = workerData as HeartbeatData;
let stopping = false;
let wake: (() => void) | undefined;
/** The attempts the worker runs now, by claim token: only their leases are renewed. */
const held = new Map<string, Held>();
/** When the worker last reported progress (epoch ms). */
let lastProgress: number | undefined;
parentPort!.on(
  'message',
  (message: { type: string; held?: Held[]; tokens?: string[]; at?: number }) => {
    if (message.type === 'hold') {
      for (const attempt of message.held!) held.set(attempt.token, attempt);
    } else if (message.type === 'release') {
      for (const token of message.tokens!) held.delete(token);
    } else if (message.type === 'progress') {
      lastProgress = message.at;
    } else if (message.type === 'stop') {
      stopping = true;
      wake?.();
    } else if (message.type === 'beat') {
      wake?.();
    }
  },
);

async function connect(): Promise<Beat> {
  const { connection, workerId, backendName, queues, pid } = data;
  const host = hostname();
  if (connection.dialect === 'sqlite') {
    const { DatabaseSync } = await import('node:sqlite');
    const db = new DatabaseSync(connection.path, { timeout: connection.busyTimeoutMs });
    const renew = db.prepare(sqlOf(RENEW_LEASES, 'sqlite'));
    const cancelled = db.prepare(sqlOf(SELECT_CANCELLED, 'sqlite'));
    const seen = db.prepare(sqlOf(WORKER_SEEN, 'sqlite'));
    return {
      run: (leaseUntil, now, attempts) => {
        if (!existsSync(connection.path)) {
          throw new Error(`the SQLite database file ${connection.path} no longer exists`);
        }
        const renewed = new Set<string>();
        if (attempts.length > 0) {
          const rows = renew.all(
            leaseUntil,
            JSON.stringify(attempts.map((a) => a.id)),
            JSON.stringify(attempts.map((a) => a.token)),
          ) as { claim_token: string }[];
          for (const row of rows) renewed.add(row.claim_token);
        }
        seen.run(workerId, backendName, host, pid, queues, now, lastProgress ?? null);
        return Promise.resolve(renewed);
      },
      cancelled: (attempts) => {
        const rows = cancelled.all(
          JSON.stringify(attempts.map((a) => a.id)),
          JSON.stringify(attempts.map((a) => a.token)),
        ) as { claim_token: string }[];
        return Promise.resolve(new Set(rows.map((row) => row.claim_token)));
      },
      close: () => {
        db.close();
        return Promise.resolve();
      },
    };
  }
  if (connection.dialect === 'mysql') return connectMysql(connection.mysql, host);
  const { default: pg } = await import('pg');
  // Time limits so that a connection that silently stopped answering is replaced.
  const limit = Math.max(1000, data.leaseMs);
  const client = new pg.Client({
    ...connection.pg,
    application_name: `djtasks heartbeat ${workerId}`,
    connectionTimeoutMillis: limit,
    query_timeout: limit,
  });
  client.on('error', () => {});
  await client.connect();
  return {
    run: async (leaseUntil, now, attempts) => {
      const renewed = new Set<string>();
      if (attempts.length > 0) {
        const result = await client.query<{ claim_token: string }>({
          name: RENEW_LEASES.name,
          text: sqlOf(RENEW_LEASES, 'postgresql'),
          values: [new Date(leaseUntil), attempts.map((a) => a.id), attempts.map((a) => a.token)],
        });
        for (const row of result.rows) renewed.add(row.claim_token);
      }
      await client.query({
        name: WORKER_SEEN.name,
        text: sqlOf(WORKER_SEEN, 'postgresql'),
        values: [
          workerId,
          backendName,
          host,
          pid,
          queues,
          new Date(now),
          lastProgress === undefined ? null : new Date(lastProgress),
        ],
      });
      return renewed;
    },
    cancelled: async (attempts) => {
      const result = await client.query<{ claim_token: string }>({
        name: SELECT_CANCELLED.name,
        text: sqlOf(SELECT_CANCELLED, 'postgresql'),
        values: [attempts.map((a) => a.id), attempts.map((a) => a.token)],
      });
      return new Set(result.rows.map((row) => row.claim_token));
    },
    // `end()` on a connection the server already cut may never settle: do not wait for it.
    close: () => Promise.race([client.end(), sleep(1000)]).then(() => undefined),
  };
}

/**
 * The heartbeat on MariaDB/MySQL, through its own `mysql2` connection. With no `UPDATE …
 * RETURNING`, the renewal locks the held rows that still run their attempt, renews those, and
 * commits: the rows it read are the rows it renewed.
 */
async function connectMysql(config: MySqlConnectionConfig, host: string): Promise<Beat> {
  const { workerId, backendName, queues, pid } = data;
  const mysql = await import('mysql2/promise');
  // Time limits so that a connection that silently stopped answering is replaced.
  const timeout = Math.max(1000, data.leaseMs);
  const client = await mysql.createConnection({
    ...config,
    timezone: 'Z',
    dateStrings: true,
    connectTimeout: timeout,
  });
  client.on('error', () => {});
  for (const statement of MYSQL_SESSION) await client.query(statement);
  const query = async <T>(sql: string, values: unknown[]): Promise<T> => {
    const [rows] = await client.query({ sql, values, timeout });
    return rows as T;
  };
  const held = (attempts: Held[]) => JSON.stringify(attempts);
  return {
    run: async (leaseUntil, now, attempts) => {
      const renewed = new Set<string>();
      if (attempts.length > 0) {
        await client.beginTransaction();
        try {
          const rows = await query<{ claim_token: string }[]>(sqlOf(LOCK_HELD, 'mysql'), [
            held(attempts),
          ]);
          for (const row of rows) renewed.add(row.claim_token);
          if (renewed.size > 0) {
            await query(sqlOf(RENEW_HELD, 'mysql'), [held(attempts), new Date(leaseUntil)]);
          }
          await client.commit();
        } catch (error) {
          await client.rollback().catch(() => {});
          throw error;
        }
      }
      await query(sqlOf(WORKER_SEEN, 'mysql'), [
        workerId,
        backendName,
        host,
        pid,
        queues,
        new Date(now),
        new Date(now),
        lastProgress === undefined ? null : new Date(lastProgress),
      ]);
      return renewed;
    },
    cancelled: async (attempts) => {
      const rows = await query<{ claim_token: string }[]>(sqlOf(SELECT_CANCELLED, 'mysql'), [
        held(attempts),
      ]);
      return new Set(rows.map((row) => row.claim_token));
    },
    // `end()` on a connection the server already cut may never settle: do not wait for it.
    close: async () => {
      await Promise.race([client.end(), sleep(1000)]).catch(() => {});
      client.destroy();
    },
  };
}

/** How often running attempts are checked for a cancellation, at most: a cancelled task stops within about this. */
const CANCEL_CHECK_MS = 500;

async function main(): Promise<void> {
  let beat: Beat | undefined;
  let backoff = 100;
  let renewedAt = 0;
  /** Tokens already reported as cancelled. */
  const reported = new Set<string>();
  while (!stopping) {
    try {
      beat ??= await connect();
      const now = Date.now();
      if (now - renewedAt >= data.intervalMs) {
        const attempts = [...held.values()];
        const renewed = await beat.run(now + data.leaseMs, now, attempts);
        renewedAt = now;
        // Attempts whose row another attempt (or a finished outcome) holds now: stop renewing
        // them and tell the worker. An attempt released meanwhile is no news to it.
        const lost = attempts.filter((a) => !renewed.has(a.token) && held.has(a.token));
        for (const attempt of lost) held.delete(attempt.token);
        if (lost.length > 0) parentPort!.postMessage({ type: 'lost', held: lost });
        parentPort!.postMessage({ type: 'renewed', at: now });
      }
      const attempts = [...held.values()].filter((a) => !reported.has(a.token));
      if (attempts.length > 0) {
        const cancelled = await beat.cancelled(attempts);
        const asked = attempts.filter((a) => cancelled.has(a.token));
        for (const attempt of asked) reported.add(attempt.token);
        if (asked.length > 0) parentPort!.postMessage({ type: 'cancel', held: asked });
      }
      for (const token of reported) if (!held.has(token)) reported.delete(token);
      backoff = 100;
      if (stopping) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(
          resolve,
          Math.min(CANCEL_CHECK_MS, Math.max(0, renewedAt + data.intervalMs - Date.now())),
        );
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
