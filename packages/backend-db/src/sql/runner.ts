/**
 * How djtasks runs its own SQL: each statement is written once per database, side by side
 * ({@link Statement}), and runs with bound parameters through the driver, never with values
 * inlined into the text (MikroORM's `em.execute` formats every value into the SQL, which costs
 * CPU per value and makes PostgreSQL plan every statement afresh). On PostgreSQL, outside a
 * transaction, statements are named prepared statements of `pg` (parsed and planned once per
 * connection); inside a transaction (an enqueue joining the app's `em.transactional()`) they run
 * on that transaction's connection; on SQLite through the dialect's cache of prepared statements.
 */
import { CompiledQuery, type Kysely, type Transaction } from 'kysely';
import type { EntityManager } from '@mikro-orm/sql';
import type { Pool } from 'pg';
import { dialectOf, type DialectName } from '../dialect.ts';
import { sqlOf, type Statement } from './statement.ts';

/** Where statements run: a manager's connection, or the transaction it is in. */
export interface Runner {
  readonly dialect: DialectName;
  /** Rows the statement returns (a `returning` clause, or a select). */
  all<T>(statement: Statement, params: readonly unknown[]): Promise<T[]>;
  /** How many rows the statement changed. */
  run(statement: Statement, params: readonly unknown[]): Promise<number>;
}

interface KyselyResult {
  rows: unknown[];
  numAffectedRows?: bigint;
  numUpdatedOrDeletedRows?: bigint;
}

/** The `pg` pool behind a PostgreSQL manager, or undefined when the driver does not give it out. */
async function pgPool(em: EntityManager): Promise<Pool | undefined> {
  const connection = em.getConnection() as unknown as { getNativeClient?: () => Promise<unknown> };
  if (typeof connection.getNativeClient !== 'function') return undefined;
  try {
    const pool = (await connection.getNativeClient()) as Pool;
    return typeof pool.query === 'function' ? pool : undefined;
  } catch {
    return undefined;
  }
}

const pools = new WeakMap<object, Promise<Pool | undefined>>();

/**
 * A {@link Runner} for `em`: in the transaction `em` is in, if any, else on its connection
 * (PostgreSQL: `pg`'s pool with named prepared statements).
 */
export function runnerOf(em: EntityManager, dialect: DialectName = dialectOf(em)): Runner {
  const transaction = em.getTransactionContext<Transaction<unknown>>();
  if (transaction === undefined && dialect === 'postgresql') {
    const connection = em.getConnection();
    let pool = pools.get(connection);
    if (!pool) {
      pool = pgPool(em);
      pools.set(connection, pool);
    }
    const kysely = () => connection.getClient<unknown>();
    return {
      dialect,
      async all<T>(statement: Statement, params: readonly unknown[]) {
        const native = await pool;
        if (!native) return kyselyRows<T>(kysely(), sqlOf(statement, dialect), params);
        const result = await native.query({
          name: statement.name,
          text: sqlOf(statement, dialect),
          values: params as unknown[],
        });
        return result.rows as T[];
      },
      async run(statement: Statement, params: readonly unknown[]) {
        const native = await pool;
        if (!native) return kyselyCount(kysely(), sqlOf(statement, dialect), params);
        const result = await native.query({
          name: statement.name,
          text: sqlOf(statement, dialect),
          values: params as unknown[],
        });
        return result.rowCount ?? 0;
      },
    };
  }
  const client = () => transaction ?? em.getConnection().getClient<unknown>();
  return kyselyRunner(dialect, client);
}

/**
 * Run `fn` in a transaction of its own on `em`'s connection, without MikroORM's unit of work
 * (a claim on SQLite: `BEGIN IMMEDIATE`, two statements, `COMMIT`, many times a second).
 * Inside a transaction `em` is already in, `fn` joins it.
 */
export async function inTransaction<T>(
  em: EntityManager,
  dialect: DialectName,
  fn: (runner: Runner) => Promise<T>,
): Promise<T> {
  if (em.getTransactionContext() !== undefined) return fn(runnerOf(em, dialect));
  return em
    .getConnection()
    .getClient<unknown>()
    .transaction()
    .execute((trx) => fn(kyselyRunner(dialect, () => trx)));
}

function kyselyRunner(dialect: DialectName, client: () => Kysely<unknown>): Runner {
  return {
    dialect,
    all: <T>(statement: Statement, params: readonly unknown[]) =>
      kyselyRows<T>(client(), sqlOf(statement, dialect), params),
    run: (statement: Statement, params: readonly unknown[]) =>
      kyselyCount(client(), sqlOf(statement, dialect), params),
  };
}

async function kyselyRows<T>(
  client: Kysely<unknown>,
  sql: string,
  params: readonly unknown[],
): Promise<T[]> {
  const result = (await client.executeQuery(
    CompiledQuery.raw(sql, params as unknown[]),
  )) as KyselyResult;
  return result.rows as T[];
}

async function kyselyCount(
  client: Kysely<unknown>,
  sql: string,
  params: readonly unknown[],
): Promise<number> {
  const result = (await client.executeQuery(
    CompiledQuery.raw(sql, params as unknown[]),
  )) as KyselyResult;
  return Number(result.numAffectedRows ?? result.numUpdatedOrDeletedRows ?? result.rows.length);
}
