import { afterEach, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import {
  configureTasks,
  InvalidTask,
  InvalidTaskBackend,
  task,
  taskBackends,
} from '@djtasks/tasks';
import { DatabaseBackend, DatabaseConfigurationError, openDatabase } from '../src/index.ts';
import { main } from '../src/cli.ts';
import { PG_ADMIN_URL, scratchSqlite } from './helpers.ts';

const BACKEND_MODULE = new URL('../src/index.ts', import.meta.url).href;

/** A configuration file for the CLI, naming `database`. */
function configFile(dir: string, database: string): string {
  const file = join(dir, `djtasks.config.${Math.random().toString(36).slice(2)}.ts`);
  writeFileSync(
    file,
    `import { DatabaseBackend } from ${JSON.stringify(BACKEND_MODULE)};\n` +
      `export default { backends: { default: { backend: DatabaseBackend, options: { database: ${JSON.stringify(database)} } } } };\n`,
  );
  return file;
}

async function pgDatabaseExists(name: string): Promise<boolean> {
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  try {
    const { rowCount } = await admin.query('select 1 from pg_database where datname = $1', [name]);
    return rowCount === 1;
  } finally {
    await admin.end();
  }
}

async function dropPgDatabase(name: string): Promise<void> {
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(`drop database if exists ${name} with (force)`);
  } finally {
    await admin.end();
  }
}

describe('configuration errors are named and final', () => {
  const dir = mkdtempSync(join(tmpdir(), 'djtasks-config-'));
  afterEach(async () => {
    await taskBackends.close();
    configureTasks();
  });

  it.each(['mssql://sa@127.0.0.1:1433/test', 'postgress://postgres@127.0.0.1/db', 'redis://x'])(
    'refuses %s, listing the supported databases',
    async (database) => {
      configureTasks({
        backends: { default: { backend: DatabaseBackend, options: { database } } },
      });
      let error: unknown;
      try {
        taskBackends.get('default');
      } catch (caught) {
        error = caught;
      }
      // The registry names the backend; the cause names the database.
      expect(error).toBeInstanceOf(InvalidTaskBackend);
      const cause = (error as Error).cause;
      expect(cause).toBeInstanceOf(DatabaseConfigurationError);
      expect((cause as Error).message).toMatch(
        /does not support '(mssql|postgress|redis):' databases .*supported: postgresql:\/\/.*mariadb:\/\//,
      );
      await expect(openDatabase(database)).rejects.toThrow(DatabaseConfigurationError);
      // The CLI says so and exits 2 at once, instead of retrying forever.
      expect(await main(['--config', configFile(dir, database), 'worker'])).toBe(2);
    },
  );

  it('does not create a PostgreSQL database that does not exist, and says so', async () => {
    const name = `djtasks_missing_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
    const url = new URL(PG_ADMIN_URL);
    url.pathname = `/${name}`;
    try {
      const error = await openDatabase(url.href).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DatabaseConfigurationError);
      expect((error as Error).message).toContain('does not exist');
      expect((error as Error).message).toContain('djtasks migrate --create-database');
      expect(await pgDatabaseExists(name)).toBe(false);
      const config = configFile(dir, url.href);
      expect(await main(['--config', config, 'worker'])).toBe(2);
      expect(await main(['--config', config, 'migrate'])).toBe(2);
      expect(await pgDatabaseExists(name)).toBe(false);
      expect(await main(['--config', config, 'migrate', '--create-database'])).toBe(0);
      expect(await pgDatabaseExists(name)).toBe(true);
      expect(await main(['--config', config, 'migrate'])).toBe(0);
    } finally {
      await dropPgDatabase(name);
    }
  });

  it.each(['mariadb://root@127.0.0.1:3306', 'mysql://root@127.0.0.1:3306/'])(
    'refuses a MariaDB/MySQL URL without a database name: %s',
    async (database) => {
      await expect(openDatabase(database)).rejects.toThrow(
        /needs a database name in a MariaDB\/MySQL URL/,
      );
      expect(await main(['--config', configFile(dir, database), 'worker'])).toBe(2);
    },
  );

  it('does not create a SQLite file that does not exist, and says so', async () => {
    const file = join(dir, 'missing.sqlite3');
    await expect(openDatabase(file)).rejects.toThrow(
      /SQLite database .*missing\.sqlite3 does not exist/,
    );
    await expect(openDatabase(join(dir, 'no-dir', 'x.sqlite3'))).rejects.toThrow(
      'directory of the SQLite database',
    );
    const config = configFile(dir, file);
    expect(await main(['--config', config, 'migrate'])).toBe(2);
    expect(existsSync(file)).toBe(false);
    expect(await main(['--config', config, 'migrate', '--create-database'])).toBe(0);
    expect(existsSync(file)).toBe(true);
  });

  it('applies the same task and queue name limits on SQLite as on PostgreSQL, at enqueue', async () => {
    const db = await scratchSqlite();
    try {
      configureTasks({
        backends: {
          default: { backend: DatabaseBackend, queues: [], options: { database: db.url } },
        },
      });
      const long = task({ name: `test.${'x'.repeat(300)}` }, () => {});
      const nul = task({ name: 'test.with\0nul' }, () => {});
      const fine = task({ name: `test.${'é'.repeat(250)}` }, () => {});
      await expect(long.enqueue()).rejects.toThrow(InvalidTask);
      await expect(long.enqueue()).rejects.toThrow('task name must be at most 255 characters');
      await expect(nul.enqueue()).rejects.toThrow('must not contain a NUL character');
      expect(() => fine.using({ queueName: 'q'.repeat(65) })).toThrow(
        'queue name must be at most 64 characters',
      );
      expect((await fine.enqueue()).id).toBeTypeOf('string');
    } finally {
      await taskBackends.close();
      await db.drop();
    }
  });

  it('cleans up its scratch directory', () => {
    rmSync(dir, { recursive: true, force: true });
  });
});
