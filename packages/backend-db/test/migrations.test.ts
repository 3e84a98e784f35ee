import { describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EntityManager } from '@mikro-orm/sql';
import mysql from 'mysql2/promise';
import pg from 'pg';
import {
  DJTASKS_MIGRATIONS,
  migrate,
  MIGRATIONS_TABLE,
  openDatabase,
  TASK_RESULT_TABLE,
} from '../src/index.ts';
import { dialectOf } from '../src/dialect.ts';
import { MARIADB_ADMIN_URL, PG_ADMIN_URL, type TestDialect } from './helpers.ts';

async function emptyDatabase(
  dialect: TestDialect,
): Promise<{ url: string; drop: () => Promise<void> }> {
  if (dialect === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'djtasks-upgrade-'));
    return {
      url: join(dir, 'tasks.sqlite3'),
      drop: () => Promise.resolve(rmSync(dir, { recursive: true, force: true })),
    };
  }
  const name = `djtasks_upgrade_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  if (dialect === 'mariadb') {
    const url = new URL(MARIADB_ADMIN_URL);
    url.pathname = `/${name}`;
    // openDatabase creates it (createDatabase); dropped through a connection of its own.
    return {
      url: url.href,
      drop: async () => {
        const connection = await mysql.createConnection({
          uri: MARIADB_ADMIN_URL.replace(/^mariadb:/, 'mysql:'),
        });
        await connection.query(`drop database if exists ${name}`);
        await connection.end();
      },
    };
  }
  const admin = async (sql: string) => {
    const client = new pg.Client({ connectionString: PG_ADMIN_URL });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await admin(`create database ${name}`);
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return { url: url.href, drop: () => admin(`drop database if exists ${name} with (force)`) };
}

// MariaDB when a server answers (the *.mariadb.test.ts files say so loudly when none does).
describe.each<TestDialect>([
  'sqlite',
  'postgresql',
  ...(MARIADB_ADMIN_URL ? ['mariadb' as const] : []),
])('upgrading an existing database (%s)', (dialect) => {
  it('applies the later migrations to a database at 0001, keeping its rows', async () => {
    const db = await emptyDatabase(dialect);
    const orm = await openDatabase(db.url, { createDatabase: true });
    try {
      const em = orm.em.fork() as unknown as EntityManager;
      const d = dialectOf(em);
      const ts = d === 'postgresql' ? 'timestamptz' : d === 'mysql' ? 'datetime(6)' : 'datetime';
      // The schema as the first release left it, with a finished and a ready row.
      await em.execute(
        `create table ${MIGRATIONS_TABLE} (name varchar(255) not null primary key, executed_at ${ts} not null)`,
        [],
        'run',
      );
      for (const statement of DJTASKS_MIGRATIONS[0]!.up(d)) await em.execute(statement, [], 'run');
      const now = d === 'sqlite' ? Date.now() : new Date();
      await em.execute(
        `insert into ${MIGRATIONS_TABLE} (name, executed_at) values ('0001_task_result', ?)`,
        [now],
        'run',
      );
      const insert =
        `insert into ${TASK_RESULT_TABLE} (id, status, task_name, queue_name, backend_name, priority, args, available_at, enqueued_at, finished_at, attempts, worker_ids, return_value) ` +
        `values (?, ?, 'x.y', 'default', 'default', 5, '[1]', ?, ?, ?, ?, ?, ?)`;
      await em.execute(insert, ['done', 'SUCCESSFUL', now, now, now, 1, '["w"]', '42'], 'run');
      await em.execute(insert, ['waiting', 'READY', now, now, null, 0, '[]', null], 'run');

      expect(await migrate(em)).toEqual([
        '0002_claim_token',
        '0003_cancel',
        '0004_metadata',
        '0005_unique_key_schedules',
        '0006_admin_indexes',
        '0007_claim_indexes',
        '0008_unique_key_index',
      ]);
      expect(await migrate(em)).toEqual([]);

      const rows = await em.execute<
        {
          id: string;
          status: string;
          priority: number;
          return_value: string | null;
          worker_ids: string;
          claim_token: string | null;
          cancel_requested_at: unknown;
        }[]
      >(
        `select id, status, priority, return_value, worker_ids, claim_token, cancel_requested_at from ${TASK_RESULT_TABLE} order by id`,
      );
      expect(
        rows.map((r) => [
          r.id,
          r.status,
          Number(r.priority),
          r.return_value,
          r.worker_ids,
          r.claim_token,
          r.cancel_requested_at,
        ]),
      ).toEqual([
        ['done', 'SUCCESSFUL', 5, '42', '["w"]', null, null],
        ['waiting', 'READY', 0 + 5, null, '[]', null, null],
      ]);
      // 0004: rows enqueued before it have no metadata.
      const metadata = await em.execute<{ metadata: string }[]>(
        `select metadata from ${TASK_RESULT_TABLE} order by id`,
      );
      expect(metadata.map((r) => r.metadata)).toEqual(['{}', '{}']);
      // The new status is accepted, an unknown one still refused.
      await em.execute(
        `update ${TASK_RESULT_TABLE} set status = 'CANCELLED' where id = 'waiting'`,
        [],
        'run',
      );
      await expect(
        em.execute(
          `update ${TASK_RESULT_TABLE} set status = 'PAUSED' where id = 'waiting'`,
          [],
          'run',
        ),
      ).rejects.toThrow(/check/i);
      // The indexes are back after the SQLite rebuild.
      if (d === 'sqlite') {
        const indexes = await em.execute<{ name: string }[]>(
          `select name from sqlite_master where type = 'index' and tbl_name = ?`,
          [TASK_RESULT_TABLE],
        );
        expect(
          indexes
            .map((i) => i.name)
            .filter((n) => n.startsWith('djtasks'))
            .sort(),
        ).toEqual([
          `${TASK_RESULT_TABLE}_enqueued_idx`,
          `${TASK_RESULT_TABLE}_finished_idx`,
          `${TASK_RESULT_TABLE}_key_enqueued_idx`,
          `${TASK_RESULT_TABLE}_queue_enqueued_idx`,
          `${TASK_RESULT_TABLE}_ready_backend_idx`,
          `${TASK_RESULT_TABLE}_ready_queue_idx`,
          `${TASK_RESULT_TABLE}_running_idx`,
          `${TASK_RESULT_TABLE}_status_enqueued_idx`,
          `${TASK_RESULT_TABLE}_unique_key_idx`,
        ]);
      }
      // 0005: the old rows hold no unique key, and a second READY row with one key is refused.
      const keyed =
        `insert into ${TASK_RESULT_TABLE} (id, status, task_name, queue_name, backend_name, args, available_at, enqueued_at, unique_key) ` +
        `values (?, 'READY', 'x.y', 'default', 'default', '[]', ?, ?, 'k')`;
      await em.execute(keyed, ['k1', now, now], 'run');
      await expect(em.execute(keyed, ['k2', now, now], 'run')).rejects.toThrow(/unique/i);
    } finally {
      await orm.close();
      await db.drop();
    }
  });
});
