import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { MikroORM } from '@mikro-orm/core';
import { SqliteDriver, type EntityManager } from '@mikro-orm/sql';
import { CompiledQuery, type DatabaseConnection } from 'kysely';
import type { ClientConfig } from 'pg';
import { dialectOf } from './dialect.ts';
import { DatabaseConfigurationError } from './errors.ts';
import { MYSQL_SESSION } from './mysql-session.ts';
import { TaskResultEntity, WorkerEntity } from './schema.ts';
import { DjtasksSqliteDialect, type SqliteDialectOptions } from './sqlite.ts';

/** How a thread or a LISTEN client opens its own connection to the backend's database. */
export type ConnectionInfo =
  | { dialect: 'postgresql'; pg: ClientConfig }
  | { dialect: 'mysql'; mysql: MySqlConnectionConfig }
  | { dialect: 'sqlite'; path: string; busyTimeoutMs: number };

/** How a thread opens its own `mysql2` connection to a MariaDB or MySQL database. */
export interface MySqlConnectionConfig {
  host?: string;
  port?: number;
  user?: string;
  password?: string;
  database?: string;
}

/** The URL schemes (and plain paths) a `database` option may use. */
export const SUPPORTED_DATABASES =
  'postgresql://… or postgres://… (PostgreSQL), mariadb://… (MariaDB 10.6+), mysql://… (MySQL 8), ' +
  'sqlite:PATH, file:PATH or a plain file path (SQLite)';

/** Whether `database` names a PostgreSQL server (a `postgres://` or `postgresql://` URL). */
export function isPostgresUrl(database: string): boolean {
  return /^postgres(ql)?:\/\//i.test(database);
}

/** Whether `database` names a MariaDB or MySQL server (a `mariadb://` or `mysql://` URL). */
export function isMySqlUrl(database: string): boolean {
  return /^(mariadb|mysql):\/\//i.test(database);
}

/** The SQLite file path of a `database` option: a path, or `sqlite:` / `file:` before it. */
export function sqlitePath(database: string): string {
  return database.replace(/^(sqlite|file):(\/\/)?/i, '');
}

/** `database` with any password replaced, fit for messages and logs. */
export function redactDatabase(database: string): string {
  return database.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*:)[^@/]*@/i, '$1***@');
}

/**
 * Throw {@link DatabaseConfigurationError} for a `database` option djtasks cannot open: a URL
 * scheme other than PostgreSQL's, MariaDB's, MySQL's or SQLite's (`redis://`, a misspelt
 * `postgress://`), a MariaDB/MySQL URL without a database name, or a SQLite database that only
 * one process could see (`:memory:`).
 */
export function checkDatabaseOption(database: string): void {
  if (isPostgresUrl(database)) return;
  if (isMySqlUrl(database)) {
    let name = '';
    try {
      name = decodeURIComponent(new URL(database).pathname.replace(/^\//, ''));
    } catch {
      // Not a URL at all: said below.
    }
    if (name === '' || name.includes('/')) {
      const shown = redactDatabase(database);
      throw new DatabaseConfigurationError(
        shown,
        `@djtasks/backend-db needs a database name in a MariaDB/MySQL URL, as in ` +
          `mariadb://user:password@host:3306/tasks (got '${shown}').`,
      );
    }
    return;
  }
  const shown = redactDatabase(database);
  // Two letters at least: `C:\tasks.db` is a Windows path, not a scheme.
  const scheme = /^([a-z][a-z0-9+.-]+):/i.exec(database)?.[1];
  if (scheme !== undefined && !/^(sqlite|file)$/i.test(scheme)) {
    throw new DatabaseConfigurationError(
      shown,
      `@djtasks/backend-db does not support '${scheme}:' databases (got '${shown}'); ` +
        `supported: ${SUPPORTED_DATABASES}.`,
    );
  }
  const path = sqlitePath(database);
  if (path === '' || path === ':memory:') {
    throw new DatabaseConfigurationError(
      shown,
      `@djtasks/backend-db needs a SQLite file that workers can share (got '${shown}').`,
    );
  }
}

/** Options of {@link openDatabase}. */
export interface OpenDatabaseOptions {
  /** SQLite tuning when `database` is a SQLite file. */
  sqlite?: SqliteDialectOptions;
  /**
   * Create the PostgreSQL database or the SQLite file when it does not exist. Off by default,
   * so that a misspelt name is an error instead of a new empty database.
   * @defaultValue false
   */
  createDatabase?: boolean;
}

/**
 * Open a MikroORM instance for `database`, with the djtasks entities: a PostgreSQL URL, a
 * MariaDB or MySQL URL (MikroORM's MariaDB or MySQL driver on `mysql2`, timestamps in UTC), or
 * a SQLite file on Node's built-in `node:sqlite` (WAL, busy timeout, `BEGIN IMMEDIATE`). Throws
 * {@link DatabaseConfigurationError} for a URL scheme it does not support, or a database that
 * does not exist (unless `createDatabase`).
 */
export async function openDatabase(
  database: string,
  options: OpenDatabaseOptions = {},
): Promise<MikroORM> {
  const { sqlite = {}, createDatabase = false } = options;
  const shown = redactDatabase(database);
  const common = {
    entities: [TaskResultEntity, WorkerEntity],
    allowGlobalContext: true,
    debug: false,
    ensureDatabase: createDatabase,
  };
  if (isPostgresUrl(database)) {
    // Loaded only for PostgreSQL: an app on SQLite never loads `pg`.
    const { PostgreSqlDriver } = await import('@mikro-orm/postgresql');
    const orm = await MikroORM.init({ ...common, driver: PostgreSqlDriver, clientUrl: database });
    try {
      await orm.em.getConnection().execute('select 1');
    } catch (error) {
      if ((error as { code?: string }).code === '3D000') {
        await orm.close().catch(() => {});
        throw new DatabaseConfigurationError(
          shown,
          `The PostgreSQL database of ${shown} does not exist. Check its name, or create it: ` +
            '`djtasks migrate --create-database` (or the backend option createDatabase: true).',
          { cause: error },
        );
      }
      // Anything else (the server is down, a password is wrong) may pass: queries report it.
    }
    return orm;
  }
  checkDatabaseOption(database);
  if (isMySqlUrl(database)) {
    const mariadb = /^mariadb:/i.test(database);
    // Loaded only for MariaDB/MySQL, as `pg` only for PostgreSQL.
    const driver = mariadb
      ? (await import('@mikro-orm/mariadb')).MariaDbDriver
      : (await import('@mikro-orm/mysql')).MySqlDriver;
    const orm = await MikroORM.init({
      ...common,
      driver,
      // mysql2 reads only mysql:// URLs; the scheme says which MikroORM driver to use.
      clientUrl: database.replace(/^mariadb:/i, 'mysql:'),
      // Timestamps are DATETIME(6) columns holding UTC: mysql2 writes and reads them as UTC, and
      // each session's time zone is UTC too, so the server's own clock functions agree.
      forceUtcTimezone: true,
      onCreateConnection: async (connection: unknown) => {
        for (const statement of MYSQL_SESSION) {
          await (connection as DatabaseConnection).executeQuery(CompiledQuery.raw(statement));
        }
      },
    });
    try {
      await orm.em.getConnection().execute('select 1');
    } catch (error) {
      if ((error as { errno?: number }).errno === 1049) {
        await orm.close().catch(() => {});
        throw new DatabaseConfigurationError(
          shown,
          `The ${mariadb ? 'MariaDB' : 'MySQL'} database of ${shown} does not exist. Check its name, or create it: ` +
            '`djtasks migrate --create-database` (or the backend option createDatabase: true).',
          { cause: error },
        );
      }
      // Anything else (the server is down, a password is wrong) may pass: queries report it.
    }
    return orm;
  }
  const path = sqlitePath(database);
  if (!existsSync(path)) {
    if (!existsSync(dirname(resolve(path)))) {
      throw new DatabaseConfigurationError(
        shown,
        `The directory of the SQLite database ${resolve(path)} does not exist.`,
      );
    }
    if (!createDatabase) {
      throw new DatabaseConfigurationError(
        shown,
        `The SQLite database ${resolve(path)} does not exist. Check the path, or create it: ` +
          '`djtasks migrate --create-database` (or the backend option createDatabase: true).',
      );
    }
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
  if (dialectOf(em) === 'mysql') {
    const mysql: MySqlConnectionConfig = {};
    const url = config.get('clientUrl');
    if (typeof url === 'string' && url !== '') {
      const parsed = new URL(url);
      mysql.host = parsed.hostname;
      if (parsed.port !== '') mysql.port = Number(parsed.port);
      if (parsed.username !== '') mysql.user = decodeURIComponent(parsed.username);
      if (parsed.password !== '') mysql.password = decodeURIComponent(parsed.password);
    }
    const host = config.get('host');
    if (typeof host === 'string') mysql.host = host;
    const port = config.get('port');
    if (typeof port === 'number') mysql.port = port;
    const user = config.get('user');
    if (typeof user === 'string') mysql.user = user;
    const password = config.get('password');
    if (typeof password === 'string') mysql.password = password;
    const dbName = config.get('dbName');
    if (typeof dbName === 'string' && dbName !== '') mysql.database = dbName;
    return { dialect: 'mysql', mysql };
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
