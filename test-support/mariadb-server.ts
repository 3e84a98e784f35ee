/**
 * The MariaDB server the tests use, as a vitest globalSetup (root vitest.config.ts).
 *
 * The server is the one `DJTASKS_TEST_MARIADB_URL` names (an admin URL: the tests create and
 * drop their own scratch databases on it), by default `mariadb://root@127.0.0.1:3306/test`.
 * Unlike PostgreSQL there is no embedded fallback (no MariaDB on the npm registry): when
 * nothing answers, `DJTASKS_TEST_MARIADB_URL` is set empty and the `*.mariadb.test.ts` files
 * skip, saying so loudly, so that `./dev test` passes on a machine with only Node.
 * `DJTASKS_TEST_MARIADB=required` (set by `.ci/run`) turns that skip into a failure.
 */
import { createConnection } from 'mysql2/promise';

export const DEFAULT_MARIADB_URL = 'mariadb://root@127.0.0.1:3306/test';
const CHECKED = 'DJTASKS_TEST_MARIADB_CHECKED';

/** Whether a MariaDB/MySQL server answers a query at `url` (within a few seconds). */
export async function mariadbAnswers(url: string): Promise<boolean> {
  try {
    const connection = await createConnection({
      uri: url.replace(/^mariadb:/i, 'mysql:'),
      connectTimeout: 5_000,
    });
    try {
      await connection.query('select 1');
      return true;
    } finally {
      await connection.end().catch(() => undefined);
    }
  } catch {
    return false;
  }
}

/** vitest globalSetup: make DJTASKS_TEST_MARIADB_URL name a server that answers, or be empty. */
export default async function setup(): Promise<undefined> {
  if (process.env[CHECKED]) return undefined; // another project's setup already saw to it
  process.env[CHECKED] = 'yes';
  const configured = process.env['DJTASKS_TEST_MARIADB_URL'] || DEFAULT_MARIADB_URL;
  if (await mariadbAnswers(configured)) {
    process.env['DJTASKS_TEST_MARIADB_URL'] = configured;
    return undefined;
  }
  const where = new URL(configured).host;
  if (process.env['DJTASKS_TEST_MARIADB'] === 'required') {
    throw new Error(
      `No MariaDB answers at ${where} (DJTASKS_TEST_MARIADB_URL) and DJTASKS_TEST_MARIADB=required`,
    );
  }
  process.env['DJTASKS_TEST_MARIADB_URL'] = '';
  console.warn(
    `\n*** test MariaDB: nothing answers at ${where}; every *.mariadb.test.ts file is SKIPPED. ***\n` +
      '*** Start MariaDB (see .ci/run) or set DJTASKS_TEST_MARIADB_URL to run them. ***\n',
  );
  return undefined;
}
