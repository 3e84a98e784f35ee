import { MikroORM } from '@mikro-orm/core';
import { PostgreSqlDriver } from '@mikro-orm/postgresql';
import { SqliteDriver, type EntityManager } from '@mikro-orm/sql';
import type { ClientConfig } from 'pg';
import { dialectOf } from './dialect.ts';
import { TaskResultEntity, WorkerEntity } from './schema.ts';
import { DjtasksSqliteDialect, type SqliteDialectOptions } from './sqlite.ts';

/** How a thread or a LISTEN client opens its own connection to the backend's database. */
export type ConnectionInfo =
  | { dialect: 'postgresql'; pg: ClientConfig }
  | { dialect: 'sqlite'; path: string; busyTimeoutMs: number };

/** Whether `database` names a PostgreSQL server (a `postgres://` or `postgresql://` URL). */
export function isPostgresUrl(database: string): boolean {
  return /^postgres(ql)?:\/\//i.test(database);
}

/** The SQLite file path of a `database` option: a path, or `sqlite:` / `file:` before it. */
export function sqlitePath(database: string): string {
  return database.replace(/^(sqlite|file):(\/\/)?/i, '');
}

/**
 * Open a MikroORM instance for `database`, with the djtasks entities: a PostgreSQL URL, or a
 * SQLite file on Node's built-in `node:sqlite` (WAL, busy timeout, `BEGIN IMMEDIATE`).
 */
export async function openDatabase(
  database: string,
  sqlite: SqliteDialectOptions = {},
): Promise<MikroORM> {
  const common = {
    entities: [TaskResultEntity, WorkerEntity],
    allowGlobalContext: true,
    debug: false,
  };
  if (isPostgresUrl(database)) {
    return MikroORM.init({ ...common, driver: PostgreSqlDriver, clientUrl: database });
  }
  const path = sqlitePath(database);
  if (path === '' || path === ':memory:') {
    throw new Error(
      `@djtasks/backend-db needs a SQLite file that workers can share (got '${database}').`,
    );
  }
  return MikroORM.init({
    ...common,
    driver: SqliteDriver,
    dbName: path,
    driverOptions: new DjtasksSqliteDialect(path, sqlite),
  });
}

/** What another connection needs to reach the same database as `em`. */
export function connectionInfo(
  em: EntityManager,
  sqlite: SqliteDialectOptions = {},
): ConnectionInfo {
  const config = em.config;
  if (dialectOf(em) === 'sqlite') {
    return {
      dialect: 'sqlite',
      path: String(config.get('dbName')),
      busyTimeoutMs: sqlite.busyTimeoutMs ?? 5000,
    };
  }
  const pg: ClientConfig = {};
  const url = config.get('clientUrl');
  if (typeof url === 'string' && url !== '') pg.connectionString = url;
  const host = config.get('host');
  if (typeof host === 'string') pg.host = host;
  const port = config.get('port');
  if (typeof port === 'number') pg.port = port;
  const user = config.get('user');
  if (typeof user === 'string') pg.user = user;
  const password = config.get('password');
  if (typeof password === 'string') pg.password = password;
  const dbName = config.get('dbName');
  if (typeof dbName === 'string' && dbName !== '') pg.database = dbName;
  const schema = config.get('schema');
  if (typeof schema === 'string' && schema !== '') pg.options = `-c search_path=${schema}`;
  return { dialect: 'postgresql', pg };
}
