import { describe, expect, it } from 'vitest';
import {
  InvalidTask,
  task,
  TaskAlreadyFinished,
  taskFinished,
  TaskResultStatus,
  taskStarted,
  WorkerLost,
} from '@djtasks/tasks';
import {
  cancel,
  createTaskResult,
  fail,
  lose,
  startAttempt,
  succeed,
  timeOut,
} from '@djtasks/tasks/backend';

const once = task({ name: 'tests.transitions.once' }, (n: number) => n);
const thrice = task(
  { name: 'tests.transitions.thrice', maxAttempts: 3, backoff: (attempt) => attempt * 1000 },
  (n: number) => n,
);
const timed = task(
  { name: 'tests.transitions.timed', timeout: 2, maxAttempts: 2, backoff: () => 0 },
  () => {},
);

const t0 = new Date('2026-12-01T10:00:00Z');
const t1 = new Date('2026-12-01T10:00:05Z');

describe('the task lifecycle transitions', () => {
  it('startAttempt: READY -> RUNNING, appends the worker, keeps the first start, sends taskStarted', () => {
    const ready = createTaskResult(once, [1]);
    const { result, signal, retryAt } = startAttempt(ready, 'w1', t0);
    expect(result).not.toBe(ready);
    expect(ready.status).toBe(TaskResultStatus.READY);
    expect(result.status).toBe(TaskResultStatus.RUNNING);
    expect(result.workerIds).toEqual(['w1']);
    expect(result.startedAt).toEqual(t0);
    expect(result.lastAttemptedAt).toEqual(t0);
    expect(signal).toBe(taskStarted);
    expect(retryAt).toBeNull();
    expect(() => startAttempt(result, 'w2')).toThrow(InvalidTask);
  });

  it('succeed: RUNNING -> SUCCESSFUL with the value, sends taskFinished', () => {
    const running = startAttempt(createTaskResult(once, [1]), 'w1', t0).result;
    const { result, signal } = succeed(running, 1, t1);
    expect(result.status).toBe(TaskResultStatus.SUCCESSFUL);
    expect(result.returnValue).toBe(1);
    expect(result.finishedAt).toEqual(t1);
    expect(signal).toBe(taskFinished);
    expect(() => succeed(createTaskResult(once, [1]), 1)).toThrow(
      /Cannot record the success of task result '.*' \(tests.transitions.once\): it is READY, not RUNNING/,
    );
  });

  it('fail: READY again after the backoff delay while attempts are left, with no signal; FAILED and taskFinished after', () => {
    let result = startAttempt(createTaskResult(thrice, [1]), 'w1', t0).result;
    const first = fail(result, new RangeError('first'), { now: t0 });
    expect(first.result.status).toBe(TaskResultStatus.READY);
    expect(first.signal).toBeNull();
    expect(first.retryAt).toEqual(new Date(t0.getTime() + 1000));
    expect(first.result.task.runAfter).toEqual(first.retryAt);
    expect(first.result.errors.map((e) => [e.exceptionClassPath, e.message])).toEqual([
      ['RangeError', 'first'],
    ]);
    result = startAttempt(first.result, 'w2', t1).result;
    expect(result.startedAt).toEqual(t0);
    const second = fail(result, new Error('second'), { now: t1, deferRetry: false });
    expect(second.result.task.runAfter).toEqual(first.retryAt);
    expect(second.retryAt).toEqual(new Date(t1.getTime() + 2000));
    result = startAttempt(second.result, 'w3', t1).result;
    const last = fail(result, 'a string', { now: t1 });
    expect(last.result.status).toBe(TaskResultStatus.FAILED);
    expect(last.result.finishedAt).toEqual(t1);
    expect(last.signal).toBe(taskFinished);
    expect(last.result.errors).toHaveLength(3);
    expect(last.result.attempts).toBe(3);
  });

  it('a retry rebuilds the task without validating it against the configuration', () => {
    const elsewhere = task(
      { name: 'tests.transitions.elsewhere', queueName: 'gone', maxAttempts: 2, backoff: () => 5 },
      () => {},
    );
    // No backend accepts queue 'gone' (the default Immediate accepts only 'default').
    const running = startAttempt(createTaskResult(elsewhere, []), 'w1', t0).result;
    const retried = fail(running, new Error('x'), { now: t0 });
    expect(retried.result.status).toBe(TaskResultStatus.READY);
    expect(retried.result.task.queueName).toBe('gone');
    expect(retried.result.task.func).toBe(elsewhere.func);
  });

  it('timeOut records a TaskTimeout and retries or fails like a failure', () => {
    const running = startAttempt(createTaskResult(timed, []), 'w1', t0).result;
    const first = timeOut(running, { now: t1 });
    expect(first.result.status).toBe(TaskResultStatus.READY);
    expect(first.result.errors[0]).toMatchObject({
      exceptionClassPath: 'TaskTimeout',
      message: 'The attempt ran past its timeout of 2 s.',
    });
    const second = timeOut(startAttempt(first.result, 'w2', t1).result, { now: t1 });
    expect(second.result.status).toBe(TaskResultStatus.FAILED);
    expect(second.signal).toBe(taskFinished);
  });

  it('lose records a WorkerLost error', () => {
    const running = startAttempt(createTaskResult(once, [1]), 'w1', t0).result;
    const { result, signal } = lose(running, 'worker w1 stopped renewing its lease');
    expect(result.status).toBe(TaskResultStatus.FAILED);
    expect(result.errors[0]?.exceptionClassPath).toBe('WorkerLost');
    expect(result.errors[0]?.message).toBe('worker w1 stopped renewing its lease');
    expect(signal).toBe(taskFinished);
    const again = lose(running, new WorkerLost('thread ended'));
    expect(again.result.errors[0]?.message).toBe('thread ended');
  });

  it('cancel: READY or RUNNING -> CANCELLED with taskFinished; twice is harmless; finished refuses', () => {
    const ready = createTaskResult(once, [1]);
    const cancelled = cancel(ready, t1);
    expect(cancelled.result.status).toBe(TaskResultStatus.CANCELLED);
    expect(cancelled.result.finishedAt).toEqual(t1);
    expect(cancelled.result.isFinished).toBe(true);
    expect(cancelled.signal).toBe(taskFinished);
    expect(() => cancelled.result.returnValue).toThrow('Task was cancelled');
    const twice = cancel(cancelled.result);
    expect(twice.result).toBe(cancelled.result);
    expect(twice.signal).toBeNull();

    const running = startAttempt(createTaskResult(thrice, [1]), 'w1', t0).result;
    expect(cancel(running).result.status).toBe(TaskResultStatus.CANCELLED);

    const done = succeed(startAttempt(createTaskResult(once, [1]), 'w1').result, 1).result;
    expect(() => cancel(done)).toThrow(TaskAlreadyFinished);
    expect(() => cancel(done)).toThrow(
      `Task result '${done.id}' has already finished (SUCCESSFUL); it cannot be cancelled.`,
    );
    expect(done.status).toBe(TaskResultStatus.SUCCESSFUL);
  });
});
