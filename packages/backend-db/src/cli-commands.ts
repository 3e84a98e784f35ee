/** `djtasks migrate | prune | status | schedules`: argument parsing and output over the admin API. */
import { parseArgs } from 'node:util';
import type { EntityManager } from '@mikro-orm/sql';
import { prune, status } from './admin.ts';
import { databaseBackend, number, queueList, UsageError } from './cli-args.ts';
import { openDatabase } from './connection.ts';
import { migrate } from './migrations.ts';
import { scheduleReport } from './schedule-report.ts';
import { selectHeldUniqueKeys } from './sql/insert.ts';

export async function runMigrate(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      backend: { type: 'string', default: 'default' },
      'create-database': { type: 'boolean', default: false },
    },
  });
  const backend = databaseBackend(values.backend);
  if (values['create-database']) {
    const { database, sqlite } = backend.options;
    if (database === undefined) {
      throw new UsageError(
        `--create-database: backend '${backend.alias}' uses the app's own MikroORM (option orm), whose database the app manages.`,
      );
    }
    // Its own connection, so that the backend's (which refuses a missing database) is not opened first.
    const orm = await openDatabase(database, { sqlite, createDatabase: true });
    try {
      return reportMigrated(await migrate(orm.em));
    } finally {
      await orm.close();
    }
  }
  return reportMigrated(await migrate((await backend.getOrm()).em));
}

function reportMigrated(applied: string[]): number {
  console.log(applied.length ? `Applied: ${applied.join(', ')}` : 'No migrations to apply.');
  return 0;
}

export async function runPrune(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      backend: { type: 'string', default: 'default' },
      'min-age-days': { type: 'string', default: '14' },
      'failed-min-age-days': { type: 'string' },
      queue: { type: 'string', default: '*' },
      'dry-run': { type: 'boolean', default: false },
    },
  });
  const zeroOrMore = (n: number) => n >= 0;
  const count = await prune(databaseBackend(values.backend), {
    minAgeDays: number('min-age-days', values['min-age-days'], zeroOrMore, 'zero or greater'),
    failedMinAgeDays: number(
      'failed-min-age-days',
      values['failed-min-age-days'],
      zeroOrMore,
      'zero or greater',
    ),
    queues: queueList(values.queue),
    dryRun: values['dry-run'],
  });
  console.log(
    values['dry-run'] ? `Would delete ${count} task result(s)` : `Deleted ${count} task result(s)`,
  );
  return 0;
}

export async function runStatus(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      backend: { type: 'string', default: 'default' },
      json: { type: 'boolean', default: false },
    },
  });
  const backend = databaseBackend(values.backend);
  const report = await status(backend);
  const em = (await backend.getOrm()).em.fork() as unknown as EntityManager;
  const uniqueKeys = await selectHeldUniqueKeys(em, backend.alias, 20);
  if (values.json) {
    console.log(JSON.stringify({ ...report, uniqueKeys }, null, 2));
    return 0;
  }
  console.log('queue\tstatus\tcount');
  for (const row of report.counts) console.log(`${row.queue}\t${row.status}\t${row.count}`);
  const age = report.oldestReadyAt
    ? `${((Date.now() - report.oldestReadyAt.getTime()) / 1000).toFixed(1)} s`
    : 'none ready';
  console.log(`oldest ready task: ${age}`);
  console.log(`workers seen in the last 5 minutes: ${report.workers.length}`);
  for (const w of report.workers) {
    console.log(
      `  ${w.workerId}\t${w.hostname}\tpid ${w.pid}\trunning ${w.running}\tlast seen ${w.lastSeenAt?.toISOString() ?? '?'}` +
        `\tlast progress ${w.lastProgressAt ? `${((Date.now() - w.lastProgressAt.getTime()) / 1000).toFixed(1)} s ago` : 'none yet'}`,
    );
  }
  if (uniqueKeys.length > 0) {
    console.log(`unique keys held (latest ${uniqueKeys.length}):`);
    for (const k of uniqueKeys)
      console.log(`  ${k.taskName}\t${k.uniqueKey}\t${k.id}\t${k.status}`);
  }
  return 0;
}

export async function runSchedulesCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      backend: { type: 'string', default: 'default' },
      json: { type: 'boolean', default: false },
    },
  });
  const reports = await scheduleReport(databaseBackend(values.backend));
  if (values.json) {
    console.log(JSON.stringify(reports, null, 2));
    return 0;
  }
  if (reports.length === 0) {
    console.log('No schedules in the configuration.');
    return 0;
  }
  console.log('schedule\ttask\tcron\ttimezone\tcatch-up\tlast run\tlast task\tnext run');
  for (const r of reports) {
    const last = r.lastRunAt
      ? `${r.lastRunAt.toISOString()}\t${r.lastTaskId} ${r.lastTaskStatus ?? '(pruned)'}`
      : 'never\t-';
    console.log(
      `${r.name}\t${r.task}\t${r.cron}\t${r.timezone}\t${r.catchUp}\t${last}\t${r.nextRunAt.toISOString()}` +
        (r.problem ? `\t(not fired by this backend's workers: ${r.problem})` : ''),
    );
  }
  return 0;
}

/** Options of {@link main}. */
