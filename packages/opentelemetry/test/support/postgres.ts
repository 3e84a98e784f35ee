import pg from 'pg';
import { migrate, openDatabase } from '@djtasks/backend-db';

const ADMIN_URL =
  process.env['DJTASKS_TEST_PG_URL'] ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** A scratch PostgreSQL database with the djtasks schema, and a function that drops it. */
export async function scratchPostgres(): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `djtasks_otel_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  await admin(`create database ${name}`);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  const orm = await openDatabase(url.href);
  try {
    await migrate(orm.em);
  } finally {
    await orm.close();
  }
  return { url: url.href, drop: () => admin(`drop database if exists ${name} with (force)`) };
}
