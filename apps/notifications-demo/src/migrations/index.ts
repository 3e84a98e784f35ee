import type { MigrationObject } from '@mikro-orm/core';
import { Migration0001Initial as PostgresInitial } from './postgresql/Migration0001Initial.ts';
import { Migration0001Initial as SqliteInitial } from './sqlite/Migration0001Initial.ts';

/** The app's migrations per dialect, in order (listed, not discovered from the filesystem). */
export const migrations: { sqlite: MigrationObject[]; postgresql: MigrationObject[] } = {
  sqlite: [{ name: 'Migration0001Initial', class: SqliteInitial }],
  postgresql: [{ name: 'Migration0001Initial', class: PostgresInitial }],
};
