/** What the `djtasks` commands share: a usage error, and parsing of the values of options. */
import { taskBackends } from '@djtasks/tasks';
import { DatabaseBackend } from './backend.ts';

/** A command line `djtasks` cannot use: printed, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** The `DatabaseBackend` of `alias`, or a {@link UsageError}. */
export function databaseBackend(alias: string): DatabaseBackend {
  const backend = taskBackends.get(alias);
  if (!(backend instanceof DatabaseBackend)) {
    throw new UsageError(
      `Backend '${alias}' is not a database backend (it is ${backend.constructor.name}).`,
    );
  }
  return backend;
}

/** The number an option holds, checked by `check` (`rule` says what it must be); undefined if not given. */
export function number(
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

/** A `--queue` value: queue names separated by commas, or `*`. */
export function queueList(value: string): string[] | '*' {
  if (value.trim() === '*') return '*';
  const queues = value
    .split(',')
    .map((q) => q.trim())
    .filter((q) => q !== '');
  if (queues.length === 0)
    throw new UsageError(`--queue: name at least one queue, or '*' (got '${value}').`);
  return queues;
}

/** Options of the command's `main`. */
export interface MainOptions {
  /**
   * End the process with a code (the `djtasks` binary passes `process.exit`): used when a
   * forced stop or the closing of connections cannot finish in time. Without it `main` only
   * resolves with the code.
   */
  exit?: (code: number) => void;
}

/** After the grace period of a forced stop, how long releasing tasks may take before the process exits anyway. */
