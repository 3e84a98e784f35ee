/** A throwaway PostgreSQL database per test file, on the local server (trust auth). */
import { randomBytes } from 'node:crypto';
import { PostgreSqlDriver } from '@mikro-orm/postgresql';
import { MikroORM } from '@mikro-orm/sql';

const SERVER = 'postgresql://postgres@127.0.0.1:5432';

async function admin<T>(work: (orm: MikroORM) => Promise<T>): Promise<T> {
  const orm = await MikroORM.init({
    driver: PostgreSqlDriver,
    clientUrl: `${SERVER}/postgres`,
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
    url: `${SERVER}/${name}`,
    drop: async () => {
      await admin((orm) =>
        orm.em.getConnection().execute(`drop database if exists "${name}" with (force)`),
      );
    },
  };
}
