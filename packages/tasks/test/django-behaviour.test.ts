// Behaviours people bring from Django's django.tasks, checked one by one.
import { execFileSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import {
  configureTasks,
  DummyBackend,
  InvalidTask,
  NoReturnValue,
  task,
  taskBackends,
  TaskException,
  TaskJsonError,
  taskEnqueued,
  taskFinished,
  TaskResultDoesNotExist,
  TaskResultStatus,
  TaskTimeout,
  type TaskSignalPayload,
} from '@djtasks/tasks';

afterEach(async () => {
  await taskBackends.close();
  configureTasks();
});

const echoes = task({ name: 'tests.django.echoes' }, (value: string) => value);

describe('closer to Django', () => {
  it('raises a TypeError (a TaskJsonError, a TaskException) for an argument JSON cannot carry', async () => {
    const enqueue = echoes.enqueue(new Map() as never);
    await expect(enqueue).rejects.toBeInstanceOf(TypeError);
    await expect(echoes.enqueue(new Map() as never)).rejects.toBeInstanceOf(TaskJsonError);
    await expect(echoes.enqueue(new Map() as never)).rejects.toBeInstanceOf(TaskException);
    await expect(echoes.enqueue(new Map() as never)).rejects.toThrow('args[0]: Map is not JSON');
  });

  it('refuses takesContext: true at definition when the function declares no parameter', () => {
    expect(() =>
      task({ name: 'tests.django.noContextParam', takesContext: true }, (() => 1) as never),
    ).toThrow(InvalidTask);
    expect(() =>
      task({ name: 'tests.django.noContextParam2', takesContext: true }, (() => 1) as never),
    ).toThrow(
      "Task 'tests.django.noContextParam2' is defined with takesContext: true, but its function declares no parameter for the TaskContext",
    );
    expect(
      task({ name: 'tests.django.contextParam', takesContext: true }, (context) => context.attempt)
        .takesContext,
    ).toBe(true);
  });

  it('returns an equal copy from using() with no argument', () => {
    configureTasks({ backends: { default: { backend: DummyBackend } } });
    const copy = echoes.using();
    expect(copy).not.toBe(echoes);
    expect(copy).toStrictEqual(echoes);
    expect(copy.func).toBe(echoes.func);
  });

  it('keeps a TaskResult read-only to its users', async () => {
    const result = await echoes.enqueue('x');
    expect(result.status).toBe(TaskResultStatus.SUCCESSFUL);
    expect(() => {
      (result as { status: string }).status = 'FAILED';
    }).toThrow(TypeError);
    expect(() => {
      (result as unknown as { errors: unknown[] }).errors = [];
    }).toThrow(TypeError);
    expect(result.status).toBe(TaskResultStatus.SUCCESSFUL);
    expect(result.returnValue).toBe('x');
  });

  it('raises a named NoReturnValue for the return value of a task that did not succeed', async () => {
    const failing = task({ name: 'tests.django.failing' }, (): void => {
      throw new Error('no');
    });
    const result = await failing.enqueue();
    expect(() => result.returnValue).toThrow(NoReturnValue);
    expect(() => result.returnValue).toThrow('Task failed');
    let error: NoReturnValue | undefined;
    try {
      void result.returnValue;
    } catch (caught) {
      error = caught as NoReturnValue;
    }
    expect(error?.status).toBe('FAILED');
  });
});

describe('timeouts at definition', () => {
  it('accepts a positive number of seconds and nothing else', () => {
    expect(task({ name: 'tests.django.timeoutOk', timeout: 0.25 }, () => {}).timeout).toBe(0.25);
    expect(task({ name: 'tests.django.noTimeout' }, () => {}).timeout).toBeNull();
    for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, '5']) {
      expect(() =>
        task({ name: 'tests.django.timeoutBad', timeout: bad as number }, () => {}),
      ).toThrow(`timeout must be a positive number of seconds (got ${String(bad)}).`);
    }
  });

  it('refuses a timeout longer than a Node timer can hold', () => {
    expect(() => task({ name: 'tests.django.timeoutHuge', timeout: 1e7 }, () => {})).toThrow(
      'timeout must be at most 2147483 seconds (about 24.8 days, the longest timer Node keeps) (got 10000000).',
    );
    expect(task({ name: 'tests.django.timeoutMax', timeout: 2147483 }, () => {}).timeout).toBe(
      2147483,
    );
  });

  it('is set at definition only, not through using()', () => {
    const timed = task({ name: 'tests.django.timed', timeout: 1 }, () => {});
    expect(() => timed.using({ timeout: 2 } as never)).toThrow(InvalidTask);
    expect(() => timed.using({ timeout: 2 } as never)).toThrow(
      "using() does not accept 'timeout'; a timeout is part of the definition",
    );
  });

  it('TaskTimeout is a TaskException carrying the timeout', () => {
    const error = new TaskTimeout(3);
    expect(error).toBeInstanceOf(TaskException);
    expect(error.timeout).toBe(3);
    expect(error.name).toBe('TaskTimeout');
  });
});

describe('defining a task', () => {
  it('does not load the task runner; the first enqueue does', () => {
    // A fresh Node process that records every module it loads.
    const script = `
      import { registerHooks } from 'node:module';
      const loaded = [];
      registerHooks({ resolve(specifier, context, next) { const r = next(specifier, context); loaded.push(r.url); return r; } });
      const { task } = await import('@djtasks/tasks');
      const add = task({ name: 'add' }, (a, b) => a + b);
      const runnerLoaded = () => loaded.some((url) => /\\/(lifecycle|transitions)\\.(ts|js)$/.test(url));
      const before = runnerLoaded();
      const result = await add.enqueue(1, 2);
      console.log(JSON.stringify({ before, after: runnerLoaded(), value: result.returnValue }));
    `;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: import.meta.dirname,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(JSON.parse(out)).toEqual({ before: false, after: true, value: 3 });
  });
});

describe('ImmediateBackend cancellation', () => {
  it('cancels a task from a taskEnqueued receiver before it starts', async () => {
    let ran = false;
    const watched = task({ name: 'tests.django.watched', maxAttempts: 2 }, () => {
      ran = true;
    });
    const seen: string[] = [];
    const onEnqueued = ({ taskResult }: TaskSignalPayload): void => {
      if (taskResult.task.name === watched.name)
        void taskBackends.get('default').cancel(taskResult.id);
    };
    const onFinished = ({ taskResult }: TaskSignalPayload): void => {
      if (taskResult.task.name === watched.name) seen.push(taskResult.status);
    };
    taskEnqueued.connect(onEnqueued);
    taskFinished.connect(onFinished);
    try {
      const result = await watched.enqueue();
      expect(result.status).toBe(TaskResultStatus.CANCELLED);
      expect(result.attempts).toBe(0);
      expect(ran).toBe(false);
      expect(seen).toEqual(['CANCELLED']);
      await expect(taskBackends.get('default').cancel(result.id)).rejects.toThrow(
        TaskResultDoesNotExist,
      );
    } finally {
      taskEnqueued.disconnect(onEnqueued);
      taskFinished.disconnect(onFinished);
    }
  });
});
