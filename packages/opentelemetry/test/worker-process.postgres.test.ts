/**
 * The trace of a task enqueued in this process and run by a `djtasks worker` process on
 * PostgreSQL, with the instrumentation preloaded there by `node --import`.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { configureTasks, taskBackends, type TaskResult } from '@djtasks/tasks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { instrumentTasks } from '../src/index.ts';
import { activeSpan, alwaysFails, failsOnce, succeeds } from './fixtures/tasks.ts';
import { meterProviderWithReader, points } from './support/metrics.ts';
import { scratchPostgres } from './support/postgres.ts';
import { InMemorySpanExporter, registerTracing, spanData, type SpanData } from './support/spans.ts';

const BIN = fileURLToPath(new URL('../bin/djtasks.js', import.meta.resolve('@djtasks/backend-db')));
const CONFIG = fileURLToPath(new URL('./fixtures/djtasks.config.ts', import.meta.url));
const PRELOAD = fileURLToPath(new URL('./fixtures/worker-instrumentation.ts', import.meta.url));

const exporter = new InMemorySpanExporter();
const { provider: meterProvider, reader } = meterProviderWithReader();
let database: Awaited<ReturnType<typeof scratchPostgres>>;
let dir: string;
let uninstrument: () => void;

beforeAll(async () => {
  registerTracing(exporter);
  database = await scratchPostgres();
  dir = mkdtempSync(join(tmpdir(), 'djtasks-otel-'));
  process.env['DJTASKS_TEST_DB'] = database.url;
  configureTasks((await import('./fixtures/djtasks.config.ts')).default);
  uninstrument = instrumentTasks({ meterProvider });
});

afterAll(async () => {
  uninstrument();
  await taskBackends.close();
  configureTasks();
  await meterProvider.shutdown();
  await database.drop();
  rmSync(dir, { recursive: true, force: true });
});

/** Run a `djtasks worker` process until `done` resolves, then stop it; resolves with its spans. */
async function runWorker(done: () => Promise<unknown>): Promise<SpanData[]> {
  const spansFile = join(dir, `spans-${Date.now()}.jsonl`);
  const child = spawn(
    process.execPath,
    ['--import', PRELOAD, BIN, '--config', CONFIG, 'worker', '--no-startup-delay'],
    {
      env: { ...process.env, DJTASKS_TEST_DB: database.url, DJTASKS_TEST_SPANS_FILE: spansFile },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  try {
    await done();
  } catch (error) {
    throw new Error(`${(error as Error).message}\nworker output:\n${output}`, { cause: error });
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
  return readFileSync(spansFile, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as SpanData);
}

const finished = (result: TaskResult) =>
  expect
    .poll(async () => (await taskBackends.get('default').getResult(result.id)).isFinished, {
      timeout: 45_000,
      interval: 100,
    })
    .toBe(true);

describe('a task enqueued here and run by a djtasks worker process (PostgreSQL)', () => {
  it('is one trace: request, enqueue, each attempt in the worker, with errors recorded', async () => {
    const request = trace.getTracer('test').startSpan('POST /reports');
    const requestContext = trace.setSpan(context.active(), request);
    const [active, flaky, failing] = await context.with(requestContext, () =>
      Promise.all([activeSpan.enqueue(), failsOnce.enqueue(), alwaysFails.enqueue()]),
    );
    request.end();
    // Before any worker runs: the queue gauges see the three READY tasks (not a deferred one).
    await succeeds.using({ runAfter: new Date(Date.now() + 3_600_000) }).enqueue(1);
    const before = await reader.collect();
    expect(points(before.resourceMetrics, 'djtasks.queue.ready')).toEqual([
      {
        attributes: { 'djtasks.backend': 'default', 'messaging.destination.name': 'default' },
        value: 3,
      },
    ]);
    const [age] = points(before.resourceMetrics, 'djtasks.queue.oldest_ready.age');
    expect(age!.value).toBeGreaterThanOrEqual(0);

    const workerSpans = await runWorker(async () => {
      for (const result of [active, flaky, failing]) await finished(result);
    });

    const here = exporter.getFinishedSpans().map((span) => spanData(span));
    const producerOf = (result: TaskResult) =>
      here.find((span) => span.attributes['messaging.message.id'] === result.id)!;
    const consumersOf = (result: TaskResult) =>
      workerSpans.filter((span) => span.attributes['messaging.message.id'] === result.id);
    const requestId = request.spanContext();

    for (const result of [active, flaky, failing]) {
      const producer = producerOf(result);
      expect(producer).toMatchObject({
        kind: SpanKind.PRODUCER,
        traceId: requestId.traceId,
        parentSpanId: requestId.spanId,
      });
      for (const consumer of consumersOf(result)) {
        expect(consumer).toMatchObject({
          kind: SpanKind.CONSUMER,
          traceId: requestId.traceId,
          parentSpanId: producer.spanId,
          links: [{ traceId: requestId.traceId, spanId: producer.spanId }],
          attributes: {
            'messaging.system': 'djtasks',
            'messaging.destination.name': 'default',
            'djtasks.task.name': result.task.name,
          },
        });
        expect(consumer.attributes['djtasks.worker.id']).toMatch(/.+/);
      }
    }

    // The consumer span is the active span while the task's function runs in the worker.
    const [activeConsumer] = consumersOf(active);
    const activeDone = await activeSpan.getResult(active.id);
    expect(activeDone.returnValue).toBe(activeConsumer!.spanId);
    expect(activeConsumer!.attributes['djtasks.task.status']).toBe('SUCCESSFUL');

    // One consumer span per attempt; the failed attempt carries its error.
    const flakySpans = consumersOf(flaky).sort(
      (a, b) =>
        Number(a.attributes['djtasks.task.attempt']) - Number(b.attributes['djtasks.task.attempt']),
    );
    expect(
      flakySpans.map((span) => [
        span.attributes['djtasks.task.attempt'],
        span.attributes['djtasks.task.status'],
      ]),
    ).toEqual([
      [1, 'READY'],
      [2, 'SUCCESSFUL'],
    ]);
    expect(flakySpans[0]).toMatchObject({
      status: { code: SpanStatusCode.ERROR, message: 'RangeError: the first attempt fails' },
      events: [{ name: 'exception', attributes: { 'exception.type': 'RangeError' } }],
    });
    expect(consumersOf(failing)).toMatchObject([
      {
        attributes: { 'djtasks.task.status': 'FAILED', 'djtasks.task.retry': false },
        status: { code: SpanStatusCode.ERROR, message: 'TypeError: this task always fails' },
        events: [
          {
            name: 'exception',
            attributes: {
              'exception.type': 'TypeError',
              'exception.message': 'this task always fails',
            },
          },
        ],
      },
    ]);

    // The metrics of the attempts are recorded where they ran (the worker, not here); here
    // the enqueues were counted.
    const after = await reader.collect();
    const enqueued = points(after.resourceMetrics, 'djtasks.tasks.enqueued');
    expect(enqueued.reduce((sum, point) => sum + Number(point.value), 0)).toBe(4);
    expect(points(after.resourceMetrics, 'djtasks.tasks.started')).toEqual([]);
  });
});
