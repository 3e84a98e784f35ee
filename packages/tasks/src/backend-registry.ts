import type { BaseTaskBackend, TaskBackendClass } from './backends/base.ts';
import { ImmediateBackend } from './backends/immediate.ts';
import { DEFAULT_TASK_BACKEND_ALIAS, DEFAULT_TASK_QUEUE_NAME } from './constants.ts';
import { InvalidTaskBackend } from './exceptions.ts';
import { getTaskLogger, setTaskLogger, type TaskLogger } from './log.ts';
import { resolveTaskModule } from './modules.ts';
import { checkSchedules, type Schedule, type ScheduleConfig } from './schedules.ts';

/** The options a backend class is constructed with. */
export type BackendOptionsOf<C> = C extends new (init: infer I) => unknown
  ? I extends { options: infer O }
    ? O
    : never
  : never;

/** One backend in the configuration: its class, its queues and its own options. */
export interface BackendConfig<C extends TaskBackendClass = TaskBackendClass> {
  /** The backend class. */
  backend: C;
  /** The queue names it accepts; `[]` accepts any. @defaultValue ["default"] */
  queues?: readonly string[];
  /** Options for this backend class, checked against its type. */
  options?: BackendOptionsOf<C>;
}

/** The backends of a configuration, each checked against its own class's options. */
export type BackendsConfig<B extends Record<string, BackendConfig>> = B &
  NoInfer<{ [K in keyof B]: BackendConfig<B[K]['backend']> }>;

/** The tasks configuration: Django's `TASKS` setting as a typed object. */
export interface TasksConfig<
  B extends Record<string, BackendConfig> = Record<string, BackendConfig>,
> {
  /** Backends by alias; `default` is required. */
  backends: BackendsConfig<B>;
  /**
   * The modules that define the tasks (file paths, `file:` URLs or package names). Worker
   * threads and processes import them to find tasks by name.
   */
  taskModules?: readonly (string | URL)[];
  /** Where djtasks logs. @defaultValue debug/info with NODE_DEBUG=djtasks, warnings and errors to stderr */
  logger?: TaskLogger;
  /**
   * Periodic tasks by name: `{ nightlyDigest: { task: 'sendDigest', cron: '0 8 * * *' } }`.
   * Database workers enqueue each tick once between them; the thread pool and Immediate
   * backends run an in-process scheduler.
   */
  schedules?: Record<string, ScheduleConfig>;
}

/** Type-check a configuration; each backend's options are checked against its class. */
export function defineConfig<const B extends Record<string, BackendConfig>>(
  config: TasksConfig<B>,
): TasksConfig<B> {
  if (typeof config === 'object' && config !== null) {
    refuseUnknownKeys('The tasks configuration', config, CONFIG_KEYS);
    checkSchedules(config.schedules);
  }
  return config;
}

const IMMEDIATE_ONLY: TasksConfig = {
  backends: { [DEFAULT_TASK_BACKEND_ALIAS]: { backend: ImmediateBackend } },
};

/** Creates backends by alias from the installed configuration, once each, and closes them. */
export class TaskBackendHandler {
  #config: TasksConfig = IMMEDIATE_ONLY;
  #taskModules: readonly string[] = [];
  #schedules: readonly Schedule[] = [];
  #instances = new Map<string, BaseTaskBackend<unknown>>();

  /**
   * Install `config`, replacing the current one; `undefined` restores the default (Immediate).
   * A configuration without backends is accepted: using a task then raises `InvalidTaskBackend`,
   * as in Django. A key nobody reads is refused, with the list of known keys.
   */
  configure(config: TasksConfig<any> | undefined): void {
    const next = (config ?? IMMEDIATE_ONLY) as TasksConfig;
    if (typeof next !== 'object' || next === null || Array.isArray(next)) {
      throw new InvalidTaskBackend(
        `The tasks configuration must be an object like { backends: { default: { backend } } } (got ${describeValue(next)}).`,
      );
    }
    refuseUnknownKeys('The tasks configuration', next, CONFIG_KEYS);
    const backends: unknown = next.backends ?? {};
    if (typeof backends !== 'object' || backends === null || Array.isArray(backends)) {
      throw new InvalidTaskBackend(
        `The tasks configuration's backends must be an object of backends by alias (got ${describeValue(backends)}).`,
      );
    }
    for (const [alias, entry] of Object.entries(backends as Record<string, BackendConfig>)) {
      if (typeof entry !== 'object' || entry === null) {
        throw new InvalidTaskBackend(
          `Backend '${alias}' must be an object like { backend: ImmediateBackend } (got ${describeValue(entry)}).`,
        );
      }
      refuseUnknownKeys(`Backend '${alias}'`, entry, BACKEND_KEYS);
      if (typeof entry.backend !== 'function') {
        throw new InvalidTaskBackend(
          `Backend '${alias}' needs a backend class (got ${typeof entry.backend}).`,
        );
      }
      if (
        entry.queues !== undefined &&
        (!Array.isArray(entry.queues) || entry.queues.some((q) => typeof q !== 'string'))
      ) {
        throw new InvalidTaskBackend(`Backend '${alias}': queues must be an array of queue names.`);
      }
    }
    const schedules = checkSchedules(next.schedules);
    const previous = [...this.#instances.values()];
    this.#instances = new Map();
    this.#config = { ...next, backends: backends as Record<string, BackendConfig> };
    this.#taskModules = (next.taskModules ?? []).map((module) => resolveTaskModule(module));
    this.#schedules = schedules;
    setTaskLogger(next.logger);
    for (const backend of previous) {
      backend.close().catch((error: unknown) => {
        getTaskLogger().error(
          `closing backend '${backend.alias}' after reconfiguration failed`,
          error,
        );
      });
    }
  }

  /** The installed configuration. */
  get config(): TasksConfig {
    return this.#config;
  }

  /** The configured periodic task schedules, checked. */
  get schedules(): readonly Schedule[] {
    return this.#schedules;
  }

  /** The configured task modules, resolved to URLs. */
  get taskModules(): readonly string[] {
    return this.#taskModules;
  }

  /** The configured aliases. */
  get aliases(): string[] {
    return Object.keys(this.#config.backends);
  }

  /** The backend for `alias`, created on first use. */
  get(alias: string): BaseTaskBackend<unknown> {
    const existing = this.#instances.get(alias);
    if (existing) return existing;
    const entry = Object.hasOwn(this.#config.backends, alias)
      ? this.#config.backends[alias]
      : undefined;
    if (!entry) {
      throw new InvalidTaskBackend(
        `The task backend '${alias}' doesn't exist (configured: ${describeAliases(this.aliases)}).`,
      );
    }
    const BackendClass = entry.backend;
    let backend: BaseTaskBackend<unknown>;
    try {
      backend = new BackendClass({
        alias,
        queues: entry.queues ?? [DEFAULT_TASK_QUEUE_NAME],
        options: (entry.options ?? {}) as unknown,
        taskModules: this.#taskModules,
        schedules: this.#schedules,
      });
    } catch (error) {
      if (error instanceof InvalidTaskBackend) throw error;
      throw new InvalidTaskBackend(
        `Could not create backend '${alias}' (${BackendClass.name}): ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
    if (typeof (backend as { enqueue?: unknown }).enqueue !== 'function') {
      throw new InvalidTaskBackend(
        `Backend '${alias}' (${BackendClass.name}) has no enqueue method; a task backend must implement enqueue(task, args).`,
      );
    }
    this.#instances.set(alias, backend);
    return backend;
  }

  /** Every configured backend, created if needed. */
  all(): BaseTaskBackend<unknown>[] {
    return this.aliases.map((alias) => this.get(alias));
  }

  /** Configuration problems reported by every backend's `check()`, prefixed with the alias. */
  check(): string[] {
    return this.all().flatMap((backend) =>
      backend.check().map((message) => `${backend.alias}: ${message}`),
    );
  }

  /** Close every backend created so far; the next `get` creates fresh ones. */
  async close(): Promise<void> {
    const open = [...this.#instances.values()];
    this.#instances = new Map();
    const outcomes = await Promise.allSettled(open.map((backend) => backend.close()));
    const failures = outcomes.filter((outcome) => outcome.status === 'rejected');
    if (failures.length > 0) {
      throw new AggregateError(
        failures.map((failure) => failure.reason as unknown),
        `closing ${failures.length} task backend(s) failed`,
      );
    }
  }
}

/** The keys a tasks configuration may have. */
const CONFIG_KEYS = ['backends', 'taskModules', 'logger', 'schedules'] as const;
/** The keys a backend's entry may have. */
const BACKEND_KEYS = ['backend', 'queues', 'options'] as const;

function refuseUnknownKeys(what: string, value: object, known: readonly string[]): void {
  const unknown = Object.keys(value).filter((key) => !known.includes(key));
  if (unknown.length > 0) {
    throw new InvalidTaskBackend(
      `${what} has ${unknown.length === 1 ? 'a key' : 'keys'} nobody reads: ${unknown.map((k) => `'${k}'`).join(', ')} (known keys: ${known.join(', ')}).`,
    );
  }
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value;
}

function describeAliases(aliases: string[]): string {
  return aliases.length === 0 ? 'none' : aliases.map((alias) => `'${alias}'`).join(', ');
}

/** The backends of the installed configuration, by alias. */
export const taskBackends = new TaskBackendHandler();

/** Install the tasks configuration (or, with no argument, go back to the default ImmediateBackend). */
export function configureTasks(config?: TasksConfig<any>): void {
  taskBackends.configure(config);
}

/** The `default` backend, looked up on every use, so it follows `configureTasks`. */
export const defaultTaskBackend: BaseTaskBackend<any> = new Proxy({} as BaseTaskBackend<any>, {
  get(_target, property) {
    const backend = taskBackends.get(DEFAULT_TASK_BACKEND_ALIAS);
    const value: unknown = Reflect.get(backend, property, backend);
    return typeof value === 'function'
      ? (value as (...args: unknown[]) => unknown).bind(backend)
      : value;
  },
  has(_target, property) {
    return Reflect.has(taskBackends.get(DEFAULT_TASK_BACKEND_ALIAS), property);
  },
  getPrototypeOf() {
    return Reflect.getPrototypeOf(taskBackends.get(DEFAULT_TASK_BACKEND_ALIAS));
  },
});
