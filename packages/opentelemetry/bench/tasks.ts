import { task } from '@djtasks/tasks';

/** The cheapest task: what the overhead per task is measured against. */
export const benchNoop = task({ name: 'otel.bench.noop' }, () => {});
