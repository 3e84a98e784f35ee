/**
 * A statement of djtasks, written once per database, side by side. Nothing here loads a
 * driver: the heartbeat thread prepares these texts on its own connection; `runner.ts` runs
 * them through an `EntityManager`'s.
 */
import type { DialectName } from '../dialect.ts';

/**
 * One statement's text for every database djtasks speaks to, side by side, each with its own
 * placeholders (`$1` on PostgreSQL, `?` elsewhere); `null` where a database does the job
 * another way (the function running it says how). A database added to {@link DialectName}
 * must be given its entry in every statement: the type checker lists the ones missing.
 */
export type Statement = {
  /** Unique among statements (the name of PostgreSQL's prepared statement). */
  readonly name: string;
} & Readonly<Record<DialectName, string | null>>;

/** The text of `statement` for `dialect`. */
export function sqlOf(statement: Statement, dialect: DialectName): string {
  const sql = statement[dialect];
  if (sql === null) {
    throw new Error(
      `djtasks: statement ${statement.name} has no ${dialect} form (a bug in djtasks).`,
    );
  }
  return sql;
}
