/**
 * Metrics through the OpenTelemetry metrics API: counters of enqueued, started, finished
 * (by status) and retried tasks, histograms of the wait before an attempt starts and of its
 * run time, per task name and queue. Recorded by the enqueue and attempt hooks, so in the
 * process that enqueues (`enqueued`) and in the one that runs the attempt (the rest).
 */
import type { Attributes, MeterProvider } from '@opentelemetry/api';
import { metrics } from '@opentelemetry/api';
import type { TaskInstrumentation, TaskResult } from '@djtasks/tasks';
import type { AnyTask } from '@djtasks/tasks/backend';
import {
  INSTRUMENTATION_NAME,
  INSTRUMENTATION_VERSION,
  MESSAGING_DESTINATION_NAME,
  TASK_BACKEND,
  TASK_NAME,
  TASK_STATUS,
} from './attributes.ts';

/** The names of the instruments, as recorded (Prometheus turns dots into underscores). */
export const METRIC_NAMES = {
  enqueued: 'djtasks.tasks.enqueued',
  started: 'djtasks.tasks.started',
  finished: 'djtasks.tasks.finished',
  retried: 'djtasks.tasks.retried',
  waitTime: 'djtasks.task.wait.duration',
  runTime: 'djtasks.task.run.duration',
  queueReady: 'djtasks.queue.ready',
  queueOldestReadyAge: 'djtasks.queue.oldest_ready.age',
} as const;

/** Histogram buckets in seconds, from 5 ms to 1 h: tasks wait and run from milliseconds to hours. */
const DURATION_BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600,
];

function attributesOf(task: AnyTask): Attributes {
  return {
    [TASK_NAME]: task.name,
    [MESSAGING_DESTINATION_NAME]: task.queueName,
    [TASK_BACKEND]: task.backend,
  };
}

/**
 * Seconds between the moment `running` became ready to run and the start of its attempt: the
 * later of `enqueuedAt` and `runAfter`. Only for a first attempt: a retry's wait is its backoff.
 */
function waitSeconds(running: TaskResult): number | null {
  if (running.attempts !== 1 || !running.lastAttemptedAt || !running.enqueuedAt) return null;
  const readyAt = Math.max(running.enqueuedAt.getTime(), running.task.runAfter?.getTime() ?? 0);
  return Math.max(0, running.lastAttemptedAt.getTime() - readyAt) / 1000;
}

/** The metrics instrumentation, for `addTaskInstrumentation`. */
export function metricsInstrumentation(meterProvider?: MeterProvider): TaskInstrumentation {
  const meter = (meterProvider ?? metrics.getMeterProvider()).getMeter(
    INSTRUMENTATION_NAME,
    INSTRUMENTATION_VERSION,
  );
  const enqueued = meter.createCounter(METRIC_NAMES.enqueued, {
    description: 'Tasks enqueued.',
    unit: '{task}',
  });
  const started = meter.createCounter(METRIC_NAMES.started, {
    description: 'Attempts started.',
    unit: '{attempt}',
  });
  const finished = meter.createCounter(METRIC_NAMES.finished, {
    description: 'Tasks finished, by status (SUCCESSFUL, FAILED, CANCELLED).',
    unit: '{task}',
  });
  const retried = meter.createCounter(METRIC_NAMES.retried, {
    description: 'Attempts that failed and will be attempted again.',
    unit: '{attempt}',
  });
  const waitTime = meter.createHistogram(METRIC_NAMES.waitTime, {
    description:
      'Time from when a task was ready to run (enqueued, or its runAfter) to the start of its first attempt.',
    unit: 's',
    advice: { explicitBucketBoundaries: DURATION_BUCKETS },
  });
  const runTime = meter.createHistogram(METRIC_NAMES.runTime, {
    description: 'Time an attempt ran, by the status it left the task in.',
    unit: 's',
    advice: { explicitBucketBoundaries: DURATION_BUCKETS },
  });

  return {
    enqueue: async (task, _count, enqueue) => {
      const results = await enqueue();
      enqueued.add(results.length, attributesOf(task));
      return results;
    },
    attempt: async (running, attempt) => {
      const attributes = attributesOf(running.task);
      started.add(1, attributes);
      const wait = waitSeconds(running);
      if (wait !== null) waitTime.record(wait, attributes);
      const begin = performance.now();
      const outcome = await attempt();
      const status = { ...attributes, [TASK_STATUS]: outcome.status };
      runTime.record((performance.now() - begin) / 1000, status);
      if (outcome.isFinished) finished.add(1, status);
      else retried.add(1, attributes);
      return outcome;
    },
  };
}
