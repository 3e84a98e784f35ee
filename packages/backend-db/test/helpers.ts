import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { migrate, openDatabase } from '../src/index.ts';

/** The PostgreSQL server the tests use (a database per test file is created on it). */
export const PG_ADMIN_URL =
  process.env['DJTASKS_TEST_PG_URL'] ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

/** A scratch database that a test file owns: its URL, and a function that drops it. */
export interface ScratchDatabase {
  url: string;
  drop(): Promise<void>;
}

/** Create an empty PostgreSQL database with the djtasks schema migrated. */
export async function scratchPostgres(): Promise<ScratchDatabase> {
  const name = `djtasks_test_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  await migrateUrl(url.href);
  return {
    url: url.href,
    drop: async () => {
      const client = new pg.Client({ connectionString: PG_ADMIN_URL });
      await client.connect();
      try {
        await client.query(`drop database if exists ${name} with (force)`);
      } finally {
        await client.end();
      }
    },
  };
}

/** Create an empty SQLite file with the djtasks schema migrated. */
export async function scratchSqlite(): Promise<ScratchDatabase> {
  const dir = mkdtempSync(join(tmpdir(), 'djtasks-db-'));
  const url = join(dir, 'tasks.sqlite3');
  await migrateUrl(url);
  return {
    url,
    drop: () => {
      rmSync(dir, { recursive: true, force: true });
      return Promise.resolve();
    },
  };
}

async function migrateUrl(url: string): Promise<void> {
  const orm = await openDatabase(url, { createDatabase: true });
  try {
    await migrate(orm.em);
  } finally {
    await orm.close();
  }
}

/** A scratch database of the kind `dialect` names. */
export function scratchDatabase(dialect: 'sqlite' | 'postgresql'): Promise<ScratchDatabase> {
  return dialect === 'sqlite' ? scratchSqlite() : scratchPostgres();
}
