import {
  DEFAULT_TASK_BACKEND_ALIAS,
  DEFAULT_TASK_PRIORITY,
  DEFAULT_TASK_QUEUE_NAME,
} from './constants.ts';
import { taskBackends } from './backend-registry.ts';
import type { BaseTaskBackend } from './backends/base.ts';
import type { TaskContext } from './context.ts';
import { InvalidTask, TaskResultMismatch } from './exceptions.ts';
import type { JsonValue } from './json.ts';
import { hasTaskInstrumentation, instrumentEnqueue } from './instrumentation.ts';
import { registerTask } from './task-registry.ts';
import type { TaskResult } from './result.ts';
import { defaultBackoff, type Backoff } from './retry.ts';
import { checkMaxAttempts, checkName, checkPriority, checkRunAfter } from './validation.ts';

/** The arguments a task accepts: JSON values only, so that they survive any backend. */
export type TaskArgs = readonly JsonValue[];
/** What a task may return: a JSON value, or nothing (stored as `null`). */
export type TaskReturn = JsonValue | void | undefined;

/**
 * Any task, whatever its arguments and return value: what registries and backends hold.
 * (`func` takes the task's own parameters, and a function's parameters only narrow, so no
 * narrower type admits every task.)
 */
export type AnyTask = Task<any, unknown, any>;

/** Options of `task(options, fn)`. */
export interface TaskOptions {
  /** The stable, unique name workers find the task by. @defaultValue the function's name */
  name?: string;
  /** A whole number from -100 to 100; larger runs sooner. @defaultValue 0 */
  priority?: number;
  /** The queue to put it on. @defaultValue "default" */
  queueName?: string;
  /** The alias of the backend that runs it. @defaultValue "default" */
  backend?: string;
  /** Pass a `TaskContext` as the function's first argument. @defaultValue false */
  takesContext?: boolean;
  /** How many times to attempt it before it is FAILED. @defaultValue 1 */
  maxAttempts?: number;
  /** The delay before each further attempt. @defaultValue exponential from 1 s, capped at 1 h, with jitter */
  backoff?: Backoff;
  /**
   * Stop an attempt that runs longer than this many seconds: its `signal` aborts with a
   * `TaskTimeout`, the attempt is recorded with that error, and it is retried if attempts are
   * left. Set here only, not through `using()`. @defaultValue no timeout
   */
  timeout?: number;
}

/** What `using()` may change. */
export interface TaskUsingOptions {
  priority?: number;
  queueName?: string;
  /** Do not run before this time; `null` clears a previously set time. */
  runAfter?: Date | null;
  backend?: string;
  /**
   * Make the task unique while it waits or runs: enqueueing a task with the same name and
   * key while one is READY or RUNNING returns that one's result and queues nothing. The key
   * is free again once that task has finished. `null` clears it. Needs a backend with
   * `supportsUniqueKey`.
   */
  uniqueKey?: string | null;
}

/** The longest unique key, in characters. */
export const TASK_UNIQUE_KEY_MAX_LENGTH = 255;

interface TaskFields {
  name: string;
  priority: number;
  queueName: string;
  backend: string;
  runAfter: Date | null;
  takesContext: boolean;
  maxAttempts: number;
  backoff: Backoff;
  /** Seconds; `null` (or absent) for none. */
  timeout?: number | null;
  /** `null` (or absent) for none. */
  uniqueKey?: string | null;
  func: (...args: any[]) => unknown;
}

/**
 * A function that runs in the background, with where and how to run it. Immutable:
 * `using()` returns a changed copy.
 *
 * `TArgs` are the arguments `enqueue` takes, `TReturn` what the function resolves to, and
 * `TCallArgs` the function's own parameters (with the `TaskContext` first if it takes one).
 */
export class Task<
  TArgs extends TaskArgs = any,
  TReturn = unknown,
  TCallArgs extends readonly unknown[] = TArgs,
> {
  readonly name: string;
  readonly priority: number;
  readonly queueName: string;
  readonly backend: string;
  readonly runAfter: Date | null;
  readonly takesContext: boolean;
  readonly maxAttempts: number;
  readonly backoff: Backoff;
  /** The longest an attempt may run, in seconds, or `null`. */
  readonly timeout: number | null;
  /** While a task with this name and key is READY or RUNNING, enqueueing returns it; or `null`. */
  readonly uniqueKey: string | null;
  readonly func: (...args: TCallArgs) => TReturn | Promise<TReturn>;

  /** Build a task without registering or validating it; use `task()` to define one. */
  constructor(fields: TaskFields) {
    this.name = fields.name;
    this.priority = fields.priority;
    this.queueName = fields.queueName;
    this.backend = fields.backend;
    this.runAfter = fields.runAfter === null ? null : new Date(fields.runAfter.getTime());
    this.takesContext = fields.takesContext;
    this.maxAttempts = fields.maxAttempts;
    this.backoff = fields.backoff;
    this.timeout = fields.timeout ?? null;
    this.uniqueKey = fields.uniqueKey ?? null;
    this.func = fields.func as (...args: TCallArgs) => TReturn | Promise<TReturn>;
    Object.freeze(this);
  }

  /** Return a validated copy with the given changes (an equal copy with none); this task is left unchanged. */
  using(changes: TaskUsingOptions = {}): Task<TArgs, TReturn, TCallArgs> {
    const allowed = new Set(['priority', 'queueName', 'runAfter', 'backend', 'uniqueKey']);
    for (const key of Object.keys(changes)) {
      if (key === 'timeout') {
        throw new InvalidTask(
          `using() does not accept 'timeout'; a timeout is part of the definition: task({ timeout: seconds }, fn).`,
        );
      }
      if (!allowed.has(key)) {
        throw new InvalidTask(
          `using() does not accept '${key}'; it changes only priority, queueName, runAfter, backend and uniqueKey.`,
        );
      }
    }
    const next = new Task<TArgs, TReturn, TCallArgs>({
      ...this,
      priority: changes.priority ?? this.priority,
      queueName: changes.queueName ?? this.queueName,
      backend: changes.backend ?? this.backend,
      runAfter: changes.runAfter === undefined ? this.runAfter : validRunAfter(changes.runAfter),
      uniqueKey:
        changes.uniqueKey === undefined ? this.uniqueKey : validUniqueKey(changes.uniqueKey),
    });
    next.getBackend().validateTask(next);
    return next;
  }

  /** Validate the task against its backend and enqueue one run with `args`. */
  async enqueue(...args: TArgs): Promise<TaskResult<TReturn>> {
    const backend = this.getBackend();
    backend.validateTask(this);
    if (!hasTaskInstrumentation()) return backend.enqueue(this, args);
    const [result] = await instrumentEnqueue(this, 1, async () => [
      await backend.enqueue(this, args),
    ]);
    return result as TaskResult<TReturn>;
  }

  /** Enqueue one run per entry of `argsList`; backends that can do it insert them all at once. */
  async enqueueMany(argsList: readonly TArgs[]): Promise<TaskResult<TReturn>[]> {
    const backend = this.getBackend();
    backend.validateTask(this);
    if (!hasTaskInstrumentation()) return backend.enqueueMany(this, argsList);
    const results = await instrumentEnqueue(this, argsList.length, () =>
      backend.enqueueMany(this, argsList),
    );
    return results as TaskResult<TReturn>[];
  }

  /** Fetch the result with `id`; it must belong to this task. */
  async getResult(id: string): Promise<TaskResult<TReturn>> {
    const result = await this.getBackend().getResult(id);
    if (result.task.func !== (this.func as unknown)) {
      throw new TaskResultMismatch(`Task does not match (received '${result.task.name}')`);
    }
    return result as TaskResult<TReturn>;
  }

  /** Call the function directly, in this process, and resolve with what it returns. */
  async call(...args: TCallArgs): Promise<TReturn> {
    return this.func(...args);
  }

  /** The backend instance for this task's alias. */
  getBackend(): BaseTaskBackend<unknown> {
    return taskBackends.get(this.backend);
  }
}

function validRunAfter(runAfter: Date | null): Date | null {
  checkRunAfter(runAfter);
  return runAfter;
}

function validUniqueKey(uniqueKey: string | null): string | null {
  if (uniqueKey === null) return null;
  checkName('uniqueKey', uniqueKey);
  const length = [...uniqueKey].length;
  if (length > TASK_UNIQUE_KEY_MAX_LENGTH) {
    throw new InvalidTask(
      `uniqueKey must be at most ${TASK_UNIQUE_KEY_MAX_LENGTH} characters (got ${length}: '${uniqueKey.slice(0, 40)}…').`,
    );
  }
  if (uniqueKey.includes('\0')) {
    throw new InvalidTask(
      `uniqueKey must not contain a NUL character (got ${JSON.stringify(uniqueKey)}).`,
    );
  }
  return uniqueKey;
}

/**
 * `task` with the fields `using()` may change replaced, without validating it against the
 * configuration: for a task that was validated when it was enqueued and is rebuilt from
 * stored data or for a retry, so that a queue or backend removed from the configuration
 * since then cannot make it unreadable. Returns `task` itself when nothing changes.
 */
export function rebuildTask<T extends AnyTask>(
  task: T,
  changes: {
    priority?: number;
    queueName?: string;
    backend?: string;
    runAfter?: Date | null;
    uniqueKey?: string | null;
  },
): T {
  const priority = changes.priority ?? task.priority;
  const uniqueKey = changes.uniqueKey === undefined ? task.uniqueKey : changes.uniqueKey;
  const queueName = changes.queueName ?? task.queueName;
  const backend = changes.backend ?? task.backend;
  const runAfter = changes.runAfter === undefined ? task.runAfter : changes.runAfter;
  if (
    priority === task.priority &&
    queueName === task.queueName &&
    backend === task.backend &&
    uniqueKey === task.uniqueKey &&
    (runAfter?.getTime() ?? null) === (task.runAfter?.getTime() ?? null)
  ) {
    return task;
  }
  return new Task({ ...task, priority, queueName, backend, runAfter, uniqueKey }) as T;
}

/** The longest timeout: Node's timers hold at most 2^31 - 1 milliseconds. */
const MAX_TIMEOUT_SECONDS = Math.floor((2 ** 31 - 1) / 1000);

const OPTION_KEYS = new Set([
  'name',
  'priority',
  'queueName',
  'backend',
  'takesContext',
  'maxAttempts',
  'backoff',
  'timeout',
]);

function definitionSite(): string {
  const holder: { stack?: string } = {};
  Error.captureStackTrace(holder, task);
  const frame = holder.stack?.split('\n')[1]?.trim() ?? '';
  return frame.replace(/^at\s+/, '') || '(unknown location)';
}

/** Define a task from a function; its name is the function's name. */
export function task<TArgs extends TaskArgs, TReturn extends TaskReturn>(
  fn: (...args: TArgs) => TReturn | Promise<TReturn>,
): Task<TArgs, TReturn>;
/** Define a task whose function takes a `TaskContext` first. */
export function task<TArgs extends TaskArgs, TReturn extends TaskReturn>(
  options: TaskOptions & { takesContext: true },
  fn: (context: TaskContext, ...args: TArgs) => TReturn | Promise<TReturn>,
): Task<TArgs, TReturn, [TaskContext, ...TArgs]>;
/** Define a task with options. */
export function task<TArgs extends TaskArgs, TReturn extends TaskReturn>(
  options: TaskOptions & { takesContext?: false },
  fn: (...args: TArgs) => TReturn | Promise<TReturn>,
): Task<TArgs, TReturn>;
export function task(
  optionsOrFn: TaskOptions | ((...args: any[]) => unknown),
  maybeFn?: (...args: any[]) => unknown,
): AnyTask {
  const [options, fn] =
    typeof optionsOrFn === 'function' ? [{}, optionsOrFn] : [optionsOrFn, maybeFn];
  if (typeof options !== 'object' || options === null) {
    throw new InvalidTask(
      `task() options must be an object (got ${options === null ? 'null' : typeof options}).`,
    );
  }
  if ('runAfter' in options) {
    throw new TypeError(
      'runAfter cannot be defined statically with task(). Use .using({ runAfter }) to set it dynamically.',
    );
  }
  for (const key of Object.keys(options)) {
    if (!OPTION_KEYS.has(key)) {
      throw new InvalidTask(
        `task() does not accept the option '${key}' (accepted: ${[...OPTION_KEYS].join(', ')}).`,
      );
    }
  }
  if (typeof fn !== 'function') {
    throw new InvalidTask(`task() needs a function to run (got ${typeof fn}).`);
  }
  const name = options.name ?? fn.name;
  if (name === '') {
    throw new InvalidTask(
      "Task name is required for anonymous functions: task({ name: 'sendEmail' }, fn).",
    );
  }
  checkName('Task name', name);
  const priority = options.priority ?? DEFAULT_TASK_PRIORITY;
  checkPriority(priority);
  const queueName = options.queueName ?? DEFAULT_TASK_QUEUE_NAME;
  checkName('queueName', queueName);
  const backend = options.backend ?? DEFAULT_TASK_BACKEND_ALIAS;
  checkName('backend', backend);
  const maxAttempts = options.maxAttempts ?? 1;
  checkMaxAttempts(maxAttempts);
  const backoff = options.backoff ?? defaultBackoff;
  if (typeof backoff !== 'function') {
    throw new InvalidTask(
      `backoff must be a function of (attempt, error) (got ${typeof backoff}).`,
    );
  }
  const timeout = options.timeout ?? null;
  if (
    timeout !== null &&
    (typeof timeout !== 'number' || !Number.isFinite(timeout) || timeout <= 0)
  ) {
    throw new InvalidTask(`timeout must be a positive number of seconds (got ${String(timeout)}).`);
  }
  if (timeout !== null && timeout > MAX_TIMEOUT_SECONDS) {
    throw new InvalidTask(
      `timeout must be at most ${MAX_TIMEOUT_SECONDS} seconds (about 24.8 days, the longest timer Node keeps) (got ${timeout}).`,
    );
  }
  const takesContext = options.takesContext ?? false;
  if (takesContext && fn.length === 0) {
    throw new InvalidTask(
      `Task '${name}' is defined with takesContext: true, but its function declares no parameter ` +
        `for the TaskContext: write (context, ...args) => ….`,
    );
  }
  const defined = new Task({
    name,
    priority,
    queueName,
    backend,
    runAfter: null,
    takesContext,
    maxAttempts,
    backoff,
    timeout,
    func: fn,
  });
  registerTask(defined, definitionSite());
  // The overloads above give the task its types from `fn`; this body only sees them erased.
  // eslint-disable-next-line @typescript-eslint/no-unsafe-return
  return defined;
}
