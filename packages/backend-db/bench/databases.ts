/**
 * The databases the systems run on, seen from the harness: a fresh empty database per system
 * and measure, ANALYZE, autovacuum kept off the tables, and commit counts that only the
 * database's own statistics produce (read from another database, after every session has left).
 */
import { mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';

export type DatabaseKind = 'postgresql' | 'sqlite' | 'mariadb';

/** Counts unfinished tasks on one open connection; `statements` says how many it ran. */
export interface RemainingCounter {
  count(): Promise<number>;
  readonly statements: number;
  close(): Promise<void>;
}

export interface BenchDatabase {
  kind: DatabaseKind;
  /** Drop what a previous measure left and create an empty database; returns its location. */
  fresh(name: string): Promise<string>;
  /** Keep autovacuum (and so auto-ANALYZE) away from every table, so a fresh table stays unanalyzed. */
  keepAutovacuumOff(location: string): Promise<void>;
  analyze(location: string): Promise<void>;
  /** Wait until no session is connected, so every session's statistics are flushed. */
  settle(location: string): Promise<void>;
  /** Transactions committed in this database so far, or undefined where that cannot be read. */
  commits(location: string): Promise<number | undefined>;
  /** Autovacuum and auto-analyze runs on the database's tables so far (should stay 0). */
  maintenanceRuns(location: string): Promise<number>;
  remaining(location: string, sql: string): Promise<RemainingCounter>;
  drop(location: string): Promise<void>;
}

/** The server the harness creates its PostgreSQL databases on. */
export const postgresAdminUrl = (): string =>
  process.env['DJTASKS_BENCH_PG_URL'] ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

/** Databases made by the harness are named this plus the system id (tests use their own prefix). */
export const databasePrefix = (): string =>
  process.env['DJTASKS_BENCH_DB_PREFIX'] ?? 'djtasks_bench_';

async function withClient<T>(url: string, f: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await f(client);
  } finally {
    await client.end();
  }
}

const databaseName = (location: string) => decodeURIComponent(new URL(location).pathname.slice(1));

export const postgresql: BenchDatabase = {
  kind: 'postgresql',
  async fresh(name) {
    const db = `${databasePrefix()}${name.replace(/[^a-z0-9]/g, '_')}`;
    await withClient(postgresAdminUrl(), async (client) => {
      await client.query(`drop database if exists ${db} with (force)`);
      await client.query(`create database ${db}`);
    });
    const url = new URL(postgresAdminUrl());
    url.pathname = `/${db}`;
    return url.href;
  },
  async keepAutovacuumOff(location) {
    await withClient(location, async (client) => {
      // Plain tables only: PostgreSQL 15 keeps no statistics of its own on a partitioned
      // parent (pg-boss's `job`), and autovacuum never visits one.
      const { rows } = await client.query<{ sql: string }>(
        `select format('alter table %I.%I set (autovacuum_enabled = off)', n.nspname, c.relname) as sql
           from pg_class c join pg_namespace n on n.oid = c.relnamespace
          where c.relkind = 'r' and n.nspname not in ('pg_catalog', 'information_schema')
            and n.nspname not like 'pg_toast%'`,
      );
      for (const { sql } of rows) await client.query(sql);
    });
  },
  async analyze(location) {
    await withClient(location, (client) => client.query('analyze'));
  },
  async settle(location) {
    const name = databaseName(location);
    await withClient(postgresAdminUrl(), async (client) => {
      const deadline = Date.now() + 15_000;
      while (Date.now() < deadline) {
        const { rows } = await client.query<{ n: string }>(
          'select count(*) as n from pg_stat_activity where datname = $1',
          [name],
        );
        // A session flushes its statistics before it leaves pg_stat_activity.
        if (rows[0]?.n === '0') return;
        await sleep(20);
      }
      throw new Error(`sessions still connected to ${name} after 15 s`);
    });
  },
  async commits(location) {
    // Read from the admin database, so this query is not counted in the measured one.
    return withClient(postgresAdminUrl(), async (client) => {
      const { rows } = await client.query<{ n: string }>(
        'select xact_commit as n from pg_stat_database where datname = $1',
        [databaseName(location)],
      );
      return Number(rows[0]?.n ?? NaN);
    });
  },
  async maintenanceRuns(location) {
    return withClient(location, async (client) => {
      const { rows } = await client.query<{ n: string }>(
        'select coalesce(sum(autovacuum_count + autoanalyze_count), 0) as n from pg_stat_user_tables',
      );
      return Number(rows[0]?.n ?? 0);
    });
  },
  async remaining(location, sql) {
    const client = new pg.Client({ connectionString: location });
    await client.connect();
    let statements = 0;
    return {
      async count() {
        statements++;
        const { rows } = await client.query<{ n: string }>(sql);
        return Number(rows[0]?.n ?? NaN);
      },
      get statements() {
        return statements;
      },
      close: () => client.end(),
    };
  },
  async drop(location) {
    await withClient(postgresAdminUrl(), (client) =>
      client.query(`drop database if exists ${databaseName(location)} with (force)`),
    );
  },
};

const sqliteDir = join(tmpdir(), `djtasks-bench-${process.pid}`);

export const sqlite: BenchDatabase = {
  kind: 'sqlite',
  fresh(name) {
    const dir = join(sqliteDir, name);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    return Promise.resolve(join(dir, 'tasks.sqlite3'));
  },
  // SQLite has no autovacuum that gathers statistics: only ANALYZE writes sqlite_stat1.
  keepAutovacuumOff: () => Promise.resolve(),
  analyze(location) {
    const db = new DatabaseSync(location);
    try {
      db.exec('analyze');
    } finally {
      db.close();
    }
    return Promise.resolve();
  },
  settle: () => Promise.resolve(),
  commits: () => Promise.resolve(undefined),
  maintenanceRuns: () => Promise.resolve(0),
  remaining(location, sql) {
    const db = new DatabaseSync(location, { readOnly: true });
    const statement = db.prepare(sql);
    let statements = 0;
    return Promise.resolve({
      count() {
        statements++;
        const row = statement.get() as { n: number } | undefined;
        return Promise.resolve(Number(row?.n ?? NaN));
      },
      get statements() {
        return statements;
      },
      close() {
        db.close();
        return Promise.resolve();
      },
    });
  },
  drop(location) {
    rmSync(join(location, '..'), { recursive: true, force: true });
    return Promise.resolve();
  },
};

export function removeSqliteScratch(): void {
  rmSync(sqliteDir, { recursive: true, force: true });
}
