import type { EntityManager } from '@mikro-orm/sql';

/** The databases djtasks speaks to, each with its own SQL where they differ. */
export type DialectName = 'postgresql' | 'sqlite';

/** Tell which database an `EntityManager` talks to; throw for one djtasks does not support. */
export function dialectOf(em: EntityManager): DialectName {
  const platform = em.getPlatform().constructor.name;
  if (/postgre/i.test(platform)) return 'postgresql';
  if (/sqlite|libsql/i.test(platform)) return 'sqlite';
  throw new Error(
    `@djtasks/backend-db supports PostgreSQL and SQLite; this MikroORM instance uses ${platform}.`,
  );
}

/** A `Date` as the database driver wants it: SQLite columns hold milliseconds, as MikroORM writes them. */
export function dbDate(dialect: DialectName, date: Date | null): Date | number | null {
  if (date === null) return null;
  return dialect === 'sqlite' ? date.getTime() : date;
}

/** A timestamp read back from a raw query (a `Date`, milliseconds, or PostgreSQL's text form). */
export function readDate(value: unknown): Date | null {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) return value;
  if (typeof value === 'number' || typeof value === 'bigint') return new Date(Number(value));
  if (typeof value === 'string') {
    if (/^\d+$/.test(value)) return new Date(Number(value));
    // '2026-11-21 20:58:59.698+00' → ISO 8601
    const iso = value.replace(' ', 'T').replace(/([+-]\d\d)$/, '$1:00');
    const date = new Date(iso);
    if (!Number.isNaN(date.getTime())) return date;
  }
  throw new Error(`Cannot read a timestamp from ${JSON.stringify(value)}`);
}

/** A count from a raw query: PostgreSQL returns bigints as strings. */
export function readCount(value: unknown): number {
  return typeof value === 'number' ? value : Number(value ?? 0);
}

/** `?, ?, ?` for `n` parameters. */
export function placeholders(n: number): string {
  return Array.from({ length: n }, () => '?').join(', ');
}
