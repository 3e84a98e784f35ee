import { task } from '@djtasks/tasks';

/** Set by the worker process: called in every benchmark task with the task's argument. */
export const hooks: { onTask?: (t: number) => void } = {};

/** A trivial task; `t` is the enqueue time (`process.hrtime` in µs) or 0. */
export const benchTask = task({ name: 'bench.noop' }, (t: number) => {
  hooks.onTask?.(t);
});
