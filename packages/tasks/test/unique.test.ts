import { afterEach, describe, expect, it } from 'vitest';
import {
  configureTasks,
  DummyBackend,
  ImmediateBackend,
  InvalidTask,
  task,
  taskBackends,
  TaskResultStatus,
} from '@djtasks/tasks';
import { BaseTaskBackend } from '@djtasks/tasks/backend';
import { taskResultFromData, taskResultToData } from '@djtasks/tasks/backend';

afterEach(async () => {
  await taskBackends.close();
  configureTasks();
});

const report = task({ name: 'tests.unique.report' }, (id: number) => id);
const other = task({ name: 'tests.unique.other' }, (id: number) => id);

describe('unique keys', () => {
  it('DummyBackend returns the READY task holding the key until it is cancelled', async () => {
    configureTasks({ backends: { default: { backend: DummyBackend } } });
    const backend = taskBackends.get('default') as DummyBackend;
    const first = await report.using({ uniqueKey: 'r-1' }).enqueue(1);
    const again = await report.using({ uniqueKey: 'r-1' }).enqueue(2);
    const otherTask = await other.using({ uniqueKey: 'r-1' }).enqueue(1);
    const many = await report.using({ uniqueKey: 'r-1' }).enqueueMany([[3], [4]]);
    expect(again.id).toBe(first.id);
    expect(again.args).toEqual([1]);
    expect(many.map((result) => result.id)).toEqual([first.id, first.id]);
    expect(otherTask.id).not.toBe(first.id);
    expect(backend.results).toHaveLength(2);
    await first.cancel();
    const after = await report.using({ uniqueKey: 'r-1' }).enqueue(5);
    expect(after.id).not.toBe(first.id);
    expect(backend.results).toHaveLength(3);
  });

  it('ImmediateBackend returns the running task to an enqueue made while it runs, a new one after', async () => {
    const seen: string[] = [];
    const nested = task({ name: 'tests.unique.nested', takesContext: true }, async (context) => {
      const inner = await nested.using({ uniqueKey: 'k' }).enqueue();
      seen.push(inner.id, context.taskResult.id, inner.status);
    });
    const outer = await nested.using({ uniqueKey: 'k' }).enqueue();
    expect(outer.status).toBe(TaskResultStatus.SUCCESSFUL);
    expect(seen).toEqual([outer.id, outer.id, TaskResultStatus.RUNNING]);
    const next = await nested.using({ uniqueKey: 'k' }).enqueue();
    expect(next.id).not.toBe(outer.id);
    expect(taskBackends.get('default')).toBeInstanceOf(ImmediateBackend);
  });

  it('is refused by a backend without supportsUniqueKey, and checked in using()', () => {
    class Plain extends BaseTaskBackend {
      override async enqueue(): Promise<never> {
        return Promise.reject(new Error('not reached'));
      }
    }
    configureTasks({ backends: { default: { backend: Plain } } });
    expect(() => report.using({ uniqueKey: 'x' })).toThrow(
      "Backend 'default' (Plain) does not support unique keys (task 'tests.unique.report' has uniqueKey 'x').",
    );
    configureTasks({ backends: { default: { backend: DummyBackend } } });
    expect(() => report.using({ uniqueKey: '' })).toThrow(InvalidTask);
    expect(() => report.using({ uniqueKey: 'a\0b' })).toThrow(/must not contain a NUL/);
    expect(report.using({ uniqueKey: 'x' }).using({ uniqueKey: null }).uniqueKey).toBeNull();
  });

  it('travels in the wire data, and is left out when there is none', async () => {
    configureTasks({ backends: { default: { backend: DummyBackend } } });
    const keyed = await report.using({ uniqueKey: 'wire' }).enqueue(1);
    const data = taskResultToData(keyed);
    expect(data.uniqueKey).toBe('wire');
    expect(taskResultFromData(data).task.uniqueKey).toBe('wire');
    const plain = taskResultToData(await report.enqueue(2));
    expect('uniqueKey' in plain).toBe(false);
    expect(() => taskResultFromData({ ...data, uniqueKey: 3 })).toThrow(
      /uniqueKey must be a string \(got 3\)/,
    );
  });
});
