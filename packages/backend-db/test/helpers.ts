import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { describe, it } from 'vitest';
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

/**
 * The MariaDB server the tests use (a database per test file is created on it), or '' when
 * none answers (the root globalSetup, test-support/mariadb-server.ts, decides).
 */
export const MARIADB_ADMIN_URL = process.env['DJTASKS_TEST_MARIADB_URL'] ?? '';

/** The databases a test suite runs on. */
export type TestDialect = 'sqlite' | 'postgresql' | 'mariadb';

/**
 * Run `suite` when a MariaDB server answers; otherwise register one skipped test named after
 * `what` and say so loudly (CI sets DJTASKS_TEST_MARIADB=required, which fails instead).
 */
export function onMariadb(what: string, suite: () => void): void {
  if (MARIADB_ADMIN_URL !== '') {
    suite();
    return;
  }
  console.warn(`*** MariaDB is not reachable: ${what} (MariaDB) is SKIPPED ***`);
  describe(`${what} (MariaDB)`, () => {
    it.skip('needs a MariaDB server (DJTASKS_TEST_MARIADB_URL); none answered', () => {});
  });
}

function mysqlUri(url: string): string {
  return url.replace(/^mariadb:/i, 'mysql:');
}

/** Create an empty MariaDB database with the djtasks schema migrated. */
export async function scratchMariadb(): Promise<ScratchDatabase> {
  if (MARIADB_ADMIN_URL === '')
    throw new Error('no MariaDB server answers (DJTASKS_TEST_MARIADB_URL)');
  const name = `djtasks_test_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = await mysql.createConnection({ uri: mysqlUri(MARIADB_ADMIN_URL) });
  try {
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(MARIADB_ADMIN_URL);
  url.pathname = `/${name}`;
  await migrateUrl(url.href);
  return {
    url: url.href,
    drop: async () => {
      const connection = await mysql.createConnection({ uri: mysqlUri(MARIADB_ADMIN_URL) });
      try {
        await connection.query(`drop database if exists ${name}`);
      } finally {
        await connection.end();
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
export function scratchDatabase(dialect: TestDialect): Promise<ScratchDatabase> {
  switch (dialect) {
    case 'sqlite':
      return scratchSqlite();
    case 'postgresql':
      return scratchPostgres();
    case 'mariadb':
      return scratchMariadb();
  }
}
