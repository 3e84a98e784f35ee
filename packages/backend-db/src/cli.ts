/**
 * The `djtasks` command. It parses arguments, loads the tasks configuration and its task
 * modules, and hands over to `Worker`, `migrate`, `prune` or `status`; it holds no queue logic.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { EntityManager } from '@mikro-orm/sql';
import {
  configureTasks,
  InvalidSchedule,
  InvalidTaskBackend,
  taskBackends,
  type TasksConfig,
} from '@djtasks/tasks';
import { loadTaskModules } from '@djtasks/tasks/backend';
import { prune, status } from './admin.ts';
import { ADMIN_COMMANDS, ADMIN_HELP, AdminUsageError } from './cli-admin.ts';
import { DatabaseBackend } from './backend.ts';
import { openDatabase } from './connection.ts';
import { DatabaseConfigurationError } from './errors.ts';
import { commandLogger, LOG_FORMATS, logAttempts, type LogFormat } from './log-format.ts';
import { migrate } from './migrations.ts';
import { InvalidResultQuery } from './task-admin.ts';
import { scheduleReport } from './schedule-report.ts';
import { selectHeldUniqueKeys } from './sql/insert.ts';
import { Worker } from './worker.ts';

const USAGE = `Usage: djtasks [--config FILE] [-v N] [--log-format text|json] <command> [options]

Commands:
  worker    Run tasks: --backend NAME --queue Q[,Q…]|* --exclude-queues Q[,Q…] --concurrency N
            --prefetch N --batch --max-tasks N --worker-id ID --interval SECONDS --lease SECONDS
            --grace SECONDS (after a second SIGTERM/SIGINT, 5) --no-startup-delay
            --no-schedules (leave the periodic tasks to the other workers)
  migrate   Create or update the task tables: --backend NAME --create-database (create the
            database or SQLite file if it does not exist; never done otherwise)
  prune     Delete old finished results: --backend NAME --min-age-days N (14) --failed-min-age-days N
            --queue Q[,Q…]|* (*) --dry-run
  status    Counts by queue and status, oldest ready task, workers seen recently: --backend NAME --json
  list      List task results with filters (--status, --queue, --task, --worker, --error, --limit, --json)
  show      Show one task result with every attempt, error and traceback: ID [--json]
  retry     Retry FAILED or CANCELLED results: ID... [--json]
  cancel    Cancel READY or RUNNING results: ID... [--json]
  delete    Delete results that are not RUNNING: ID... [--json]
  schedules Periodic tasks of the configuration with their last and next run: --backend NAME --json
  (djtasks <command> --help for a command's options)

-v 0 logs warnings and errors, 1 (default) also start-up and shutdown, 2 also one line per
attempt (task id, name, attempt, queue, worker id, status, duration). --log-format json writes
JSON lines instead of text (also accepted after the command).

The configuration file (default: djtasks.config.ts, .js or .mjs in the current directory)
default-exports defineConfig({ backends, taskModules, schedules }).`;

const CONFIG_NAMES = [
  'djtasks.config.ts',
  'djtasks.config.mts',
  'djtasks.config.js',
  'djtasks.config.mjs',
];

class UsageError extends Error {
  override name = 'UsageError';
}

async function loadConfig(path: string | undefined): Promise<TasksConfig> {
  const file = path
    ? resolve(path)
    : CONFIG_NAMES.map((name) => resolve(name)).find((candidate) => existsSync(candidate));
  if (!file || !existsSync(file)) {
    throw new UsageError(
      path
        ? `Configuration file '${path}' does not exist.`
        : `No configuration file: pass --config FILE or create one of ${CONFIG_NAMES.join(', ')} in ${process.cwd()}.`,
    );
  }
  const module = (await import(pathToFileURL(file).href)) as { default?: TasksConfig };
  const config = module.default;
  if (!config || typeof config !== 'object' || typeof config.backends !== 'object') {
    throw new UsageError(
      `${file} must default-export the tasks configuration: export default defineConfig({ backends: { … } }).`,
    );
  }
  return config;
}

function databaseBackend(alias: string): DatabaseBackend {
  const backend = taskBackends.get(alias);
  if (!(backend instanceof DatabaseBackend)) {
    throw new UsageError(
      `Backend '${alias}' is not a database backend (it is ${backend.constructor.name}).`,
    );
  }
  return backend;
}

function number(
  option: string,
  value: string | undefined,
  check: (n: number) => boolean,
  rule: string,
): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || !check(n)) {
    throw new UsageError(`--${option}: must be ${rule} (got '${value}').`);
  }
  return n;
}

function queueList(value: string): string[] | '*' {
  if (value.trim() === '*') return '*';
  const queues = value
    .split(',')
    .map((q) => q.trim())
    .filter((q) => q !== '');
  if (queues.length === 0)
    throw new UsageError(`--queue: name at least one queue, or '*' (got '${value}').`);
  return queues;
}

async function runWorker(args: string[], options: MainOptions): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      backend: { type: 'string', default: 'default' },
      queue: { type: 'string', default: 'default' },
      'exclude-queues': { type: 'string', default: '' },
      concurrency: { type: 'string' },
      prefetch: { type: 'string' },
      batch: { type: 'boolean', default: false },
      'max-tasks': { type: 'string' },
      'worker-id': { type: 'string' },
      interval: { type: 'string' },
      lease: { type: 'string' },
      grace: { type: 'string' },
      'startup-delay': { type: 'boolean', default: true },
      schedules: { type: 'boolean', default: true },
    },
    allowNegative: true,
    strict: true,
  });
  const queues = queueList(values.queue);
  const excludeQueues = values['exclude-queues']
    .split(',')
    .map((q) => q.trim())
    .filter((q) => q !== '');
  if (excludeQueues.length > 0 && queues !== '*') {
    throw new UsageError('--exclude-queues can only be used with --queue=*');
  }
  const workerId = values['worker-id'];
  if (workerId !== undefined && (workerId.trim() === '' || workerId.length > 64)) {
    throw new UsageError(`--worker-id: must be 1 to 64 characters (got '${workerId}').`);
  }
  const interval = number(
    'interval',
    values.interval,
    (n) => n >= 0,
    'a finite number of seconds, zero or greater',
  );
  const lease = number(
    'lease',
    values.lease,
    (n) => n > 0,
    'a number of seconds greater than zero',
  );
  const grace = number(
    'grace',
    values.grace,
    (n) => n >= 0,
    'a number of seconds, zero or greater',
  );
  const abortGraceMs = grace === undefined ? 5000 : grace * 1000;
  const worker = new Worker({
    abortGraceMs,
    backend: databaseBackend(values.backend),
    queues,
    excludeQueues,
    concurrency: number(
      'concurrency',
      values.concurrency,
      (n) => Number.isInteger(n) && n > 0,
      'a whole number greater than zero',
    ),
    prefetch: number(
      'prefetch',
      values.prefetch,
      (n) => Number.isInteger(n) && n >= 0,
      'a whole number, zero or greater',
    ),
    batch: values.batch,
    maxTasks: number(
      'max-tasks',
      values['max-tasks'],
      (n) => Number.isInteger(n) && n > 0,
      'a whole number greater than zero',
    ),
    workerId,
    pollIntervalMs: interval === undefined ? undefined : interval * 1000,
    leaseMs: lease === undefined ? undefined : lease * 1000,
    startupDelay: values['startup-delay'],
    schedules: values.schedules,
  });
  let signals = 0;
  let forced = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    signals++;
    if (signals === 1) {
      console.error(
        `[djtasks] Received ${signal} - shutting down gracefully... (send it again to force)`,
      );
      void worker.stop();
    } else if (!forced) {
      forced = true;
      console.error(
        `[djtasks] Received ${signal} - aborting running tasks; exiting within ${abortGraceMs / 1000} s.`,
      );
      void worker.abort();
      // The worker releases tasks that ignore their signal once the grace period ends; if even
      // that cannot finish (the database does not answer), the process exits anyway.
      const deadline = setTimeout(() => {
        console.error(
          `[djtasks] The worker did not stop within ${(abortGraceMs + FORCED_EXIT_MARGIN_MS) / 1000} s of the second signal; exiting. ` +
            'Tasks it still held are taken back by other workers when their leases expire.',
        );
        options.exit?.(1);
      }, abortGraceMs + FORCED_EXIT_MARGIN_MS);
      deadline.unref();
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    await worker.run();
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  return forced ? 1 : 0;
}

async function runMigrate(args: string[]): Promise<number> {
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

async function runPrune(args: string[]): Promise<number> {
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

async function runStatus(args: string[]): Promise<number> {
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

async function runSchedulesCommand(args: string[]): Promise<number> {
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
export interface MainOptions {
  /**
   * End the process with a code (the `djtasks` binary passes `process.exit`): used when a
   * forced stop or the closing of connections cannot finish in time. Without it `main` only
   * resolves with the code.
   */
  exit?: (code: number) => void;
}

/** After the grace period of a forced stop, how long releasing tasks may take before the process exits anyway. */
const FORCED_EXIT_MARGIN_MS = 5000;
/** How long closing the database connections may take at the end of a command. */
const CLOSE_TIMEOUT_MS = 10_000;

const COMMANDS: Record<string, (args: string[], options: MainOptions) => Promise<number>> = {
  worker: runWorker,
  migrate: runMigrate,
  prune: runPrune,
  status: runStatus,
  ...ADMIN_COMMANDS,
  schedules: runSchedulesCommand,
};

/** Run the `djtasks` command with `argv` (without node and the script); resolves with the exit code. */
export async function main(argv: readonly string[], options: MainOptions = {}): Promise<number> {
  const args = [...argv];
  let configPath: string | undefined;
  let verbosity = 1;
  let logFormat: string = 'text';
  const formatAt = args.indexOf('--log-format');
  if (formatAt !== -1) logFormat = args.splice(formatAt, 2)[1] ?? '';
  const formatInline = args.findIndex((arg) => arg.startsWith('--log-format='));
  if (formatInline !== -1)
    logFormat = args.splice(formatInline, 1)[0]!.slice('--log-format='.length);
  if (!(LOG_FORMATS as readonly string[]).includes(logFormat)) {
    console.error(
      `djtasks: --log-format must be one of ${LOG_FORMATS.join(', ')} (got '${logFormat}')`,
    );
    return 2;
  }
  while (args[0]?.startsWith('-')) {
    const flag = args.shift()!;
    if (flag === '--config' || flag === '-c') configPath = args.shift();
    else if (flag.startsWith('--config=')) configPath = flag.slice('--config='.length);
    else if (flag === '-v' || flag === '--verbosity') verbosity = Number(args.shift() ?? '1');
    else if (flag === '--help' || flag === '-h') {
      console.log(USAGE);
      return 0;
    } else {
      console.error(`djtasks: unknown option '${flag}'\n\n${USAGE}`);
      return 2;
    }
  }
  const name = args.shift();
  const command = name === undefined ? undefined : COMMANDS[name];
  if (!command) {
    console.error(name === undefined ? USAGE : `djtasks: unknown command '${name}'\n\n${USAGE}`);
    return 2;
  }
  if (args.includes('--help') || args.includes('-h')) {
    console.log(ADMIN_HELP[name!] ?? USAGE);
    return 0;
  }
  const stopLoggingAttempts = name === 'worker' ? logAttempts() : undefined;
  try {
    const config = await loadConfig(configPath);
    configureTasks({
      ...config,
      logger: config.logger ?? commandLogger(logFormat as LogFormat, verbosity),
    });
    await loadTaskModules(taskBackends.taskModules);
    return await command(args, options);
  } catch (error) {
    if (
      error instanceof UsageError ||
      error instanceof AdminUsageError ||
      error instanceof InvalidResultQuery ||
      error instanceof DatabaseConfigurationError ||
      error instanceof InvalidTaskBackend ||
      error instanceof InvalidSchedule ||
      (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')
    ) {
      // A configuration error is final: say what is wrong and exit 2, do not retry.
      const cause = (error as Error).cause;
      const detail = cause instanceof Error ? `: ${cause.message}` : '';
      console.error(`djtasks ${name}: ${(error as Error).message}${detail}`);
      return 2;
    }
    console.error(`djtasks ${name}: failed:`, error);
    return 1;
  } finally {
    stopLoggingAttempts?.();
    await closeWithin(CLOSE_TIMEOUT_MS);
  }
}

/** Close every backend, giving up (with a warning) on connections that do not close in time. */
async function closeWithin(ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const closed = await Promise.race([
    taskBackends.close().then(
      () => true,
      (error: unknown) => {
        console.error('[djtasks] WARNING closing the database connections failed:', error);
        return true;
      },
    ),
    new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms))),
  ]);
  clearTimeout(timer);
  if (!closed) {
    console.error(
      `[djtasks] WARNING database connections did not close within ${ms / 1000} s; leaving them.`,
    );
  }
}
