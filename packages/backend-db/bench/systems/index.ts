/** Every system the harness knows, in table order; `--systems` picks among their ids. */
import { mariadb } from '../databases-mariadb.ts';
import { postgresql, sqlite, type BenchDatabase, type DatabaseKind } from '../databases.ts';
import { djtasksMariadb } from './djtasks-mariadb.ts';
import { djtasksPostgresql, djtasksPostgresqlPrefetch } from './djtasks-postgresql.ts';
import { djtasksSqlite } from './djtasks-sqlite.ts';
import { graphile, graphileBatched } from './graphile.ts';
import { pgboss } from './pgboss.ts';
import type { BenchSystem } from './types.ts';

export const SYSTEMS: readonly BenchSystem[] = [
  djtasksPostgresql,
  djtasksPostgresqlPrefetch,
  djtasksSqlite,
  djtasksMariadb,
  graphile,
  graphileBatched,
  pgboss,
];

export const DATABASES: Partial<Record<DatabaseKind, BenchDatabase>> = {
  postgresql,
  sqlite,
  mariadb,
};

export function systemById(id: string): BenchSystem {
  const system = SYSTEMS.find((s) => s.id === id);
  if (!system) {
    throw new Error(`unknown system '${id}' (known: ${SYSTEMS.map((s) => s.id).join(', ')})`);
  }
  return system;
}
