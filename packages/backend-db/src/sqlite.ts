import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { SqliteDialect } from 'kysely';

/** Options of {@link DjtasksSqliteDialect}. */
export interface SqliteDialectOptions {
  /** How long a statement waits for another process's write lock, in milliseconds. @defaultValue 5000 */
  busyTimeoutMs?: number;
  /** `PRAGMA synchronous`: NORMAL is durable across process crashes in WAL mode, FULL also across power loss. @defaultValue "NORMAL" */
  synchronous?: 'NORMAL' | 'FULL';
}

const CACHE_LIMIT = 256;

/** A prepared statement as kysely's SQLite driver uses it. */
interface PreparedForKysely {
  reader: boolean;
  all(params: readonly unknown[]): unknown;
  run(params: readonly unknown[]): unknown;
  get(params: readonly unknown[]): unknown;
}

/**
 * A Kysely dialect for MikroORM's `SqliteDriver` on Node's built-in `node:sqlite`, set up for a
 * task queue shared by several processes: WAL journal, a busy timeout, and every transaction
 * begun with `BEGIN IMMEDIATE`, so a transaction takes the write lock up front (waiting for it
 * under the busy timeout) instead of failing when it first writes. Prepared statements are cached.
 */
export class DjtasksSqliteDialect extends SqliteDialect {
  constructor(path: string, options: SqliteDialectOptions = {}) {
    const { busyTimeoutMs = 5000, synchronous = 'NORMAL' } = options;
    super({
      database: () => {
        const { DatabaseSync: Database } = process.getBuiltinModule('node:sqlite');
        const db: DatabaseSync = new Database(path, { timeout: busyTimeoutMs });
        db.exec('pragma journal_mode = wal');
        db.exec(`pragma synchronous = ${synchronous}`);
        /** Prepared statements with what kysely asks of them, by SQL text (the worker sends a few texts, many times). */
        const cache = new Map<string, PreparedForKysely>();
        const prepare = (sql: string): PreparedForKysely => {
          let prepared = cache.get(sql);
          if (!prepared) {
            const text = /^\s*begin\s*;?\s*$/i.test(sql) ? 'begin immediate' : sql;
            const statement: StatementSync = db.prepare(text);
            prepared = {
              reader: /^\s*(select|pragma|explain|with)/i.test(text) || /\breturning\b/i.test(text),
              all: (params: readonly unknown[]) => statement.all(...(params as never[])),
              run: (params: readonly unknown[]) => statement.run(...(params as never[])),
              get: (params: readonly unknown[]) => statement.get(...(params as never[])),
            };
            if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value!);
            cache.set(sql, prepared);
          }
          return prepared;
        };
        return {
          prepare,
          close() {
            cache.clear();
            db.close();
          },
        } as never;
      },
    });
  }
}
