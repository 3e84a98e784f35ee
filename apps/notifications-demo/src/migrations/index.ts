import type { MigrationObject } from '@mikro-orm/core';
import { Migration0001Initial as PostgresInitial } from './postgresql/Migration0001Initial.ts';
import { Migration0002StaffUsers as PostgresStaffUsers } from './postgresql/Migration0002StaffUsers.ts';
import { Migration0001Initial as SqliteInitial } from './sqlite/Migration0001Initial.ts';
import { Migration0002StaffUsers as SqliteStaffUsers } from './sqlite/Migration0002StaffUsers.ts';

/** The app's migrations per dialect, in order (listed, not discovered from the filesystem). */
export const migrations: { sqlite: MigrationObject[]; postgresql: MigrationObject[] } = {
  sqlite: [
    { name: 'Migration0001Initial', class: SqliteInitial },
    { name: 'Migration0002StaffUsers', class: SqliteStaffUsers },
  ],
  postgresql: [
    { name: 'Migration0001Initial', class: PostgresInitial },
    { name: 'Migration0002StaffUsers', class: PostgresStaffUsers },
  ],
};
