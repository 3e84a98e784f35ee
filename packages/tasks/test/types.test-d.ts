import {
  defineConfig,
  DummyBackend,
  ImmediateBackend,
  task,
  type Task,
  type TaskContext,
  type TaskResult,
  TaskResultStatus,
} from '@djtasks/tasks';
import { BaseTaskBackend, type BackendInit } from '@djtasks/tasks/backend';
import { describe, expectTypeOf, it } from 'vitest';

function greet(name: string, times: number) {
  return { greeting: `hello ${name}`, times };
}
const greetTask = task(greet);

describe('task() inference', () => {
  it('takes enqueue parameters and the return type from the function', () => {
    expectTypeOf(greetTask).toEqualTypeOf<
      Task<[name: string, times: number], { greeting: string; times: number }>
    >();
    expectTypeOf(greetTask.enqueue).parameters.toEqualTypeOf<[name: string, times: number]>();
    expectTypeOf(greetTask.enqueue('a', 1)).resolves.toEqualTypeOf<
      TaskResult<{ greeting: string; times: number }>
    >();
    expectTypeOf<TaskResult<number>['returnValue']>().toEqualTypeOf<number>();
    // @ts-expect-error: a number where a string is expected
    void greetTask.enqueue(1, 1);
    // @ts-expect-error: missing argument
    void greetTask.enqueue('a');
  });

  it('unwraps async functions and maps a void return', () => {
    const asyncTask = task({ name: 'types.async' }, async (id: number) => {
      await Promise.resolve();
      return [id];
    });
    expectTypeOf(asyncTask.enqueue).returns.resolves.toEqualTypeOf<TaskResult<number[]>>();
    const voidTask = task({ name: 'types.void' }, async (_to: string): Promise<void> => {});
    expectTypeOf(voidTask.call).returns.toEqualTypeOf<Promise<void>>();
  });

  it('passes the context first and leaves it out of enqueue', () => {
    const withContext = task(
      { name: 'types.context', takesContext: true },
      (context, id: string) => {
        expectTypeOf(context).toEqualTypeOf<TaskContext>();
        expectTypeOf(context.attempt).toBeNumber();
        expectTypeOf(context.signal).toEqualTypeOf<AbortSignal>();
        return id.length;
      },
    );
    expectTypeOf(withContext.enqueue).parameters.toEqualTypeOf<[id: string]>();
    expectTypeOf(withContext.call).parameters.toEqualTypeOf<[TaskContext, id: string]>();
  });

  it('refuses parameters and return values that JSON cannot carry', () => {
    // @ts-expect-error: Date is not a JSON value
    task({ name: 'types.date' }, (_when: Date) => 1);
    // @ts-expect-error: Map is not a JSON value
    task({ name: 'types.map' }, (_m: Map<string, string>) => 1);
    // @ts-expect-error: bigint is not a JSON value
    task({ name: 'types.bigint' }, (_n: bigint) => 1);
    // @ts-expect-error: returning a Date
    task({ name: 'types.returnsDate' }, () => new Date());
    // @ts-expect-error: functions are not JSON
    task({ name: 'types.fn' }, (_f: () => void) => 1);
    task({ name: 'types.nested' }, (_p: { tags: string[]; meta: { n: number | null } }) => 1);
  });

  it('has using() return the same task type', () => {
    expectTypeOf(greetTask.using({ priority: 1 })).toEqualTypeOf(greetTask);
    // @ts-expect-error: takesContext cannot be changed with using()
    greetTask.using({ takesContext: true });
  });
});

describe('statuses and configuration', () => {
  it('has a status union matching the const object', () => {
    expectTypeOf<TaskResultStatus>().toEqualTypeOf<
      'READY' | 'RUNNING' | 'FAILED' | 'SUCCESSFUL' | 'CANCELLED'
    >();
    expectTypeOf(TaskResultStatus.READY).toEqualTypeOf<'READY'>();
  });

  it("checks each backend's options against its class", () => {
    interface PoolOptions {
      maxWorkers?: number;
    }
    class Pool extends BaseTaskBackend<PoolOptions> {
      constructor(init: BackendInit<PoolOptions>) {
        super(init);
      }
      override enqueue(): Promise<never> {
        throw new Error('unused');
      }
    }
    defineConfig({
      backends: {
        default: { backend: ImmediateBackend },
        pool: { backend: Pool, options: { maxWorkers: 2 } },
      },
    });
    defineConfig({
      backends: {
        default: { backend: DummyBackend },
        // @ts-expect-error: maxWorkers must be a number
        pool: { backend: Pool, options: { maxWorkers: 'two' } },
      },
    });
  });
});

describe('timeouts and cancellation', () => {
  it('takes a timeout at definition and not through using()', () => {
    const timed = task({ name: 'types.timed', timeout: 5 }, (n: number) => n);
    expectTypeOf(timed.timeout).toEqualTypeOf<number | null>();
    // @ts-expect-error: timeout is not a using() option
    timed.using({ timeout: 1 });
    // @ts-expect-error: a timeout is a number of seconds
    task({ name: 'types.badTimeout', timeout: '5s' }, () => {});
  });

  it('cancels through the result and the backend', () => {
    expectTypeOf<TaskResult<number>['cancel']>().returns.toEqualTypeOf<Promise<void>>();
    expectTypeOf<BaseTaskBackend['cancel']>().returns.toEqualTypeOf<Promise<TaskResult>>();
    expectTypeOf<BaseTaskBackend['supportsCancel']>().toEqualTypeOf<boolean>();
    expectTypeOf<BaseTaskBackend['supportsTimeout']>().toEqualTypeOf<boolean>();
  });
});
