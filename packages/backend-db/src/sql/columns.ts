/**
 * The columns of a task row as djtasks reads them: timestamps come back as epoch milliseconds
 * (SQLite stores them so; PostgreSQL converts them in the statement), so that decoding a row
 * never parses a date string, except on MariaDB/MySQL (UTC DATETIME text, see below).
 */
import { DateTimeType, UnderscoreNamingStrategy } from '@mikro-orm/core';
import type { DialectName } from '../dialect.ts';
import { TaskResultSchema } from '../schema.ts';

/**
 * The task table's columns, from the MikroORM entity (the schema's one description), with
 * MikroORM's own naming (`taskName` → `task_name`), and which of them hold timestamps.
 */
const naming = new UnderscoreNamingStrategy();
/** Whether a property's MikroORM type is a timestamp (`p.datetime()`). */
const isTimestamp = (type: unknown): boolean => type === DateTimeType;
const properties = Object.entries(TaskResultSchema.meta.properties);
const PLAIN = properties
  .filter(([, property]) => !isTimestamp(property.type))
  .map(([name]) => naming.propertyToColumnName(name));
const TIMESTAMPS = properties
  .filter(([, property]) => isTimestamp(property.type))
  .map(([name]) => naming.propertyToColumnName(name));

/** Every column of the task table, qualified by `alias`, timestamps as epoch milliseconds. */
export const TASK_COLUMNS: Readonly<Record<DialectName, (alias: string) => string>> = {
  postgresql: (alias) =>
    [
      ...PLAIN.map((column) => `${alias}.${column}`),
      ...TIMESTAMPS.map(
        (column) => `(extract(epoch from ${alias}.${column}) * 1000)::float8 as ${column}`,
      ),
    ].join(', '),
  // SQLite stores milliseconds already (and its RETURNING takes no table-qualified names).
  sqlite: () => '*',
  // MariaDB/MySQL: DATETIME(6) text in UTC ('2026-12-01 12:00:00.123000'), read by readDate:
  // converting in SQL through unix_timestamp() would depend on the session's time zone.
  mysql: (alias) => `${alias}.*`,
};
