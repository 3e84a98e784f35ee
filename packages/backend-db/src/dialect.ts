import type { EntityManager } from '@mikro-orm/sql';
import { InvalidTaskBackend } from '@djtasks/tasks';
import { UnreadableTimestamp } from './errors.ts';

/**
 * The databases djtasks speaks to, each with its own SQL where they differ. `mysql` is the
 * MySQL family: MariaDB 10.6+ and MySQL 8 (one SQL for both; tested on MariaDB 10.11).
 */
export type DialectName = 'postgresql' | 'mysql' | 'sqlite';

/** Tell which database an `EntityManager` talks to; throw for one djtasks does not support. */
export function dialectOf(em: EntityManager): DialectName {
  const platform = em.getPlatform().constructor.name;
  if (/postgre/i.test(platform)) return 'postgresql';
  if (/sqlite|libsql/i.test(platform)) return 'sqlite';
  if (/mysql|mariadb/i.test(platform)) return 'mysql';
  throw new InvalidTaskBackend(
    `@djtasks/backend-db supports PostgreSQL, MariaDB, MySQL and SQLite; this MikroORM instance uses ${platform}.`,
  );
}

/** A `Date` as the database driver wants it: SQLite columns hold milliseconds, as MikroORM writes them. */
export function dbDate(dialect: DialectName, date: Date | null): Date | number | null {
  if (date === null) return null;
  return dialect === 'sqlite' ? date.getTime() : date;
}

/**
 * A timestamp read back from a raw query (a `Date`, milliseconds, PostgreSQL's text form, or
 * MariaDB/MySQL's zone-less text form of a UTC DATETIME);
 * throws {@link UnreadableTimestamp} for anything else, such as PostgreSQL's `infinity`
 * (which the driver returns as `Infinity`) or free text in a SQLite column.
 */
export function readDate(value: unknown): Date | null {
  if (value === null || value === undefined) return null;
  let date: Date | undefined;
  if (value instanceof Date) date = value;
  else if (typeof value === 'number' || typeof value === 'bigint') date = new Date(Number(value));
  else if (typeof value === 'string') {
    if (/^-?\d+$/.test(value)) date = new Date(Number(value));
    // '2026-11-21 20:58:59.698+00' → ISO 8601; MariaDB's '2026-11-21 20:58:59.698000' is UTC.
    else if (/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)?$/.test(value))
      date = new Date(`${value.replace(' ', 'T')}Z`);
    else date = new Date(value.replace(' ', 'T').replace(/([+-]\d\d)$/, '$1:00'));
  }
  if (date === undefined || Number.isNaN(date.getTime())) throw new UnreadableTimestamp(value);
  return date;
}

/**
 * {@link readDate} as epoch milliseconds, without a `Date` when the database already gave a
 * number (SQLite always; PostgreSQL for the columns djtasks reads, see `sql/columns.ts`).
 */
export function readMillis(value: unknown): number | null {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (value === null || value === undefined) return null;
  return readDate(value)!.getTime();
}

/** {@link readDate}, or null for a value it cannot read. */
export function readDateOrNull(value: unknown): Date | null {
  try {
    return readDate(value);
  } catch {
    return null;
  }
}

/** A count from a raw query: PostgreSQL returns bigints as strings. */
export function readCount(value: unknown): number {
  return typeof value === 'number' ? value : Number(value ?? 0);
}

/** `?, ?, ?` for `n` parameters. */
export function placeholders(n: number): string {
  return Array.from({ length: n }, () => '?').join(', ');
}
