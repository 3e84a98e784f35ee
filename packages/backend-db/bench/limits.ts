/**
 * `--limits`: the machine's single-row commit rate, the ceiling of any one-at-a-time enqueue:
 * pgbench inserting one row per transaction (1 and 8 clients, 5 s each) on the PostgreSQL the
 * systems use, and node:sqlite doing the same in WAL mode.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import pg from 'pg';
import { postgresql } from './databases.ts';

export interface Limits {
  postgresqlCommitsPerSecond: { clients: number; perSecond: number }[];
  sqliteCommitsPerSecond: { synchronous: string; perSecond: number }[];
}

export async function measureLimits(): Promise<Limits> {
  const limits: Limits = { postgresqlCommitsPerSecond: [], sqliteCommitsPerSecond: [] };
  const url = await postgresql.fresh('pgbench');
  const dir = mkdtempSync(join(tmpdir(), 'djtasks-limits-'));
  try {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query('create table t (id bigserial primary key, v int)');
    await client.end();
    const script = join(dir, 'insert.sql');
    writeFileSync(script, 'insert into t (v) values (1);\n');
    const u = new URL(url);
    for (const clients of [1, 8]) {
      // pgbench is PostgreSQL's own load generator (Debian's postgresql-client ships it).
      const out = execFileSync(
        'pgbench',
        [
          '-n',
          ...['-h', u.hostname, '-p', u.port || '5432', '-U', decodeURIComponent(u.username)],
          ...['-c', String(clients), '-j', String(Math.min(clients, 2)), '-T', '5', '-f', script],
          u.pathname.slice(1),
        ],
        { encoding: 'utf8' },
      );
      const tps = Number(/tps = ([\d.]+)/.exec(out)?.[1] ?? NaN);
      limits.postgresqlCommitsPerSecond.push({ clients, perSecond: tps });
    }
    for (const synchronous of ['NORMAL', 'FULL']) {
      const db = new DatabaseSync(join(dir, `${synchronous}.sqlite3`));
      db.exec(
        `pragma journal_mode = wal; pragma synchronous = ${synchronous}; create table t (id integer primary key, v int)`,
      );
      const insert = db.prepare('insert into t (v) values (1)');
      const count = 20_000;
      const t = performance.now();
      for (let i = 0; i < count; i++) insert.run();
      limits.sqliteCommitsPerSecond.push({
        synchronous,
        perSecond: count / ((performance.now() - t) / 1000),
      });
      db.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await postgresql.drop(url);
  }
  return limits;
}
