import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EntityManager } from '@mikro-orm/sql';
import mysql from 'mysql2/promise';
import { DatabaseConfigurationError, migrate, openDatabase } from '../src/index.ts';
import { main } from '../src/cli.ts';
import { MARIADB_ADMIN_URL, onMariadb } from './helpers.ts';

const BACKEND_MODULE = new URL('../src/index.ts', import.meta.url).href;

async function databaseExists(name: string): Promise<boolean> {
  const admin = await mysql.createConnection({
    uri: MARIADB_ADMIN_URL.replace(/^mariadb:/, 'mysql:'),
  });
  try {
    const [rows] = await admin.query(
      'select 1 from information_schema.schemata where schema_name = ?',
      [name],
    );
    return (rows as unknown[]).length === 1;
  } finally {
    await admin.end();
  }
}

async function dropDatabase(name: string): Promise<void> {
  const admin = await mysql.createConnection({
    uri: MARIADB_ADMIN_URL.replace(/^mariadb:/, 'mysql:'),
  });
  try {
    await admin.query(`drop database if exists ${name}`);
  } finally {
    await admin.end();
  }
}

onMariadb('MariaDB databases and migrations', () => {
  describe('MariaDB databases and migrations', () => {
    const dir = mkdtempSync(join(tmpdir(), 'djtasks-config-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    function configFile(database: string): string {
      const file = join(dir, `djtasks.config.${Math.random().toString(36).slice(2)}.ts`);
      writeFileSync(
        file,
        `import { DatabaseBackend } from ${JSON.stringify(BACKEND_MODULE)};\n` +
          `export default { backends: { default: { backend: DatabaseBackend, options: { database: ${JSON.stringify(database)} } } } };\n`,
      );
      return file;
    }

    it.each(['mariadb', 'mysql'])(
      'does not create a database that does not exist through %s://, and says so; --create-database does',
      async (scheme) => {
        const name = `djtasks_missing_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
        const url = new URL(MARIADB_ADMIN_URL);
        url.pathname = `/${name}`;
        const database = url.href.replace(/^mariadb:/, `${scheme}:`);
        try {
          const error = await openDatabase(database).catch((e: unknown) => e);
          expect(error).toBeInstanceOf(DatabaseConfigurationError);
          expect((error as Error).message).toContain('does not exist');
          expect((error as Error).message).toContain('djtasks migrate --create-database');
          expect(await databaseExists(name)).toBe(false);
          const config = configFile(database);
          expect(await main(['--config', config, 'migrate'])).toBe(2);
          expect(await databaseExists(name)).toBe(false);
          expect(await main(['--config', config, 'migrate', '--create-database'])).toBe(0);
          expect(await databaseExists(name)).toBe(true);
          expect(await main(['--config', config, 'migrate'])).toBe(0);
        } finally {
          await dropDatabase(name);
        }
      },
    );

    it('goes on from the statement where a migration was cut (DDL is not transactional there)', async () => {
      const name = `djtasks_cut_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
      const url = new URL(MARIADB_ADMIN_URL);
      url.pathname = `/${name}`;
      const orm = await openDatabase(url.href, { createDatabase: true });
      try {
        const em = orm.em.fork() as unknown as EntityManager;
        expect(await migrate(em)).toContain('0005_unique_key_schedules');
        // As if a process died after 0005's first two statements: undo the rest, keep the step records.
        await em.execute(`drop table djtasks_schedule`, [], 'run');
        await em.execute(
          `drop index djtasks_task_result_unique_key_idx on djtasks_task_result`,
          [],
          'run',
        );
        await em.execute(
          `drop index djtasks_task_result_enqueued_idx on djtasks_task_result`,
          [],
          'run',
        );
        await em.execute(
          `drop index djtasks_task_result_status_enqueued_idx on djtasks_task_result`,
          [],
          'run',
        );
        await em.execute(
          `drop index djtasks_task_result_queue_enqueued_idx on djtasks_task_result`,
          [],
          'run',
        );
        await em.execute(
          `delete from djtasks_migrations where name in ('0005_unique_key_schedules', '0006_admin_indexes')`,
          [],
          'run',
        );
        await em.execute(
          `insert into djtasks_migrations (name, executed_at) values ('0005_unique_key_schedules#1', ?), ('0005_unique_key_schedules#2', ?)`,
          [new Date(), new Date()],
          'run',
        );
        // Re-running the first two statements would fail (the columns exist): they are skipped.
        expect(await migrate(em)).toEqual(['0005_unique_key_schedules', '0006_admin_indexes']);
        const steps = await em.execute(`select name from djtasks_migrations where name like '%#%'`);
        expect(steps).toEqual([]);
        const indexes = await em.execute<{ Key_name: string }[]>(
          `show index from djtasks_task_result where Key_name = 'djtasks_task_result_unique_key_idx'`,
        );
        expect(indexes.length).toBeGreaterThan(0);
      } finally {
        await orm.close();
        await dropDatabase(name);
      }
    });
  });
});
