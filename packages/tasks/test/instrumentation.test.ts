import {
  addTaskInstrumentation,
  configureTasks,
  DummyBackend,
  ImmediateBackend,
  InvalidTaskMetadata,
  InvalidTaskResultData,
  task,
  TASK_METADATA_MAX_BYTES,
  taskBackends,
  TaskMetadataTooLarge,
  TaskResultStatus,
  type TaskLogger,
} from '@djtasks/tasks';
import {
  checkTaskMetadata,
  exceptionFromData,
  exceptionToData,
  taskResultFromData,
  taskResultToData,
} from '@djtasks/tasks/backend';
import { afterEach, describe, expect, it } from 'vitest';

const removers: (() => void)[] = [];
const instrument = (...args: Parameters<typeof addTaskInstrumentation>) => {
  removers.push(addTaskInstrumentation(...args));
};
const logged: string[] = [];
const logger: TaskLogger = {
  debug: () => {},
  info: () => {},
  warn: (message) => logged.push(message),
  error: (message) => logged.push(message),
};

afterEach(async () => {
  for (const remove of removers.splice(0)) remove();
  logged.length = 0;
  await taskBackends.close();
  configureTasks();
});

const add = task({ name: 'tests.instrumentation.add' }, (a: number, b: number) => a + b);
const breaks = task(
  { name: 'tests.instrumentation.breaks', maxAttempts: 2, backoff: () => 0 },
  () => {
    throw new RangeError('nope');
  },
);

describe('task metadata', () => {
  it('refuses values that are not strings, naming the key', () => {
    expect(() => checkTaskMetadata({ a: 'x', b: 1 })).toThrow(InvalidTaskMetadata);
    expect(() => checkTaskMetadata({ a: 'x', b: 1 })).toThrow("'b' is number (1)");
    expect(() => checkTaskMetadata(['x'])).toThrow('got an array');
  });

  it('refuses metadata larger than the limit with TaskMetadataTooLarge', () => {
    const big = { blob: 'x'.repeat(TASK_METADATA_MAX_BYTES) };
    const error = (() => {
      try {
        checkTaskMetadata(big);
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(TaskMetadataTooLarge);
    expect(error).toMatchObject({
      limit: TASK_METADATA_MAX_BYTES,
      size: TASK_METADATA_MAX_BYTES + 11,
    });
  });

  it('fails an enqueue whose metadata hook adds too much, storing nothing', async () => {
    configureTasks({ backends: { default: { backend: DummyBackend } } });
    instrument({ metadata: () => ({ blob: 'é'.repeat(TASK_METADATA_MAX_BYTES) }) });
    await expect(add.enqueue(1, 2)).rejects.toThrow(TaskMetadataTooLarge);
    expect((taskBackends.get('default') as DummyBackend).results).toHaveLength(0);
  });

  it('travels through the wire codec, and is left out when empty', () => {
    configureTasks({ backends: { default: { backend: DummyBackend } } });
    instrument({ metadata: () => ({ traceparent: '00-abc-def-01' }) });
    return add.enqueue(1, 2).then((result) => {
      const data = taskResultToData(result);
      expect(data.metadata).toEqual({ traceparent: '00-abc-def-01' });
      expect(taskResultFromData(data).metadata).toEqual({ traceparent: '00-abc-def-01' });
      const { metadata: _, ...without } = data;
      expect(taskResultFromData(without).metadata).toEqual({});
      expect(() => taskResultFromData({ ...data, metadata: { n: 1 } })).toThrow(
        InvalidTaskResultData,
      );
      expect(() => taskResultFromData({ ...data, metadata: { n: 1 } })).toThrow(
        'metadata is invalid',
      );
    });
  });
});

describe('addTaskInstrumentation', () => {
  it('nests enqueue and attempt hooks, first outermost, and removes them', async () => {
    const calls: string[] = [];
    for (const name of ['outer', 'inner']) {
      instrument({
        enqueue: async (t, count, enqueue) => {
          calls.push(`${name} enqueue ${t.name} ${count}`);
          const results = await enqueue();
          calls.push(`${name} enqueued ${results.length}`);
          return results;
        },
        attempt: async (running, attempt) => {
          calls.push(`${name} attempt ${running.status}`);
          const outcome = await attempt();
          calls.push(`${name} outcome ${outcome.status}`);
          return outcome;
        },
      });
    }
    expect((await add.enqueue(1, 2)).returnValue).toBe(3);
    expect(calls).toEqual([
      'outer enqueue tests.instrumentation.add 1',
      'inner enqueue tests.instrumentation.add 1',
      'outer attempt RUNNING',
      'inner attempt RUNNING',
      'inner outcome SUCCESSFUL',
      'outer outcome SUCCESSFUL',
      'inner enqueued 1',
      'outer enqueued 1',
    ]);
    for (const remove of removers.splice(0)) remove();
    calls.length = 0;
    await add.enqueue(1, 2);
    expect(calls).toEqual([]);
  });

  it('never lets a failing hook lose the task or its outcome', async () => {
    configureTasks({ backends: { default: { backend: ImmediateBackend } }, logger });
    instrument({
      enqueue: () => Promise.reject(new Error('enqueue hook broke')),
      metadata: () => {
        throw new Error('metadata hook broke');
      },
      attempt: async (_running, attempt) => {
        await attempt();
        throw new Error('attempt hook broke');
      },
    });
    const result = await breaks.enqueue();
    expect(result.status).toBe(TaskResultStatus.FAILED);
    expect(result.attempts).toBe(2);
    expect(result.metadata).toEqual({});
    expect(logged.filter((line) => line.startsWith('task instrumentation failed'))).toHaveLength(4);
  });

  it('passes the rejection of a real enqueue on unchanged', async () => {
    instrument({ enqueue: (_t, _n, enqueue) => enqueue() });
    await expect(add.enqueue(1, { bad: new Map() } as never)).rejects.toThrow('args[1]');
  });
});

describe('metadata errors across a thread boundary', () => {
  it('come back as their classes, with their fields', () => {
    for (const error of [
      new TaskMetadataTooLarge(5000, 4096),
      new InvalidTaskMetadata('b', 'bad b'),
    ]) {
      const back = exceptionFromData(exceptionToData(error));
      expect(back).toBeInstanceOf(error.constructor);
      expect(back).toMatchObject({ ...error, message: error.message });
    }
  });
});
