import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { configureTasks, ImmediateBackend, taskBackends, TaskResultStatus } from '@djtasks/tasks';
import { ThreadPoolBackend } from '@djtasks/backend-local';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { instrumentTasks } from '../src/index.ts';
import { BroadcastChannel } from 'node:worker_threads';
import { activeSpan, alwaysFails, failsOnce, makesSpan, succeeds } from './fixtures/tasks.ts';
import { THREAD_SPANS_CHANNEL } from './fixtures/thread-setup.ts';
import { InMemorySpanExporter, registerTracing, spanData, type SpanData } from './support/spans.ts';

const exporter = new InMemorySpanExporter();
let uninstrument: (() => void) | undefined;
const quiet = { debug() {}, info() {}, warn() {}, error() {} };

beforeAll(() => {
  registerTracing(exporter);
});

afterEach(async () => {
  uninstrument?.();
  uninstrument = undefined;
  exporter.reset();
  await taskBackends.close();
  configureTasks();
});

const spans = (): SpanData[] => exporter.getFinishedSpans().map((span) => spanData(span));
const byName = (name: string) => spans().filter((span) => span.name === name);

/** Run `fn` inside a span standing for the web request that enqueues. */
function inRequest<T>(fn: () => Promise<T>): Promise<{ value: T; request: SpanData }> {
  return trace
    .getTracer('test')
    .startActiveSpan('POST /reports', async (span) => {
      try {
        return await fn();
      } finally {
        span.end();
      }
    })
    .then((value) => ({ value, request: byName('POST /reports')[0]! }));
}

describe('traces on the ImmediateBackend', () => {
  it('records nothing and adds no metadata when not instrumented', async () => {
    configureTasks({ backends: { default: { backend: ImmediateBackend } }, logger: quiet });
    const result = await succeeds.enqueue(1);
    expect(result.returnValue).toBe(2);
    expect(result.metadata).toEqual({});
    expect(spans()).toEqual([]);
  });

  it('puts the enqueue (producer) and the attempt (consumer, active while the task runs) in the request trace', async () => {
    configureTasks({ backends: { default: { backend: ImmediateBackend } }, logger: quiet });
    uninstrument = instrumentTasks({ metrics: false, queueGauges: false });
    const { value: result, request } = await inRequest(() => activeSpan.enqueue());
    const [producer] = byName('send otel.fixtures.activeSpan');
    const [consumer] = byName('process otel.fixtures.activeSpan');
    expect(producer).toMatchObject({
      kind: SpanKind.PRODUCER,
      traceId: request.traceId,
      parentSpanId: request.spanId,
      attributes: {
        'messaging.system': 'djtasks',
        'messaging.operation.type': 'send',
        'messaging.destination.name': 'default',
        'messaging.message.id': result.id,
        'djtasks.task.name': 'otel.fixtures.activeSpan',
        'djtasks.backend': 'default',
      },
    });
    expect(result.metadata.traceparent).toBe(`00-${request.traceId}-${producer!.spanId}-01`);
    expect(consumer).toMatchObject({
      kind: SpanKind.CONSUMER,
      traceId: request.traceId,
      parentSpanId: producer!.spanId,
      links: [{ traceId: request.traceId, spanId: producer!.spanId }],
      attributes: {
        'messaging.operation.type': 'process',
        'messaging.message.id': result.id,
        'djtasks.task.attempt': 1,
        'djtasks.task.status': 'SUCCESSFUL',
        'djtasks.task.retry': false,
      },
      status: { code: SpanStatusCode.UNSET },
    });
    expect(result.returnValue).toBe(consumer!.spanId);
  });

  it('makes one consumer span per attempt, with the error of a failed one recorded', async () => {
    configureTasks({ backends: { default: { backend: ImmediateBackend } }, logger: quiet });
    uninstrument = instrumentTasks({ metrics: false, queueGauges: false });
    const result = await failsOnce.enqueue();
    expect(result.status).toBe(TaskResultStatus.SUCCESSFUL);
    const [producer] = byName('send otel.fixtures.failsOnce');
    const attempts = byName('process otel.fixtures.failsOnce');
    expect(attempts.map((span) => span.attributes['djtasks.task.attempt'])).toEqual([1, 2]);
    expect(attempts.every((span) => span.parentSpanId === producer!.spanId)).toBe(true);
    expect(attempts[0]).toMatchObject({
      attributes: { 'djtasks.task.status': 'READY', 'djtasks.task.retry': true },
      status: { code: SpanStatusCode.ERROR, message: 'RangeError: the first attempt fails' },
      events: [
        {
          name: 'exception',
          attributes: {
            'exception.type': 'RangeError',
            'exception.message': 'the first attempt fails',
          },
        },
      ],
    });
    expect(attempts[0]!.events[0]!.attributes['exception.stacktrace']).toContain('RangeError');
    expect(attempts[1]).toMatchObject({
      attributes: { 'djtasks.task.status': 'SUCCESSFUL' },
      status: { code: SpanStatusCode.UNSET },
      events: [],
    });
  });

  it('records a producer span with the batch size for enqueueMany, and stops when undone', async () => {
    configureTasks({ backends: { default: { backend: ImmediateBackend } }, logger: quiet });
    uninstrument = instrumentTasks({ metrics: false, queueGauges: false });
    await succeeds.enqueueMany([[1], [2], [3]]);
    expect(byName('send otel.fixtures.succeeds')).toMatchObject([
      { attributes: { 'messaging.batch.message_count': 3 } },
    ]);
    expect(byName('process otel.fixtures.succeeds')).toHaveLength(3);
    uninstrument();
    exporter.reset();
    expect((await succeeds.enqueue(1)).metadata).toEqual({});
    expect(spans()).toEqual([]);
  });
});

describe('traces on the thread pool', () => {
  it('links each attempt in a worker thread to its enqueue, errors included', async () => {
    configureTasks({
      backends: { default: { backend: ThreadPoolBackend, options: { maxWorkers: 1 } } },
      taskModules: [new URL('./fixtures/tasks.ts', import.meta.url).href],
      logger: quiet,
    });
    uninstrument = instrumentTasks({ metrics: false, queueGauges: false });
    const { value: result, request } = await inRequest(() => alwaysFails.enqueue());
    await expect.poll(async () => (await alwaysFails.getResult(result.id)).status).toBe('FAILED');
    await expect.poll(() => byName('process otel.fixtures.alwaysFails').length).toBe(1);
    const [producer] = byName('send otel.fixtures.alwaysFails');
    const [consumer] = byName('process otel.fixtures.alwaysFails');
    expect(producer!.parentSpanId).toBe(request.spanId);
    expect(consumer).toMatchObject({
      traceId: request.traceId,
      parentSpanId: producer!.spanId,
      attributes: { 'djtasks.task.status': 'FAILED', 'djtasks.task.attempt': 1 },
      status: { code: SpanStatusCode.ERROR, message: 'TypeError: this task always fails' },
    });
  });

  it('makes the consumer span the parent of spans made in the task body, in an instrumented thread', async () => {
    const fromThreads: SpanData[] = [];
    const channel = new BroadcastChannel(THREAD_SPANS_CHANNEL);
    channel.onmessage = (event) => {
      fromThreads.push((event as { data: SpanData }).data);
    };
    try {
      configureTasks({
        backends: {
          default: {
            backend: ThreadPoolBackend,
            options: {
              maxWorkers: 1,
              threadSetup: new URL('./fixtures/thread-setup.ts', import.meta.url),
            },
          },
        },
        taskModules: [new URL('./fixtures/tasks.ts', import.meta.url).href],
        logger: quiet,
      });
      uninstrument = instrumentTasks({ metrics: false, queueGauges: false });
      const { value: result, request } = await inRequest(() => makesSpan.enqueue());
      // The thread imports the SDK first: give it time on a loaded machine.
      const patiently = { timeout: 30_000 };
      await expect
        .poll(async () => (await makesSpan.getResult(result.id)).status, patiently)
        .toBe('SUCCESSFUL');
      await expect.poll(() => byName('process otel.fixtures.makesSpan').length, patiently).toBe(1);
      await expect.poll(() => fromThreads.length, patiently).toBe(1);
      const [consumer] = byName('process otel.fixtures.makesSpan');
      const [inTask] = fromThreads;
      expect(inTask).toMatchObject({
        name: 'render the report',
        traceId: request.traceId,
        parentSpanId: consumer!.spanId,
      });
      expect(consumer!.traceId).toBe(request.traceId);
      const { returnValue } = await makesSpan.getResult(result.id);
      expect(returnValue).toEqual({
        traceId: request.traceId,
        spanId: inTask!.spanId,
        activeBefore: true,
      });
    } finally {
      channel.close();
    }
  }, 60_000);
});
