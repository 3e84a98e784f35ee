/**
 * The `djtasks` command. It parses arguments, loads the tasks configuration and its task
 * modules, and hands over to `Worker`, `migrate`, `prune` or `status`; it holds no queue logic.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  configureTasks,
  InvalidSchedule,
  InvalidTaskBackend,
  taskBackends,
  type TasksConfig,
} from '@djtasks/tasks';
import { loadTaskModules } from '@djtasks/tasks/backend';
import { ADMIN_COMMANDS, ADMIN_HELP, AdminUsageError } from './cli-admin.ts';
import { UsageError, type MainOptions } from './cli-args.ts';
import { runMigrate, runPrune, runSchedulesCommand, runStatus } from './cli-commands.ts';
import { DatabaseConfigurationError } from './errors.ts';
import { commandLogger, LOG_FORMATS, logAttempts, type LogFormat } from './log-format.ts';
import { InvalidResultQuery } from './task-admin.ts';

export type { MainOptions } from './cli-args.ts';

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

/** How long closing the database connections may take at the end of a command. */
const CLOSE_TIMEOUT_MS = 10_000;

const COMMANDS: Record<string, (args: string[], options: MainOptions) => Promise<number>> = {
  // Loaded only for this command: the others never load the worker.
  worker: async (args, options) => (await import('./cli-worker.ts')).runWorker(args, options),
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
