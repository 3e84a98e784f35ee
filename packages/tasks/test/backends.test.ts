import {
  configureTasks,
  defaultTaskBackend,
  defineConfig,
  DummyBackend,
  ImmediateBackend,
  InvalidTaskBackend,
  task,
  taskBackends,
  taskEnqueued,
  taskFinished,
  TaskResultDoesNotExist,
  TaskResultStatus,
  taskStarted,
  type TaskLogger,
  type TaskSignalPayload,
  TaskBackendUnsupported,
} from '@djtasks/tasks';
import { BaseTaskBackend, type BackendInit } from '@djtasks/tasks/backend';
import { afterEach, describe, expect, it } from 'vitest';

afterEach(async () => {
  await taskBackends.close();
  configureTasks();
});

const double = task({ name: 'tests.backends.double' }, (n: number) => n * 2);
const explode = task({ name: 'tests.backends.explode' }, (): void => {
  throw new SyntaxError('bad input');
});

describe('configuration', () => {
  it('defaults to an ImmediateBackend under the default alias', () => {
    expect(taskBackends.get('default')).toBeInstanceOf(ImmediateBackend);
    expect(defaultTaskBackend).toBeInstanceOf(ImmediateBackend);
    expect(taskBackends.aliases).toEqual(['default']);
  });

  it('creates each backend once, lazily, with its alias, queues and options', () => {
    class Recording extends DummyBackend {
      static created = 0;
      constructor(init: BackendInit<Record<string, never>>) {
        super(init);
        Recording.created++;
      }
    }
    configureTasks(
      defineConfig({
        backends: {
          default: { backend: ImmediateBackend },
          tests: { backend: Recording, queues: ['a', 'b'] },
        },
      }),
    );
    expect(Recording.created).toBe(0);
    const first = taskBackends.get('tests');
    expect(taskBackends.get('tests')).toBe(first);
    expect(Recording.created).toBe(1);
    expect(first.alias).toBe('tests');
    expect([...first.queues]).toEqual(['a', 'b']);
    expect(taskBackends.all().map((backend) => backend.alias)).toEqual(['default', 'tests']);
  });

  it('accepts a configuration without the default backend and refuses it when a task is first used, as Django', async () => {
    configureTasks({ backends: { other: { backend: DummyBackend } } });
    const defaultTask = task({ name: 'tests.backends.usesDefault' }, () => {});
    await expect(defaultTask.enqueue()).rejects.toThrow(InvalidTaskBackend);
    await expect(defaultTask.enqueue()).rejects.toThrow(
      "The task backend 'default' doesn't exist (configured: 'other').",
    );
    configureTasks({ backends: {} });
    expect(() => defaultTask.using()).toThrow(
      "The task backend 'default' doesn't exist (configured: none).",
    );
    expect(() => taskBackends.get('missing')).toThrow(InvalidTaskBackend);
    expect(() =>
      configureTasks({ backends: { default: { backend: 'DummyBackend' as never } } }),
    ).toThrow("Backend 'default' needs a backend class (got string).");
  });

  it('refuses configuration keys nobody reads, listing the known ones', () => {
    const typo = { backends: { default: { backend: DummyBackend } }, schedulez: {} };
    expect(() => defineConfig(typo as never)).toThrow(InvalidTaskBackend);
    expect(() => configureTasks(typo as never)).toThrow(
      "The tasks configuration has a key nobody reads: 'schedulez' (known keys: backends, taskModules, logger, schedules).",
    );
    expect(() =>
      configureTasks({ backends: { default: { backend: DummyBackend, queue: ['x'] } as never } }),
    ).toThrow(
      "Backend 'default' has a key nobody reads: 'queue' (known keys: backend, queues, options).",
    );
  });

  it('refuses a backend class without an enqueue method when the backend is created', () => {
    class NoEnqueue {
      alias = 'x';
    }
    configureTasks({
      backends: { default: { backend: DummyBackend }, broken: { backend: NoEnqueue as never } },
    });
    const defined = task({ name: 'tests.backends.noEnqueue' }, () => {});
    expect(() => defined.using({ backend: 'broken' })).toThrow(InvalidTaskBackend);
    expect(() => taskBackends.get('broken')).toThrow(/has no enqueue method/);
  });

  it('wraps a backend constructor failure in InvalidTaskBackend naming the alias', () => {
    class Broken extends DummyBackend {
      constructor(init: BackendInit<Record<string, never>>) {
        super(init);
        throw new RangeError('maxWorkers must be at least 1');
      }
    }
    configureTasks({ backends: { default: { backend: Broken } } });
    expect(() => taskBackends.get('default')).toThrow(
      "Could not create backend 'default' (Broken): maxWorkers must be at least 1",
    );
  });

  it('closes every created backend, and checks collect messages by alias', async () => {
    const closed: string[] = [];
    class Closing extends DummyBackend {
      override async close(): Promise<void> {
        await Promise.resolve();
        closed.push(this.alias);
      }
      override check(): string[] {
        return ['something is off'];
      }
    }
    configureTasks({ backends: { default: { backend: Closing }, other: { backend: Closing } } });
    expect(taskBackends.check()).toEqual(['default: something is off', 'other: something is off']);
    await taskBackends.close();
    expect(closed.sort()).toEqual(['default', 'other']);
  });

  it('resolves relative task modules against the current directory', () => {
    configureTasks({
      backends: { default: { backend: DummyBackend } },
      taskModules: ['./tasks.ts', 'some-package/tasks'],
    });
    expect(taskBackends.taskModules).toEqual([
      new URL(`file://${process.cwd()}/tasks.ts`).href,
      'some-package/tasks',
    ]);
  });

  it('uses the configured logger', async () => {
    const lines: string[] = [];
    const logger: TaskLogger = {
      debug: (m) => lines.push(`debug ${m}`),
      info: (m) => lines.push(`info ${m}`),
      warn: (m) => lines.push(`warn ${m}`),
      error: (m) => lines.push(`error ${m}`),
    };
    configureTasks({ backends: { default: { backend: ImmediateBackend } }, logger });
    const result = await explode.enqueue();
    expect(lines).toContain(
      `debug Task id=${result.id} name=tests.backends.explode enqueued backend=default`,
    );
    expect(lines).toContain(`error Task id=${result.id} name=tests.backends.explode state=FAILED`);
  });
});

describe('ImmediateBackend', () => {
  it('runs the task inside enqueue and sends the three signals in order', async () => {
    const events: string[] = [];
    const receivers = [taskEnqueued, taskStarted, taskFinished].map((signal) => {
      const receiver = ({ taskResult, sender }: TaskSignalPayload) => {
        expect(sender).toBe(ImmediateBackend);
        events.push(`${signal.name}:${taskResult.status}`);
      };
      signal.connect(receiver);
      return [signal, receiver] as const;
    });
    try {
      const result = await double.enqueue(21);
      expect(result.returnValue).toBe(42);
      expect(events).toEqual([
        'taskEnqueued:READY',
        'taskStarted:RUNNING',
        'taskFinished:SUCCESSFUL',
      ]);
    } finally {
      for (const [signal, receiver] of receivers) expect(signal.disconnect(receiver)).toBe(true);
    }
  });

  it('records a failure and does not re-throw it', async () => {
    const result = await explode.enqueue();
    expect(result.status).toBe(TaskResultStatus.FAILED);
    expect(result.errors.map((e) => [e.exceptionClassPath, e.message])).toEqual([
      ['SyntaxError', 'bad input'],
    ]);
  });

  it('runs further attempts at once, without the backoff delay', async () => {
    const delays: number[] = [];
    const flaky = task(
      {
        name: 'tests.backends.flaky',
        takesContext: true,
        maxAttempts: 4,
        backoff: (attempt) => {
          delays.push(attempt);
          return 3_600_000;
        },
      },
      (context) => {
        if (context.attempt < 3) throw new Error(`no ${context.attempt}`);
        return context.attempt;
      },
    );
    const result = await flaky.enqueue();
    expect(result.status).toBe(TaskResultStatus.SUCCESSFUL);
    expect(result.returnValue).toBe(3);
    expect(result.task.runAfter).toBeNull();
    expect(delays).toEqual([1, 2]);
    expect(result.workerIds).toHaveLength(3);
    expect(new Set(result.workerIds).size).toBe(1);
  });

  it('stops retrying when the backoff declines', async () => {
    const declines = task(
      { name: 'tests.backends.declines', maxAttempts: 5, backoff: () => null },
      (): void => {
        throw new Error('permanent');
      },
    );
    const result = await declines.enqueue();
    expect(result.status).toBe(TaskResultStatus.FAILED);
    expect(result.attempts).toBe(1);
  });
});

describe('DummyBackend', () => {
  it('stores results without running them, hands out copies, and clears', async () => {
    configureTasks({ backends: { default: { backend: DummyBackend } } });
    const backend = taskBackends.get('default') as DummyBackend;
    const result = await double
      .using({ priority: 5, runAfter: new Date(Date.now() + 1000) })
      .enqueue(1);
    expect(result.status).toBe(TaskResultStatus.READY);
    expect(backend.results).toHaveLength(1);
    expect(backend.results[0]).not.toBe(result);
    expect(await backend.getResult(result.id)).toBe(backend.results[0]);
    await expect(double.getResult('nope')).rejects.toThrow(TaskResultDoesNotExist);
    await result.refresh();
    expect(result.status).toBe(TaskResultStatus.READY);
    backend.clear();
    expect(backend.results).toHaveLength(0);
  });
});

describe('BaseTaskBackend', () => {
  it('needs only enqueue; enqueueMany loops and getResult refuses', async () => {
    class Minimal extends BaseTaskBackend {
      readonly seen: unknown[][] = [];
      override async enqueue(): Promise<never> {
        this.seen.push([]);
        return Promise.reject(new Error('not storing'));
      }
    }
    const backend = new Minimal({ alias: 'm', queues: [], options: {}, taskModules: [] });
    expect([
      backend.supportsDefer,
      backend.supportsPriority,
      backend.supportsGetResult,
      backend.supportsRetries,
      backend.supportsTimeout,
      backend.supportsCancel,
    ]).toEqual([false, false, false, false, false, false]);
    await expect(backend.getResult('x')).rejects.toThrow(TaskBackendUnsupported);
    await expect(backend.getResult('x')).rejects.toThrow(
      "Backend 'm' (Minimal) does not support retrieving or refreshing results.",
    );
    await expect(backend.cancel('x')).rejects.toThrow(
      "Backend 'm' (Minimal) does not support cancelling tasks.",
    );
    expect(backend.check()).toEqual([]);
    await expect(backend.close()).resolves.toBeUndefined();
  });
});
