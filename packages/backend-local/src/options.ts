import { availableParallelism } from 'node:os';
import type { ResourceLimits } from 'node:worker_threads';
import { InvalidTaskBackend } from '@djtasks/tasks';
import { resolveTaskModule } from '@djtasks/tasks/backend';

/** Options of `ThreadPoolBackend`, given as `options` in its configuration entry. */
export interface ThreadPoolBackendOptions {
  /** The number of worker threads, each running one task at a time. @defaultValue `os.availableParallelism()` */
  maxWorkers?: number;
  /**
   * How many finished results to keep in memory; the oldest finished are forgotten first.
   * READY and RUNNING results are always kept. @defaultValue 1000
   */
  maxResults?: number;
  /** How long `close()` lets running tasks finish before firing their `signal`. @defaultValue 10000 */
  closeTimeoutMs?: number;
  /**
   * How long a task whose `signal` fired (on `close()`, on its `timeout`, on `cancel()`) may
   * take to stop before its thread is terminated (and, outside `close()`, replaced). @defaultValue 1000
   */
  abortTimeoutMs?: number;
  /**
   * A module (path, `file:` URL or package name) whose default export runs once in each
   * thread before it takes tasks, e.g. to open a database connection. It may return a
   * function that runs when the thread stops on `close()`. See `ThreadSetup`.
   */
  threadSetup?: string | URL;
  /** V8 heap limits of each thread, as `new Worker(..., { resourceLimits })`. */
  resourceLimits?: ResourceLimits;
}

/** What a `threadSetup` module's default export receives. */
export interface ThreadSetupContext {
  /** The backend's alias. */
  alias: string;
  /** The worker id this thread records in `TaskResult.workerIds`. */
  workerId: string;
  /** The thread's id (`worker_threads.threadId`). */
  threadId: number;
}

/** The default export of a `threadSetup` module; it may return a teardown function. */
export type ThreadSetup = (
  context: ThreadSetupContext,
) => void | (() => void | Promise<void>) | Promise<void | (() => void | Promise<void>)>;

/** The options after validation, with defaults filled in. */
export interface ThreadPoolSettings {
  maxWorkers: number;
  maxResults: number;
  closeTimeoutMs: number;
  abortTimeoutMs: number;
  threadSetup: string | null;
  resourceLimits: ResourceLimits | undefined;
}

/** The defaults of every option but `maxWorkers`, which depends on the machine. */
export const THREAD_POOL_DEFAULTS = {
  maxResults: 1000,
  closeTimeoutMs: 10_000,
  abortTimeoutMs: 1_000,
} as const;

const OPTION_NAMES = [
  'maxWorkers',
  'maxResults',
  'closeTimeoutMs',
  'abortTimeoutMs',
  'threadSetup',
  'resourceLimits',
] as const;

const RESOURCE_LIMIT_NAMES = [
  'maxOldGenerationSizeMb',
  'maxYoungGenerationSizeMb',
  'codeRangeSizeMb',
  'stackSizeMb',
] as const;

function wholeNumber(alias: string, name: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new InvalidTaskBackend(
      `Backend '${alias}' (ThreadPoolBackend): ${name} must be a whole number of at least ${min} (got ${describe(value)}).`,
    );
  }
  return value;
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'object' && value !== null)
    return Array.isArray(value) ? 'an array' : 'an object';
  return String(value);
}

/** Check `options` and fill in the defaults; throw `InvalidTaskBackend` naming the bad option. */
export function resolveOptions(alias: string, options: unknown): ThreadPoolSettings {
  const given = (options ?? {}) as Record<string, unknown>;
  if (typeof given !== 'object' || Array.isArray(given)) {
    throw new InvalidTaskBackend(
      `Backend '${alias}' (ThreadPoolBackend): options must be an object (got ${describe(options)}).`,
    );
  }
  for (const key of Object.keys(given)) {
    if (!(OPTION_NAMES as readonly string[]).includes(key)) {
      throw new InvalidTaskBackend(
        `Backend '${alias}' (ThreadPoolBackend) has no option '${key}' (options: ${OPTION_NAMES.join(', ')}).`,
      );
    }
  }
  const read = (name: (typeof OPTION_NAMES)[number], fallback: number, min: number): number =>
    given[name] === undefined ? fallback : wholeNumber(alias, name, given[name], min);
  return {
    maxWorkers: read('maxWorkers', availableParallelism(), 1),
    maxResults: read('maxResults', THREAD_POOL_DEFAULTS.maxResults, 0),
    closeTimeoutMs: read('closeTimeoutMs', THREAD_POOL_DEFAULTS.closeTimeoutMs, 0),
    abortTimeoutMs: read('abortTimeoutMs', THREAD_POOL_DEFAULTS.abortTimeoutMs, 0),
    threadSetup: readThreadSetup(alias, given.threadSetup),
    resourceLimits: readResourceLimits(alias, given.resourceLimits),
  };
}

function readThreadSetup(alias: string, value: unknown): string | null {
  if (value === undefined) return null;
  if (value instanceof URL || (typeof value === 'string' && value !== '')) {
    return resolveTaskModule(value);
  }
  throw new InvalidTaskBackend(
    `Backend '${alias}' (ThreadPoolBackend): threadSetup must be a module path, URL or package name (got ${describe(value)}).`,
  );
}

function readResourceLimits(alias: string, value: unknown): ResourceLimits | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidTaskBackend(
      `Backend '${alias}' (ThreadPoolBackend): resourceLimits must be an object (got ${describe(value)}).`,
    );
  }
  const limits: Record<string, number> = {};
  for (const [key, limit] of Object.entries(value)) {
    if (!(RESOURCE_LIMIT_NAMES as readonly string[]).includes(key)) {
      throw new InvalidTaskBackend(
        `Backend '${alias}' (ThreadPoolBackend): resourceLimits has no limit '${key}' (limits: ${RESOURCE_LIMIT_NAMES.join(', ')}).`,
      );
    }
    if (typeof limit !== 'number' || !Number.isFinite(limit) || limit <= 0) {
      throw new InvalidTaskBackend(
        `Backend '${alias}' (ThreadPoolBackend): resourceLimits.${key} must be a positive number (got ${describe(limit)}).`,
      );
    }
    limits[key] = limit;
  }
  return limits;
}
