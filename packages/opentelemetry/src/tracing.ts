/**
 * Traces: a PRODUCER span around each enqueue, whose context travels in the task's metadata,
 * and a CONSUMER span around each attempt, in whatever process runs it, child of (and linked
 * to) that producer span, so that the request that enqueued a task and every attempt of it
 * are one trace.
 */
import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Link,
  type Span,
  type Tracer,
  type TracerProvider,
} from '@opentelemetry/api';
import type { TaskInstrumentation, TaskResult } from '@djtasks/tasks';
import type { AnyTask } from '@djtasks/tasks/backend';
import {
  INSTRUMENTATION_NAME,
  INSTRUMENTATION_VERSION,
  MESSAGING_BATCH_MESSAGE_COUNT,
  MESSAGING_DESTINATION_NAME,
  MESSAGING_MESSAGE_ID,
  MESSAGING_OPERATION_NAME,
  MESSAGING_OPERATION_TYPE,
  MESSAGING_SYSTEM,
  SYSTEM,
  TASK_ATTEMPT,
  TASK_BACKEND,
  TASK_NAME,
  TASK_RETRY,
  TASK_STATUS,
  TASK_WORKER_ID,
} from './attributes.ts';

function taskAttributes(task: AnyTask): Attributes {
  return {
    [MESSAGING_SYSTEM]: SYSTEM,
    [MESSAGING_DESTINATION_NAME]: task.queueName,
    [TASK_NAME]: task.name,
    [TASK_BACKEND]: task.backend,
  };
}

function recordException(span: Span, error: unknown): void {
  span.recordException(error instanceof Error ? error : String(error));
  span.setStatus({
    code: SpanStatusCode.ERROR,
    message: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
  });
}

/** Record on `span` what the attempt from `running` to `outcome` did. */
function recordOutcome(span: Span, running: TaskResult, outcome: TaskResult): void {
  span.setAttribute(TASK_STATUS, outcome.status);
  const retried = outcome.status === 'READY';
  span.setAttribute(TASK_RETRY, retried);
  if (outcome.errors.length <= running.errors.length) return;
  const error = outcome.errors.at(-1)!;
  // The error is data (a TaskError: class name, message, traceback), maybe from another
  // thread: the `exception` event of the semantic conventions, written from its fields.
  span.addEvent('exception', {
    'exception.type': error.exceptionClassPath,
    'exception.message': error.message,
    'exception.stacktrace': error.traceback,
  });
  span.setStatus({
    code: SpanStatusCode.ERROR,
    message: `${error.exceptionClassPath}: ${error.message}`,
  });
}

/** The tracing instrumentation, for `addTaskInstrumentation`. */
export function tracingInstrumentation(tracerProvider?: TracerProvider): TaskInstrumentation {
  let cached: Tracer | undefined;
  const tracer = (): Tracer =>
    (cached ??= (tracerProvider ?? trace.getTracerProvider()).getTracer(
      INSTRUMENTATION_NAME,
      INSTRUMENTATION_VERSION,
    ));

  return {
    enqueue: (task, count, enqueue) =>
      tracer().startActiveSpan(
        `send ${task.name}`,
        {
          kind: SpanKind.PRODUCER,
          attributes: {
            ...taskAttributes(task),
            [MESSAGING_OPERATION_TYPE]: 'send',
            [MESSAGING_OPERATION_NAME]: 'enqueue',
            ...(count === 1 ? {} : { [MESSAGING_BATCH_MESSAGE_COUNT]: count }),
          },
        },
        async (span) => {
          try {
            const results = await enqueue();
            if (count === 1 && results[0]) span.setAttribute(MESSAGING_MESSAGE_ID, results[0].id);
            return results;
          } catch (error) {
            recordException(span, error);
            throw error;
          } finally {
            span.end();
          }
        },
      ),

    metadata: () => {
      const carrier: Record<string, string> = {};
      propagation.inject(context.active(), carrier);
      return carrier;
    },

    // On the thread pool, in the worker thread: the consumer span made on the main thread is
    // the parent of what the task's function does (its context came as attempt metadata).
    execute: (_running, attemptMetadata, execute) =>
      context.with(propagation.extract(ROOT_CONTEXT, attemptMetadata), execute),

    attempt: (running, attempt) => {
      const parent = propagation.extract(ROOT_CONTEXT, running.metadata);
      const producer = trace.getSpanContext(parent);
      const links: Link[] = producer ? [{ context: producer }] : [];
      const span = tracer().startSpan(
        `process ${running.task.name}`,
        {
          kind: SpanKind.CONSUMER,
          links,
          attributes: {
            ...taskAttributes(running.task),
            [MESSAGING_OPERATION_TYPE]: 'process',
            [MESSAGING_OPERATION_NAME]: 'run',
            [MESSAGING_MESSAGE_ID]: running.id,
            [TASK_ATTEMPT]: running.attempts,
            [TASK_WORKER_ID]: running.workerIds.at(-1) ?? '',
          },
        },
        parent,
      );
      return context.with(trace.setSpan(parent, span), async () => {
        try {
          const outcome = await attempt();
          recordOutcome(span, running, outcome);
          return outcome;
        } catch (error) {
          recordException(span, error);
          throw error;
        } finally {
          span.end();
        }
      });
    },
  };
}
