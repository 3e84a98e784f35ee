import { task } from '@djtasks/tasks';

/** Called when a benchmark task starts, if set (latency measurement). */
export const hooks: { started?: () => void } = {};

/** A trivial task. */
export const benchNoop = task({ name: 'bench.noop' }, () => {
  hooks.started?.();
});
