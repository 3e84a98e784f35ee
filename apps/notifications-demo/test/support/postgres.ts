/**
 * A throwaway PostgreSQL database per test file, on the server DJTASKS_TEST_PG_URL names (an
 * admin URL; the root vitest globalSetup, test-support/postgres-server.ts, sets it to the local
 * server or to a throwaway embedded one).
 */
import { randomBytes } from 'node:crypto';
import { PostgreSqlDriver } from '@mikro-orm/postgresql';
import { MikroORM } from '@mikro-orm/sql';

const ADMIN_URL =
  process.env['DJTASKS_TEST_PG_URL'] ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

/** The URL of database `name` on the test server. */
function databaseUrl(name: string): string {
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return url.href;
}

async function admin<T>(work: (orm: MikroORM) => Promise<T>): Promise<T> {
  const orm = await MikroORM.init({
    driver: PostgreSqlDriver,
    clientUrl: ADMIN_URL,
    entities: [],
    discovery: { warnWhenNoEntities: false },
  } as never);
  try {
    return await work(orm);
  } finally {
    await orm.close();
  }
}

/** Create `demo_test_<random>`; resolve with its URL and a function that drops it. */
export async function createPostgresDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `demo_test_${randomBytes(6).toString('hex')}`;
  await admin((orm) => orm.em.getConnection().execute(`create database "${name}"`));
  return {
    url: databaseUrl(name),
    drop: async () => {
      await admin((orm) =>
        orm.em.getConnection().execute(`drop database if exists "${name}" with (force)`),
      );
    },
  };
}
