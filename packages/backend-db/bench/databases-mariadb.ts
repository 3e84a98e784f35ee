/**
 * MariaDB for the harness (see `databases.ts` for the contract). MariaDB keeps no commit
 * counter per database, so commits are the server-wide `Handler_commit` (run it with nothing
 * else on the server); InnoDB's automatic statistics recalculation is its auto-ANALYZE, turned
 * off per table (`STATS_AUTO_RECALC = 0`) for the fresh condition.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import mysql from 'mysql2/promise';
import { databasePrefix, type BenchDatabase } from './databases.ts';

const adminUrl = (): string =>
  process.env['DJTASKS_BENCH_MARIADB_URL'] ?? 'mariadb://root@127.0.0.1:3306/';

function connect(location: string, database = true): Promise<mysql.Connection> {
  const url = new URL(location);
  return mysql.createConnection({
    host: url.hostname,
    port: url.port === '' ? 3306 : Number(url.port),
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    ...(database ? { database: decodeURIComponent(url.pathname.slice(1)) } : {}),
  });
}

async function withConnection<T>(
  location: string,
  f: (c: mysql.Connection) => Promise<T>,
  database = true,
): Promise<T> {
  const connection = await connect(location, database);
  try {
    return await f(connection);
  } finally {
    await connection.end();
  }
}

const databaseName = (location: string) => decodeURIComponent(new URL(location).pathname.slice(1));

async function tables(c: mysql.Connection): Promise<string[]> {
  const [rows] = await c.query<mysql.RowDataPacket[]>(
    `select table_name as t from information_schema.tables
      where table_schema = database() and table_type = 'BASE TABLE'`,
  );
  return rows.map((r) => String(r['t']));
}

export const mariadb: BenchDatabase = {
  kind: 'mariadb',
  async fresh(name) {
    const db = `${databasePrefix()}${name.replace(/[^a-z0-9]/g, '_')}`;
    await withConnection(
      adminUrl(),
      async (c) => {
        await c.query(`drop database if exists ${db}`);
        await c.query(`create database ${db} character set utf8mb4 collate utf8mb4_bin`);
      },
      false,
    );
    const url = new URL(adminUrl());
    url.pathname = `/${db}`;
    return url.href;
  },
  async keepAutovacuumOff(location) {
    await withConnection(location, async (c) => {
      for (const t of await tables(c)) await c.query(`alter table \`${t}\` stats_auto_recalc = 0`);
    });
  },
  async analyze(location) {
    await withConnection(location, async (c) => {
      for (const t of await tables(c)) await c.query(`analyze table \`${t}\``);
    });
  },
  async settle(location) {
    const name = databaseName(location);
    await withConnection(
      adminUrl(),
      async (c) => {
        const deadline = Date.now() + 15_000;
        while (Date.now() < deadline) {
          const [rows] = await c.query<mysql.RowDataPacket[]>(
            'select count(*) as n from information_schema.processlist where db = ? and id <> connection_id()',
            [name],
          );
          if (Number(rows[0]?.['n']) === 0) return;
          await sleep(20);
        }
        throw new Error(`sessions still connected to ${name} after 15 s`);
      },
      false,
    );
  },
  async commits() {
    return withConnection(
      adminUrl(),
      async (c) => {
        const [rows] = await c.query<mysql.RowDataPacket[]>(
          "show global status like 'Handler_commit'",
        );
        // This connection's own statements add a few; they are the same before and after.
        return Number(rows[0]?.['Value'] ?? NaN);
      },
      false,
    );
  },
  maintenanceRuns: () => Promise.resolve(0),
  async remaining(location, sql) {
    const c = await connect(location);
    let statements = 0;
    return {
      async count() {
        statements++;
        const [rows] = await c.query<mysql.RowDataPacket[]>(sql);
        return Number(rows[0]?.['n'] ?? NaN);
      },
      get statements() {
        return statements;
      },
      close: () => c.end(),
    };
  },
  async drop(location) {
    await withConnection(
      adminUrl(),
      (c) => c.query(`drop database if exists \`${databaseName(location)}\``),
      false,
    );
  },
};

/** The server's version string, e.g. `MariaDB 10.11.6`. */
export async function mariadbVersion(): Promise<string> {
  return withConnection(
    adminUrl(),
    async (c) => {
      const [rows] = await c.query<mysql.RowDataPacket[]>('select version() as v');
      return `MariaDB ${String(rows[0]?.['v']).split('-')[0]}`;
    },
    false,
  );
}
