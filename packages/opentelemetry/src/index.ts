/**
 * OpenTelemetry for djtasks. `instrumentTasks()` adds the tracing and metrics
 * instrumentations to every enqueue and attempt of this process, and the queue gauges.
 */
import type { MeterProvider, TracerProvider } from '@opentelemetry/api';
import { addTaskInstrumentation } from '@djtasks/tasks';
import { metricsInstrumentation } from './metrics.ts';
import { observeQueues } from './queue-gauges.ts';
import { tracingInstrumentation } from './tracing.ts';

export {
  INSTRUMENTATION_NAME,
  MESSAGING_DESTINATION_NAME,
  MESSAGING_MESSAGE_ID,
  TASK_ATTEMPT,
  TASK_BACKEND,
  TASK_NAME,
  TASK_RETRY,
  TASK_STATUS,
  TASK_WORKER_ID,
} from './attributes.ts';
export { METRIC_NAMES, metricsInstrumentation } from './metrics.ts';
export { observeQueues, type ReportsQueueStats } from './queue-gauges.ts';
export { tracingInstrumentation } from './tracing.ts';

/** Options of {@link instrumentTasks}. */
export interface InstrumentTasksOptions {
  /** Record spans. @defaultValue true */
  traces?: boolean;
  /** Record the task counters and histograms. @defaultValue true */
  metrics?: boolean;
  /**
   * Observe the queues of the configured backends that report them (database backends), or
   * only the backends with these aliases; `false` for none. @defaultValue true
   */
  queueGauges?: boolean | readonly string[];
  /** Where spans go. @defaultValue the global tracer provider (`trace.getTracerProvider()`) */
  tracerProvider?: TracerProvider;
  /** Where metrics go. @defaultValue the global meter provider (`metrics.getMeterProvider()`) */
  meterProvider?: MeterProvider;
}

/**
 * In a worker thread of the thread pool (call it from the backend's `threadSetup` module,
 * after setting up an OpenTelemetry SDK in that thread): run each task's function inside the
 * attempt's consumer span, which the main thread records, so that the spans the task makes
 * are its children. Returns a function that undoes it.
 */
export function instrumentTaskThread(): () => void {
  const { execute } = tracingInstrumentation();
  return addTaskInstrumentation({ execute });
}

/**
 * Trace and measure every task enqueued and every attempt run in this process, from now on.
 * Call it once at start-up, after setting up the OpenTelemetry SDK, in the web process and
 * in every worker process (`node --import ./instrumentation.ts …`). Returns a function that
 * undoes it.
 */
export function instrumentTasks(options: InstrumentTasksOptions = {}): () => void {
  const undo: (() => void)[] = [];
  if (options.traces ?? true) {
    undo.push(addTaskInstrumentation(tracingInstrumentation(options.tracerProvider)));
  }
  if (options.metrics ?? true) {
    undo.push(addTaskInstrumentation(metricsInstrumentation(options.meterProvider)));
  }
  const gauges = options.queueGauges ?? true;
  if (gauges !== false) {
    undo.push(observeQueues(options.meterProvider, gauges === true ? undefined : gauges));
  }
  return () => {
    for (const step of undo.splice(0)) step();
  };
}
