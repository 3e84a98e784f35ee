import {
  configureTasks,
  DEFAULT_TASK_BACKEND_ALIAS,
  DEFAULT_TASK_PRIORITY,
  DEFAULT_TASK_QUEUE_NAME,
  DummyBackend,
  ImmediateBackend,
  InvalidTask,
  InvalidTaskBackend,
  task,
  Task,
  TASK_MAX_PRIORITY,
  TASK_MIN_PRIORITY,
  taskBackends,
  TaskResultStatus,
  TaskBackendUnsupported,
} from '@djtasks/tasks';
import { getRegisteredTask } from '@djtasks/tasks/backend';
import { afterEach, describe, expect, it } from 'vitest';

afterEach(async () => {
  await taskBackends.close();
  configureTasks();
});

function sendEmail(to: string, subject: string) {
  return `${to}:${subject}`;
}
const sendEmailTask = task(sendEmail);

describe('task()', () => {
  it('takes its name and defaults from the function and the constants', () => {
    expect(sendEmailTask.name).toBe('sendEmail');
    expect(sendEmailTask.priority).toBe(DEFAULT_TASK_PRIORITY);
    expect(sendEmailTask.queueName).toBe(DEFAULT_TASK_QUEUE_NAME);
    expect(sendEmailTask.backend).toBe(DEFAULT_TASK_BACKEND_ALIAS);
    expect(sendEmailTask.runAfter).toBeNull();
    expect(sendEmailTask.takesContext).toBe(false);
    expect(sendEmailTask.maxAttempts).toBe(1);
    expect(sendEmailTask.func).toBe(sendEmail);
    expect([TASK_MIN_PRIORITY, TASK_MAX_PRIORITY]).toEqual([-100, 100]);
  });

  it('is found by name in the registry', () => {
    expect(getRegisteredTask('sendEmail')).toBe(sendEmailTask);
  });

  it('requires a name for anonymous functions', () => {
    expect(() => task((() => 1) as () => number)).toThrow(InvalidTask);
    expect(() => task((() => 1) as () => number)).toThrow(
      'Task name is required for anonymous functions',
    );
    const named = task({ name: 'tests.anonymous' }, () => 1);
    expect(named.name).toBe('tests.anonymous');
  });

  it('refuses two different tasks with one name, naming both places', () => {
    task({ name: 'tests.duplicate' }, () => 1);
    let message = '';
    try {
      task({ name: 'tests.duplicate' }, () => 2);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(
      /Task name 'tests\.duplicate' is already used by the task defined at .*task\.test\.ts:\d+/,
    );
    expect(message).toMatch(/the task defined at .*task\.test\.ts:\d+:\d+.* needs another name/);
  });

  it('accepts the same definition evaluated again (a re-imported module)', () => {
    const define = () => task({ name: 'tests.reimported' }, () => 1);
    const first = define();
    const second = define();
    expect(getRegisteredTask('tests.reimported')).toBe(second);
    expect(first.name).toBe(second.name);
  });

  it('rejects runAfter at definition, as Django 6.1 does', () => {
    expect(() => task({ name: 'tests.runAfter', runAfter: new Date() } as never, () => 1)).toThrow(
      'runAfter cannot be defined statically with task(). Use .using({ runAfter }) to set it dynamically.',
    );
  });

  it('validates what does not depend on a backend at definition', () => {
    expect(() => task({ name: 'tests.p', priority: 101 }, () => 1)).toThrow(
      'priority must be a whole number between -100 and 100 (got 101).',
    );
    expect(() => task({ name: 'tests.p2', priority: -100.5 }, () => 1)).toThrow(InvalidTask);
    expect(() => task({ name: 'tests.m', maxAttempts: 0 }, () => 1)).toThrow(
      'maxAttempts must be a whole number of at least 1 (got 0).',
    );
    expect(() => task({ name: 'tests.q', queueName: '' }, () => 1)).toThrow(
      'queueName must be a non-empty string',
    );
    expect(() => task({ name: 'tests.b', backoff: 5 as never }, () => 1)).toThrow(
      'backoff must be a function',
    );
    expect(() => task({ name: 'tests.x', priorty: 1 } as never, () => 1)).toThrow(
      "task() does not accept the option 'priorty'",
    );
  });

  it('does not need the configuration to be installed to define a task', () => {
    const defined = task({ name: 'tests.otherBackend', backend: 'not-configured-yet' }, () => 1);
    expect(defined.backend).toBe('not-configured-yet');
    expect(() => defined.getBackend()).toThrow(InvalidTaskBackend);
    configureTasks({
      backends: {
        default: { backend: ImmediateBackend },
        'not-configured-yet': { backend: DummyBackend },
      },
    });
    expect(defined.getBackend()).toBeInstanceOf(DummyBackend);
  });
});

describe('Task', () => {
  it('is immutable', () => {
    expect(Object.isFrozen(sendEmailTask)).toBe(true);
    expect(() => {
      (sendEmailTask as { priority: number }).priority = 5;
    }).toThrow(TypeError);
  });

  it('using() returns a new validated task and leaves the original unchanged', () => {
    configureTasks({ backends: { default: { backend: DummyBackend, queues: [] } } });
    const runAfter = new Date('2030-01-01T00:00:00Z');
    const changed = sendEmailTask.using({ priority: 10, queueName: 'emails', runAfter });
    expect(changed).toBeInstanceOf(Task);
    expect([changed.priority, changed.queueName, changed.runAfter?.toISOString()]).toEqual([
      10,
      'emails',
      '2030-01-01T00:00:00.000Z',
    ]);
    expect([sendEmailTask.priority, sendEmailTask.queueName, sendEmailTask.runAfter]).toEqual([
      0,
      'default',
      null,
    ]);
    runAfter.setFullYear(2040);
    expect(changed.runAfter?.getUTCFullYear()).toBe(2030);
    expect(changed.using({ runAfter: null }).runAfter).toBeNull();
    expect(() => sendEmailTask.using({ takesContext: true } as never)).toThrow(
      "using() does not accept 'takesContext'",
    );
  });

  it('validates using() against the backend, in Django order', () => {
    // ImmediateBackend: priority yes, defer no.
    expect(() => sendEmailTask.using({ priority: 200 })).toThrow('priority must be a whole number');
    expect(() => sendEmailTask.using({ runAfter: new Date() })).toThrow(
      "Backend 'default' (ImmediateBackend) does not support runAfter.",
    );
    expect(() => sendEmailTask.using({ queueName: 'emails' })).toThrow(
      "Queue 'emails' is not valid for backend 'default' (valid: 'default').",
    );
    expect(() => sendEmailTask.using({ backend: 'nope' })).toThrow(
      "The task backend 'nope' doesn't exist (configured: 'default').",
    );
  });

  it('call() runs the function directly and resolves with its value', async () => {
    await expect(sendEmailTask.call('a@example.com', 'hi')).resolves.toBe('a@example.com:hi');
    const asyncTask = task({ name: 'tests.async' }, async (n: number) => {
      await Promise.resolve();
      return n * 2;
    });
    await expect(asyncTask.call(21)).resolves.toBe(42);
  });

  it('enqueue() on the default ImmediateBackend resolves with the finished result', async () => {
    const result = await sendEmailTask.enqueue('a@example.com', 'hi');
    expect(result.status).toBe(TaskResultStatus.SUCCESSFUL);
    expect(result.returnValue).toBe('a@example.com:hi');
    expect(result.id).toMatch(/^[A-Za-z0-9]{32}$/);
  });

  it('a task that returns nothing stores null', async () => {
    const nothing = task({ name: 'tests.nothing' }, () => {});
    const result = await nothing.enqueue();
    expect(result.returnValue).toBeNull();
  });

  it('refuses maxAttempts > 1 on a backend without retries', () => {
    class NoRetries extends DummyBackend {
      override readonly supportsRetries = false;
    }
    configureTasks({ backends: { default: { backend: NoRetries } } });
    const retried = task({ name: 'tests.retried', maxAttempts: 3 }, () => 1);
    expect(() => retried.using({ priority: 1 })).toThrow(
      "Backend 'default' (NoRetries) does not support retries (task 'tests.retried' has maxAttempts 3).",
    );
  });

  it('getResult() is not supported by ImmediateBackend, as in Django', async () => {
    await expect(sendEmailTask.getResult('x')).rejects.toThrow(TaskBackendUnsupported);
    const result = await sendEmailTask.enqueue('a', 'b');
    await expect(result.refresh()).rejects.toThrow(
      "Backend 'default' (ImmediateBackend) does not support retrieving or refreshing results.",
    );
  });
});
