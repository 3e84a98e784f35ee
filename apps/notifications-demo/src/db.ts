/**
 * The database: one MikroORM per process (or worker thread), on SQLite (`node:sqlite`) or
 * PostgreSQL as `settings.DATABASE` says. Views and tasks fork its EntityManager per unit of work.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DjtasksSqliteDialect } from '@djtasks/backend-db';
import { Migrator } from '@mikro-orm/migrations';
import { PostgreSqlDriver } from '@mikro-orm/postgresql';
import { MikroORM, SqliteDriver, type EntityManager, type Options } from '@mikro-orm/sql';
import { migrations } from './migrations/index.ts';
import { entities } from './models/index.ts';
import type { DatabaseSettings } from './settings.ts';

/** The ORM options for `database`: entities, driver and this app's migrations. */
export function ormOptions(database: DatabaseSettings): Options {
  const common = {
    entities,
    debug: false,
    allowGlobalContext: false,
    extensions: [Migrator],
  } satisfies Options;
  switch (database.dialect) {
    case 'sqlite':
      mkdirSync(dirname(database.path), { recursive: true });
      return {
        ...common,
        driver: SqliteDriver,
        dbName: database.path,
        // node:sqlite, set up for several processes on one file: WAL, a busy timeout, and
        // BEGIN IMMEDIATE transactions (the web server, task threads and workers all write).
        driverOptions: new DjtasksSqliteDialect(database.path, { busyTimeoutMs: 10_000 }),
        migrations: { migrationsList: migrations.sqlite, snapshot: false, silent: true },
      };
    case 'postgresql':
      return {
        ...common,
        driver: PostgreSqlDriver,
        clientUrl: database.url,
        migrations: { migrationsList: migrations.postgresql, snapshot: false, silent: true },
      } as Options;
  }
}

/** Open a connection; on SQLite, with foreign keys enforced. */
export async function openOrm(database: DatabaseSettings): Promise<MikroORM> {
  const orm = await MikroORM.init(ormOptions(database));
  if (database.dialect === 'sqlite') {
    await orm.em.getConnection().execute('pragma foreign_keys = on');
  }
  return orm;
}

/** Apply this app's pending migrations; return the names applied. */
export async function migrate(orm: MikroORM): Promise<string[]> {
  const applied = await orm.migrator.up();
  return applied.map((migration) => migration.name);
}

let shared: Promise<MikroORM> | null = null;
let sharedFor: DatabaseSettings | null = null;

/**
 * The ORM of this process or thread, opened on first use. Tasks call it, so that a worker
 * thread or a worker process opens its own connection once.
 */
export function getOrm(database: DatabaseSettings): Promise<MikroORM> {
  if (shared && sharedFor !== database) {
    throw new Error('getOrm() was already opened for another database; call closeOrm() first');
  }
  if (!shared) {
    sharedFor = database;
    shared = openOrm(database);
    shared.catch(() => {
      shared = null;
      sharedFor = null;
    });
  }
  return shared;
}

/** A fresh EntityManager for one unit of work. */
export async function forkEm(database: DatabaseSettings): Promise<EntityManager> {
  return (await getOrm(database)).em.fork();
}

/** Close the ORM `getOrm` opened, if any. */
export async function closeOrm(): Promise<void> {
  const current = shared;
  shared = null;
  sharedFor = null;
  if (current) await (await current).close();
}
