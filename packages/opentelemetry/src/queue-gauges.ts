/**
 * Queue gauges: the tasks ready to run in each queue and the age of the oldest, read from each
 * configured backend that reports them (`DatabaseBackend.queueStats()`), with one query per
 * backend per metrics collection, never per task.
 */
import type { MeterProvider } from '@opentelemetry/api';
import { metrics } from '@opentelemetry/api';
import { taskBackends } from '@djtasks/tasks';
import { getTaskLogger } from '@djtasks/tasks/backend';
import {
  INSTRUMENTATION_NAME,
  INSTRUMENTATION_VERSION,
  MESSAGING_DESTINATION_NAME,
  TASK_BACKEND,
} from './attributes.ts';
import { METRIC_NAMES } from './metrics.ts';

/** What a backend offers to be observed (as `DatabaseBackend` does). */
export interface ReportsQueueStats {
  queueStats(
    now?: Date,
  ): Promise<readonly { queueName: string; ready: number; oldestReadyAt: Date | null }[]>;
}

function reportsQueueStats(backend: unknown): backend is ReportsQueueStats {
  return typeof (backend as Partial<ReportsQueueStats>).queueStats === 'function';
}

/**
 * Observe the queues of the configured backends that report them (all of them, or the
 * aliases in `aliases`). Returns a function that stops.
 */
export function observeQueues(
  meterProvider?: MeterProvider,
  aliases?: readonly string[],
): () => void {
  const meter = (meterProvider ?? metrics.getMeterProvider()).getMeter(
    INSTRUMENTATION_NAME,
    INSTRUMENTATION_VERSION,
  );
  const ready = meter.createObservableGauge(METRIC_NAMES.queueReady, {
    description: 'Tasks ready to run now, per queue (database backends).',
    unit: '{task}',
  });
  const age = meter.createObservableGauge(METRIC_NAMES.queueOldestReadyAge, {
    description: 'How long the oldest task ready to run has waited, per queue (database backends).',
    unit: 's',
  });
  const callback = async (observer: {
    observe(metric: typeof ready, value: number, attributes: Record<string, string>): void;
  }): Promise<void> => {
    const now = new Date();
    for (const alias of aliases ?? taskBackends.aliases) {
      try {
        const backend: unknown = taskBackends.get(alias);
        if (!reportsQueueStats(backend)) continue;
        for (const queue of await backend.queueStats(now)) {
          const attributes = {
            [TASK_BACKEND]: alias,
            [MESSAGING_DESTINATION_NAME]: queue.queueName,
          };
          observer.observe(ready, queue.ready, attributes);
          const oldest = queue.oldestReadyAt?.getTime() ?? now.getTime();
          observer.observe(age, Math.max(0, now.getTime() - oldest) / 1000, attributes);
        }
      } catch (error) {
        getTaskLogger().warn(`could not read the queue gauges of backend '${alias}'`, error);
      }
    }
  };
  meter.addBatchObservableCallback(callback, [ready, age]);
  return () => {
    meter.removeBatchObservableCallback(callback, [ready, age]);
  };
}
