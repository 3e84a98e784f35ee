import { describe, expect, it } from 'vitest';
import {
  InvalidTask,
  InvalidTaskResultData,
  task,
  TaskCancelled,
  TaskException,
  TaskJsonError,
  TaskResultStatus,
  TaskTimeout,
} from '@djtasks/tasks';
import {
  createTaskResult,
  exceptionFromData,
  exceptionToData,
  fail,
  startAttempt,
  succeed,
  taskResultFromData,
  taskResultToData,
} from '@djtasks/tasks/backend';

const wired = task(
  { name: 'tests.wire.wired', maxAttempts: 2, backoff: () => 1000 },
  (value: { n: number }) => value,
);

describe('the wire codec', () => {
  it('turns a result into plain JSON and back, errors and return value included', () => {
    const running = startAttempt(createTaskResult(wired, [{ n: 1 }]), 'w1').result;
    const retried = fail(running, new TypeError('bad')).result;
    const done = succeed(startAttempt(retried, 'w2').result, { n: 1 }).result;
    const data = taskResultToData(done);
    const json = JSON.parse(JSON.stringify(data)) as unknown;
    expect(json).toEqual(data);
    expect(data).toMatchObject({
      id: done.id,
      taskName: 'tests.wire.wired',
      queueName: 'default',
      priority: 0,
      backend: 'default',
      status: 'SUCCESSFUL',
      args: [{ n: 1 }],
      workerIds: ['w1', 'w2'],
      returnValue: { n: 1 },
    });
    expect(data.runAfter).toBe(retried.task.runAfter?.getTime());
    expect(data.errors?.[0]).toMatchObject({ exceptionClassPath: 'TypeError', message: 'bad' });

    const back = taskResultFromData<{ n: number }>(json);
    expect(back.task.func).toBe(wired.func);
    expect(back.task.runAfter).toEqual(retried.task.runAfter);
    expect(back.status).toBe(TaskResultStatus.SUCCESSFUL);
    expect(back.returnValue).toEqual({ n: 1 });
    expect(back.errors[0]?.traceback).toBe(done.errors[0]?.traceback);
    expect(back.startedAt).toEqual(done.startedAt);
    expect(taskResultToData(back)).toEqual(data);
  });

  it('leaves out what is null or empty, and reads it back as null or []', () => {
    const fresh = createTaskResult(wired, [{ n: 2 }]);
    const data = taskResultToData(fresh);
    expect(Object.keys(data).sort()).toEqual([
      'args',
      'backend',
      'enqueuedAt',
      'id',
      'priority',
      'queueName',
      'status',
      'taskName',
    ]);
    const back = taskResultFromData(data);
    expect(back.status).toBe(TaskResultStatus.READY);
    expect(back.startedAt).toBeNull();
    expect(back.task.runAfter).toBeNull();
    expect(back.errors).toEqual([]);
    expect(back.workerIds).toEqual([]);
    expect(() => back.returnValue).toThrow('Task has not finished yet');
    // Explicit nulls and empty lists read the same.
    const explicit = { ...data, startedAt: null, runAfter: null, errors: [], workerIds: [] };
    expect(taskResultToData(taskResultFromData(explicit))).toEqual(data);
  });

  it('names the bad field of damaged data, and an unknown task', () => {
    const good = taskResultToData(createTaskResult(wired, [{ n: 2 }]));
    expect(() => taskResultFromData({ ...good, status: 'DONE' })).toThrow(InvalidTaskResultData);
    expect(() => taskResultFromData({ ...good, status: 'DONE' })).toThrow(
      `Task result '${good.id}': status is not a task status (got "DONE")`,
    );
    expect(() =>
      taskResultFromData({ ...good, errors: [{ exceptionClassPath: 'X', message: 1 }] }),
    ).toThrow(`Task result '${good.id}': errors[0].message must be a string (got 1)`);
    expect(() => taskResultFromData({ ...good, enqueuedAt: 'yesterday' })).toThrow(
      'enqueuedAt must be epoch milliseconds or null (got "yesterday")',
    );
    expect(() => taskResultFromData({ ...good, taskName: 'nope' })).toThrow(
      /taskName names the task 'nope', which is not defined here/,
    );
    let error: InvalidTaskResultData | undefined;
    try {
      taskResultFromData({ ...good, workerIds: 'w1' });
    } catch (caught) {
      error = caught as InvalidTaskResultData;
    }
    expect(error?.field).toBe('workerIds');
    expect(error?.resultId).toBe(good.id);
    expect(error).toBeInstanceOf(TaskException);
  });

  it("rebuilds djtasks' exceptions as their classes, with their fields", () => {
    const json = exceptionFromData(
      exceptionToData(new TaskJsonError('args[0].when', 'Date is not JSON')),
    );
    expect(json).toBeInstanceOf(TaskJsonError);
    expect(json).toBeInstanceOf(TypeError);
    expect((json as TaskJsonError).path).toBe('args[0].when');
    expect(json.message).toBe('args[0].when: Date is not JSON');
    const timeout = exceptionFromData(exceptionToData(new TaskTimeout(3)));
    expect(timeout).toBeInstanceOf(TaskTimeout);
    expect((timeout as TaskTimeout).timeout).toBe(3);
    expect(exceptionFromData(exceptionToData(new TaskCancelled('abc')))).toBeInstanceOf(
      TaskCancelled,
    );
    expect(exceptionFromData(exceptionToData(new InvalidTask('no')))).toBeInstanceOf(InvalidTask);
    const other = exceptionFromData(exceptionToData(new SyntaxError('odd')));
    expect(other.name).toBe('SyntaxError');
    expect(other.message).toBe('odd');
  });
});
