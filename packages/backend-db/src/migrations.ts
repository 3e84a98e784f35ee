/**
 * The djtasks schema as migrations, per database. Over 300 lines on purpose: the history of
 * the schema reads in one place, oldest first, each step with why it exists, followed by the
 * MikroORM migration class of each step (one per migration, for apps that run their own
 * migrator).
 */
import type { EntityManager as AnyEntityManager } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/sql';
import { Migration } from '@mikro-orm/migrations';
import { dialectOf, type DialectName } from './dialect.ts';
import { SCHEDULE_TABLE, TASK_RESULT_TABLE as T, WORKER_TABLE } from './schema.ts';

/** The PostgreSQL channel a trigger notifies when task rows are inserted. */
export const READY_CHANNEL = 'djtasks_task_ready';

/** The table `migrate()` records applied djtasks migrations in. */
export const MIGRATIONS_TABLE = 'djtasks_migrations';

/** One schema change, as SQL for each database. */
export interface DjtasksMigration {
  /** A stable name, recorded once applied. */
  name: string;
  /** The statements that apply it, in order. */
  up(dialect: DialectName): string[];
}

const STATUSES = `'READY', 'RUNNING', 'SUCCESSFUL', 'FAILED', 'CANCELLED'`;

/** The columns of 0001, which the SQLite rebuild of 0003 copies. */
const COLUMN_NAMES =
  'id, status, task_name, queue_name, backend_name, priority, args, run_after, available_at, enqueued_at, ' +
  'started_at, last_attempted_at, finished_at, attempts, worker_ids, errors, return_value, lease_owner, lease_expires_at';

/** The task table's columns: as of 0001, or with `statuses`, as rebuilt by 0003 (with 0002's and 0003's columns). */
function columns(ts: string, statuses?: string): string {
  const later = statuses
    ? `,
  claim_token varchar(64) null,
  cancel_requested_at ${ts} null`
    : '';
  return `(
  id varchar(64) not null primary key,
  status varchar(10) not null default 'READY'
    constraint ${T}_status_check check (status in (${statuses ?? `'READY', 'RUNNING', 'SUCCESSFUL', 'FAILED'`})),
  task_name varchar(255) not null,
  queue_name varchar(64) not null default 'default',
  backend_name varchar(64) not null,
  priority integer not null default 0
    constraint ${T}_priority_range check (priority between -100 and 100),
  args text not null,
  run_after ${ts} null,
  available_at ${ts} not null,
  enqueued_at ${ts} not null,
  started_at ${ts} null,
  last_attempted_at ${ts} null,
  finished_at ${ts} null,
  attempts integer not null default 0,
  worker_ids text not null default '[]',
  errors text not null default '[]',
  return_value text null,
  lease_owner varchar(64) null,
  lease_expires_at ${ts} null${later}
)`;
}

function workerTable(ts: string): string {
  return `create table ${WORKER_TABLE} (
  id varchar(64) not null primary key,
  backend_name varchar(64) not null,
  hostname varchar(255) not null,
  pid integer not null,
  queues text not null,
  started_at ${ts} not null,
  last_seen_at ${ts} not null
)`;
}

/**
 * The MariaDB/MySQL task table of 0001: UTC timestamps in DATETIME(6) (microseconds, no zone
 * conversion), JSON in LONGTEXT (TEXT stops at 64 KB), and a binary collation so that names,
 * keys and ids compare exactly as on PostgreSQL and SQLite (not case-insensitively).
 */
const MYSQL_TASK_TABLE = `create table ${T} (
  id varchar(64) not null primary key,
  status varchar(10) not null default 'READY',
  task_name varchar(255) not null,
  queue_name varchar(64) not null default 'default',
  backend_name varchar(64) not null,
  priority integer not null default 0,
  args longtext not null,
  run_after datetime(6) null,
  available_at datetime(6) not null,
  enqueued_at datetime(6) not null,
  started_at datetime(6) null,
  last_attempted_at datetime(6) null,
  finished_at datetime(6) null,
  attempts integer not null default 0,
  worker_ids longtext not null default ('[]'),
  errors longtext not null default ('[]'),
  return_value longtext null,
  lease_owner varchar(64) null,
  lease_expires_at datetime(6) null,
  constraint ${T}_status_check check (status in ('READY', 'RUNNING', 'SUCCESSFUL', 'FAILED')),
  constraint ${T}_priority_range check (priority between -100 and 100)
) engine = InnoDB default charset = utf8mb4 collate = utf8mb4_bin`;

/** The table options of every MariaDB/MySQL table djtasks creates. */
const MYSQL_TABLE_OPTIONS = 'engine = InnoDB default charset = utf8mb4 collate = utf8mb4_bin';

/**
 * The indexes of 0001 on MariaDB/MySQL, which have no partial indexes: the status leads each
 * one instead, so the claim reads the READY range in claim order (priority descending needs a
 * descending index part: MariaDB 10.8+, MySQL 8) and recovery the RUNNING range by lease.
 */
const MYSQL_INDEXES = [
  `create index ${T}_ready_idx on ${T} (status, priority desc, available_at, id)`,
  `create index ${T}_lease_idx on ${T} (status, lease_expires_at)`,
  `create index ${T}_finished_idx on ${T} (status, finished_at)`,
  `create index ${T}_queue_idx on ${T} (backend_name, queue_name, status)`,
];

const INDEXES = [
  // The claim reads only READY rows, in claim order, however many finished rows the table keeps.
  `create index ${T}_ready_idx on ${T} (priority desc, available_at, id) where status = 'READY'`,
  // Crash recovery looks for RUNNING rows whose lease ran out.
  `create index ${T}_lease_idx on ${T} (lease_expires_at) where status = 'RUNNING'`,
  // Pruning and the status command look at finished rows by age.
  `create index ${T}_finished_idx on ${T} (finished_at) where status in ('SUCCESSFUL', 'FAILED')`,
  `create index ${T}_queue_idx on ${T} (backend_name, queue_name, status)`,
];

/** The migrations djtasks ships, oldest first. */
export const DJTASKS_MIGRATIONS: readonly DjtasksMigration[] = [
  {
    name: '0001_task_result',
    up: (dialect) => {
      switch (dialect) {
        case 'postgresql':
          return [
            `create table ${T} ${columns('timestamptz')}`,
            workerTable('timestamptz'),
            ...INDEXES,
            `create or replace function djtasks_notify_ready() returns trigger language plpgsql as $$
begin
  perform pg_notify('${READY_CHANNEL}', '');
  return null;
end $$`,
            // A queue table changes fast: keep its planner statistics and dead rows in check.
            `alter table ${T} set (autovacuum_vacuum_scale_factor = 0.02, autovacuum_analyze_scale_factor = 0.02)`,
            `create trigger ${T}_notify after insert on ${T} for each statement execute function djtasks_notify_ready()`,
          ];
        case 'mysql':
          return [
            MYSQL_TASK_TABLE,
            `${workerTable('datetime(6)')} ${MYSQL_TABLE_OPTIONS}`,
            ...MYSQL_INDEXES,
          ];
        case 'sqlite':
          // MikroORM keeps SQLite datetimes as milliseconds in `datetime` columns.
          return [`create table ${T} ${columns('datetime')}`, workerTable('datetime'), ...INDEXES];
      }
    },
  },
  {
    // Fencing by attempt: every claim writes a token unique to that attempt, and completion,
    // release, retry scheduling, recovery and lease renewal all require it, so a late outcome
    // of an older attempt (a frozen worker that woke up) can never change the row.
    name: '0002_claim_token',
    up: () => [`alter table ${T} add column claim_token varchar(64) null`],
  },
  {
    // Cancellation: a CANCELLED status, and a column where `cancel()` asks the worker running
    // a task to stop it (the worker's heartbeat reads it twice a second). And when each worker
    // last made progress (a claim or a stored outcome), for `status`.
    name: '0003_cancel',
    up: (dialect) => {
      const finishedIndex = `create index ${T}_finished_idx on ${T} (finished_at) where status in ('SUCCESSFUL', 'FAILED', 'CANCELLED')`;
      switch (dialect) {
        case 'postgresql':
          return [
            `alter table ${T} drop constraint ${T}_status_check`,
            `alter table ${T} add constraint ${T}_status_check check (status in (${STATUSES}))`,
            `alter table ${T} add column cancel_requested_at timestamptz null`,
            `alter table ${WORKER_TABLE} add column last_progress_at timestamptz null`,
            `drop index ${T}_finished_idx`,
            finishedIndex,
          ];
        case 'mysql':
          // The finished index (status, finished_at) covers CANCELLED already.
          return [
            `alter table ${T} drop constraint ${T}_status_check`,
            `alter table ${T} add constraint ${T}_status_check check (status in (${STATUSES}))`,
            `alter table ${T} add column cancel_requested_at datetime(6) null`,
            `alter table ${WORKER_TABLE} add column last_progress_at datetime(6) null`,
          ];
        case 'sqlite':
          // SQLite cannot change a CHECK constraint: rebuild the table (its documented procedure).
          return [
            `create table ${T}_new ${columns('datetime', STATUSES)}`,
            `insert into ${T}_new (${COLUMN_NAMES}, claim_token) select ${COLUMN_NAMES}, claim_token from ${T}`,
            `drop table ${T}`,
            `alter table ${T}_new rename to ${T}`,
            ...INDEXES.map((index) =>
              index.includes(`${T}_finished_idx`) ? finishedIndex : index,
            ),
            `alter table ${WORKER_TABLE} add column last_progress_at datetime null`,
          ];
      }
    },
  },
  {
    // Task metadata (`result.metadata`): a JSON object of string values set at enqueue, e.g. the
    // trace context that @djtasks/opentelemetry carries from the producer to the worker.
    name: '0004_metadata',
    up: (dialect) => [
      dialect === 'mysql'
        ? `alter table ${T} add column metadata longtext not null default ('{}')`
        : `alter table ${T} add column metadata text not null default '{}'`,
    ],
  },
  {
    // Unique tasks: at most one READY or RUNNING row per backend, task name and unique key,
    // enforced by the database (an enqueue inserts with ON CONFLICT DO NOTHING, then reads the
    // holder), so concurrent enqueues from any number of processes queue one task.
    // Schedules: the last tick each periodic task fired; a worker fires tick T by moving
    // last_tick_at forward to T in the transaction that inserts the task, so each tick is
    // enqueued once however many workers race for it.
    name: '0005_unique_key_schedules',
    up: (dialect) => {
      if (dialect === 'mysql') {
        // No partial unique index: a generated column holds the key only while the row is
        // READY or RUNNING (NULL otherwise, and NULLs never collide in a unique index).
        return [
          `alter table ${T} add column unique_key varchar(255) null`,
          `alter table ${T} add column unique_active varchar(255) as ` +
            `(case when status in ('READY', 'RUNNING') then unique_key end) virtual`,
          `create unique index ${T}_unique_key_idx on ${T} (backend_name, task_name, unique_active)`,
          `create table ${SCHEDULE_TABLE} (
  backend_name varchar(64) not null,
  name varchar(255) not null,
  last_tick_at datetime(6) not null,
  last_task_id varchar(64) null,
  primary key (backend_name, name)
) ${MYSQL_TABLE_OPTIONS}`,
        ];
      }
      const ts = dialect === 'postgresql' ? 'timestamptz' : 'datetime';
      return [
        `alter table ${T} add column unique_key varchar(255) null`,
        `create unique index ${T}_unique_key_idx on ${T} (backend_name, task_name, unique_key) ` +
          `where unique_key is not null and status in ('READY', 'RUNNING')`,
        `create table ${SCHEDULE_TABLE} (
  backend_name varchar(64) not null,
  name varchar(255) not null,
  last_tick_at ${ts} not null,
  last_task_id varchar(64) null,
  primary key (backend_name, name)
)`,
      ];
    },
  },
  {
    // The task admin API (listResults): newest-first keyset pages, unfiltered, by status, or by
    // queue and status, read from an index however many finished rows the table keeps.
    name: '0006_admin_indexes',
    up: () => [
      `create index ${T}_enqueued_idx on ${T} (backend_name, enqueued_at, id)`,
      `create index ${T}_status_enqueued_idx on ${T} (backend_name, status, enqueued_at, id)`,
      `create index ${T}_queue_enqueued_idx on ${T} (backend_name, queue_name, status, enqueued_at, id)`,
    ],
  },
  {
    // Plans that do not depend on statistics (see sql/claim.ts): each claim filters on exactly
    // the leading columns of one partial index in claim order, so that a planner without
    // statistics (a table right after a burst, before autovacuum analyzed it) has no index to
    // prefer that would need a sort of every READY row. Recovery reads expired leases of one
    // backend in lease order the same way. The indexes they replace would only compete.
    name: '0007_claim_indexes',
    up: (dialect) =>
      dialect === 'mysql'
        ? [
            // No partial indexes: the status follows the columns the claim compares for equality.
            `create index ${T}_ready_queue_idx on ${T} (backend_name, queue_name, status, priority desc, available_at, id)`,
            `create index ${T}_ready_backend_idx on ${T} (backend_name, status, priority desc, available_at, id)`,
            `create index ${T}_running_idx on ${T} (backend_name, status, lease_expires_at)`,
            `drop index ${T}_ready_idx on ${T}`,
            `drop index ${T}_queue_idx on ${T}`,
            `drop index ${T}_lease_idx on ${T}`,
          ]
        : [
            `create index ${T}_ready_queue_idx on ${T} (backend_name, queue_name, priority desc, available_at, id) where status = 'READY'`,
            `create index ${T}_ready_backend_idx on ${T} (backend_name, priority desc, available_at, id) where status = 'READY'`,
            `create index ${T}_running_idx on ${T} (backend_name, lease_expires_at) where status = 'RUNNING'`,
            `drop index ${T}_ready_idx`,
            `drop index ${T}_queue_idx`,
            `drop index ${T}_lease_idx`,
          ],
  },
  {
    // The task admin API by unique key, finished rows included (0005's unique index holds only
    // READY and RUNNING ones): an exact key, a key prefix, and a schedule's recent ticks (keyed
    // `schedule:<name>:<ISO tick>`, so newest tick = greatest key). Only keyed rows are in it.
    // PostgreSQL's pattern opclass serves `like 'prefix%'` whatever the database's collation.
    name: '0008_unique_key_index',
    // MariaDB/MySQL have no partial indexes: there it holds every row (NULL keys first).
    up: (dialect) => [
      dialect === 'mysql'
        ? `create index ${T}_key_enqueued_idx on ${T} (backend_name, unique_key, enqueued_at)`
        : `create index ${T}_key_enqueued_idx on ${T} (backend_name, unique_key${dialect === 'postgresql' ? ' varchar_pattern_ops' : ''}, enqueued_at) where unique_key is not null`,
    ],
  },
];

/**
 * Apply the djtasks migrations that the database of `target` (an `EntityManager`, e.g. `orm.em`) has not had yet, each in its own
 * transaction, recording them in `djtasks_migrations`. Safe to run from several processes
 * at once. Resolves with the names it applied.
 *
 * MariaDB and MySQL commit every DDL statement on its own, so a migration cut halfway cannot
 * roll back there: each of its statements is recorded as `name#n` once done (and the records
 * replaced by the name at the end), so the next run goes on from the statement that failed.
 */
export async function migrate(target: AnyEntityManager | EntityManager): Promise<string[]> {
  const em = target as unknown as EntityManager;
  const dialect = dialectOf(em);
  const ts =
    dialect === 'postgresql' ? 'timestamptz' : dialect === 'mysql' ? 'datetime(6)' : 'datetime';
  const fork = em.fork();
  await fork.execute(
    `create table if not exists ${MIGRATIONS_TABLE} (name varchar(255) not null primary key, executed_at ${ts} not null)`,
    [],
    'run',
  );
  if (dialect === 'mysql') return migrateStepByStep(fork);
  const applied: string[] = [];
  for (const migration of DJTASKS_MIGRATIONS) {
    await fork.transactional(async (tem) => {
      if (dialect === 'postgresql') {
        await tem.execute('select pg_advisory_xact_lock(?)', [726_173_001], 'all');
      }
      const done = await tem.execute(`select name from ${MIGRATIONS_TABLE} where name = ?`, [
        migration.name,
      ]);
      if (done.length > 0) return;
      for (const statement of migration.up(dialect)) await tem.execute(statement, [], 'run');
      await tem.execute(
        `insert into ${MIGRATIONS_TABLE} (name, executed_at) values (?, ?)`,
        [migration.name, dialect === 'sqlite' ? Date.now() : new Date()],
        'run',
      );
      applied.push(migration.name);
    });
  }
  return applied;
}

/** How long `migrate()` waits on MariaDB/MySQL for another process that is migrating, in seconds. */
const MYSQL_LOCK_WAIT_S = 300;

async function migrateStepByStep(em: EntityManager): Promise<string[]> {
  const applied: string[] = [];
  // A transaction only to keep one connection: the named lock belongs to the session, and
  // every DDL statement commits on its own whatever the transaction says.
  await em.transactional(async (tem) => {
    const locked = await tem.execute<{ locked: unknown }[]>(
      `select get_lock('djtasks_migrate', ?) as locked`,
      [MYSQL_LOCK_WAIT_S],
    );
    if (Number(locked[0]?.locked) !== 1) {
      throw new Error(
        `djtasks migrate: another process held the migration lock for ${MYSQL_LOCK_WAIT_S} s`,
      );
    }
    try {
      const rows = await tem.execute<{ name: string }[]>(`select name from ${MIGRATIONS_TABLE}`);
      const done = new Set(rows.map((row) => row.name));
      for (const migration of DJTASKS_MIGRATIONS) {
        if (done.has(migration.name)) continue;
        for (const [i, statement] of migration.up('mysql').entries()) {
          const step = `${migration.name}#${i + 1}`;
          if (done.has(step)) continue;
          await tem.execute(statement, [], 'run');
          await tem.execute(
            `insert into ${MIGRATIONS_TABLE} (name, executed_at) values (?, ?)`,
            [step, new Date()],
            'run',
          );
        }
        await tem.execute(
          `insert into ${MIGRATIONS_TABLE} (name, executed_at) values (?, ?)`,
          [migration.name, new Date()],
          'run',
        );
        await tem.execute(
          `delete from ${MIGRATIONS_TABLE} where name like ?`,
          [`${migration.name}#%`],
          'run',
        );
        applied.push(migration.name);
      }
    } finally {
      await tem.execute(`select release_lock('djtasks_migrate')`);
    }
  });
  return applied;
}

function platformDialect(driver: { getPlatform(): object }): DialectName {
  const platform = driver.getPlatform().constructor.name;
  if (/postgre/i.test(platform)) return 'postgresql';
  return /mysql|mariadb/i.test(platform) ? 'mysql' : 'sqlite';
}

/**
 * The djtasks schema as a MikroORM migration, for an app that runs its own migrator: add
 * `{ name: 'Djtasks0001TaskResult', class: Djtasks0001TaskResult }` (then every later
 * `Djtasks000N…` class, in order) to its `migrationsList`.
 */
export class Djtasks0001TaskResult extends Migration {
  override name = 'Djtasks0001TaskResult';

  override up(): void {
    for (const statement of DJTASKS_MIGRATIONS[0]!.up(platformDialect(this.driver)))
      this.addSql(statement);
  }

  override down(): void {
    this.addSql(`drop table if exists ${T}`);
    this.addSql(`drop table if exists ${WORKER_TABLE}`);
  }
}

/** The claim token column (fencing by attempt), as a MikroORM migration; after {@link Djtasks0001TaskResult}. */
export class Djtasks0002ClaimToken extends Migration {
  override name = 'Djtasks0002ClaimToken';

  override up(): void {
    for (const statement of DJTASKS_MIGRATIONS[1]!.up(platformDialect(this.driver)))
      this.addSql(statement);
  }
}

/** The CANCELLED status and `cancel_requested_at`, as a MikroORM migration; after {@link Djtasks0002ClaimToken}. */
export class Djtasks0003Cancel extends Migration {
  override name = 'Djtasks0003Cancel';

  override up(): void {
    for (const statement of DJTASKS_MIGRATIONS[2]!.up(platformDialect(this.driver)))
      this.addSql(statement);
  }
}

/** The task metadata column, as a MikroORM migration; after {@link Djtasks0003Cancel}. */
export class Djtasks0004Metadata extends Migration {
  override name = 'Djtasks0004Metadata';

  override up(): void {
    for (const statement of DJTASKS_MIGRATIONS[3]!.up(platformDialect(this.driver)))
      this.addSql(statement);
  }
}

/** Unique keys and the schedule table, as a MikroORM migration; after {@link Djtasks0004Metadata}. */
export class Djtasks0005UniqueKeySchedules extends Migration {
  override name = 'Djtasks0005UniqueKeySchedules';

  override up(): void {
    const migration = DJTASKS_MIGRATIONS.find((m) => m.name === '0005_unique_key_schedules')!;
    for (const statement of migration.up(platformDialect(this.driver))) this.addSql(statement);
  }
}

/** The indexes of the task admin API, as a MikroORM migration; after {@link Djtasks0005UniqueKeySchedules}. */
export class Djtasks0006AdminIndexes extends Migration {
  override name = 'Djtasks0006AdminIndexes';

  override up(): void {
    const migration = DJTASKS_MIGRATIONS.find((m) => m.name === '0006_admin_indexes')!;
    for (const statement of migration.up(platformDialect(this.driver))) this.addSql(statement);
  }
}

/** The claim and recovery indexes, as a MikroORM migration; after {@link Djtasks0006AdminIndexes}. */
export class Djtasks0007ClaimIndexes extends Migration {
  override name = 'Djtasks0007ClaimIndexes';

  override up(): void {
    const migration = DJTASKS_MIGRATIONS.find((m) => m.name === '0007_claim_indexes')!;
    for (const statement of migration.up(platformDialect(this.driver))) this.addSql(statement);
  }
}

/** The unique key index of the task admin API, as a MikroORM migration; after {@link Djtasks0007ClaimIndexes}. */
export class Djtasks0008UniqueKeyIndex extends Migration {
  override name = 'Djtasks0008UniqueKeyIndex';

  override up(): void {
    const migration = DJTASKS_MIGRATIONS.find((m) => m.name === '0008_unique_key_index')!;
    for (const statement of migration.up(platformDialect(this.driver))) this.addSql(statement);
  }
}
