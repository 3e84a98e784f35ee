/**
 * One trace from the request to the email: the web server and a worker process, started as
 * `./dev demo` starts them, export their spans over OTLP/HTTP (the standard OTEL_* variables)
 * to a receiver this test runs. Asking for a report must give ONE trace holding the HTTP
 * request, the enqueue of the PDF task, its attempt in the worker, and the notification's
 * enqueue and attempt, each linked to its parent as OpenTelemetry's messaging conventions say.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { environmentWith } from '../src/settings.ts';
import { Client } from './support/client.ts';
import {
  SpanKind,
  startOtlpReceiver,
  type OtlpReceiver,
  type ReceivedSpan,
} from './support/otlp-receiver.ts';
import {
  APP_DIR,
  migrate,
  startApp,
  startWorker,
  temporaryFolder,
  type RunningApp,
  type RunningProcess,
} from './support/processes.ts';
import { recipients, startSmtpServer, type Inbox } from './support/smtp.ts';

let receiver: OtlpReceiver;
let inbox: Inbox;
let app: RunningApp;
let worker: RunningProcess;
const folder = temporaryFolder('demo-tracing-');
const run = promisify(execFile);

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  inbox = await startSmtpServer();
  const env = {
    TASK_BACKEND: 'database',
    DATABASE_URL: `sqlite:${join(folder.path, 'db.sqlite3')}`,
    MEDIA_ROOT: join(folder.path, 'media'),
    EMAIL_BACKEND: 'smtp',
    EMAIL_PORT: String(inbox.port),
    OTEL_TRACES_EXPORTER: 'otlp',
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
    OTEL_METRICS_EXPORTER: 'none',
    OTEL_LOGS_EXPORTER: 'none',
    // Export each batch within 100 ms, so the test does not wait for the default 5 s.
    OTEL_BSP_SCHEDULE_DELAY: '100',
  };
  await migrate(env);
  app = await startApp(env);
  worker = await startWorker(env);
});

afterAll(async () => {
  await worker?.stop();
  await app?.stop();
  await inbox?.close();
  await receiver?.close();
  folder.remove();
});

/** The spans of `traceId` once `done` says they are all there. */
async function traceOf(
  traceId: () => string | undefined,
  done: (spans: ReceivedSpan[]) => boolean,
) {
  await expect
    .poll(
      () => {
        const id = traceId();
        return id !== undefined && done(receiver.spans.filter((s) => s.traceId === id));
      },
      { timeout: 60_000, interval: 100 },
    )
    .toBe(true);
  return receiver.spans.filter((s) => s.traceId === traceId());
}

it('makes one trace of a report request: HTTP, enqueue, the PDF attempt in the worker, the notification', async () => {
  const client = new Client(app.url);
  await client.signUpAndLogIn({
    email: 'tracy@example.com',
    name: 'Tracy',
    password: 'span-and-trace-42',
  });
  const created = await client.post('/reports', {
    title: 'Latency per week',
    data: [
      { label: 'W1', value: 120 },
      { label: 'W2', value: 95 },
    ],
  });
  expect(created.status).toBe(202);
  await inbox.waitFor(
    (m) => recipients(m).includes('tracy@example.com') && /is ready$/.test(m.subject ?? ''),
  );

  const isRequest = (s: ReceivedSpan) => s.kind === SpanKind.SERVER && s.name === 'POST /reports';
  const named = (spans: ReceivedSpan[], kind: number, name: string) =>
    spans.filter((s) => s.kind === kind && s.name === name);
  const spans = await traceOf(
    () => receiver.spans.find(isRequest)?.traceId,
    (trace) =>
      named(trace, SpanKind.CONSUMER, 'process notifications.sendNotification').length > 0 &&
      named(trace, SpanKind.CONSUMER, 'process notifications.generateReport').length > 0,
  );
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  const one = (kind: number, name: string) => {
    const found = named(spans, kind, name);
    expect(found, `${name}: ${spans.map((s) => s.name).join(', ')}`).toHaveLength(1);
    return found[0] as ReceivedSpan;
  };
  /** Whether `ancestor` is `span`'s parent, grandparent, … in this trace. */
  const descends = (span: ReceivedSpan, ancestor: ReceivedSpan): boolean => {
    for (
      let s = span.parentSpanId ? byId.get(span.parentSpanId) : undefined;
      s;
      s = s.parentSpanId ? byId.get(s.parentSpanId) : undefined
    ) {
      if (s === ancestor) return true;
    }
    return false;
  };

  // The HTTP server span is the root, in the web process.
  const request = one(SpanKind.SERVER, 'POST /reports');
  expect(request.parentSpanId).toBeUndefined();
  expect(request.service).toBe('notifications-demo-web');
  expect(request.attributes).toMatchObject({
    'http.request.method': 'POST',
    'http.route': '/reports',
    'http.response.status_code': 202,
  });

  // The route's handler, where the task is enqueued.
  const handler = one(SpanKind.INTERNAL, 'handler POST /reports');
  expect(handler.parentSpanId).toBe(request.spanId);

  // The enqueue: a producer span inside the request, in the web process.
  const enqueueReport = one(SpanKind.PRODUCER, 'send notifications.generateReport');
  expect(enqueueReport.parentSpanId).toBe(handler.spanId);
  expect(enqueueReport.service).toBe('notifications-demo-web');
  expect(enqueueReport.attributes).toMatchObject({
    'messaging.system': 'djtasks',
    'messaging.operation.type': 'send',
    'djtasks.task.name': 'notifications.generateReport',
  });

  // The PDF task's attempt: a consumer span in the worker process, child of and linked to the enqueue.
  const renderReport = one(SpanKind.CONSUMER, 'process notifications.generateReport');
  expect(renderReport.service).toBe('notifications-demo-worker');
  expect(renderReport.parentSpanId).toBe(enqueueReport.spanId);
  expect(renderReport.links).toContainEqual({
    traceId: request.traceId,
    spanId: enqueueReport.spanId,
  });
  expect(renderReport.attributes).toMatchObject({
    'djtasks.task.attempt': 1,
    'djtasks.task.status': 'SUCCESSFUL',
    'messaging.message.id': enqueueReport.attributes['messaging.message.id'],
  });

  // The "ready" notification: enqueued inside the attempt, run by the worker in the same trace.
  const enqueueNotification = one(SpanKind.PRODUCER, 'send notifications.sendNotification');
  expect(enqueueNotification.service).toBe('notifications-demo-worker');
  expect(descends(enqueueNotification, renderReport)).toBe(true);
  const sendNotification = one(SpanKind.CONSUMER, 'process notifications.sendNotification');
  expect(sendNotification.parentSpanId).toBe(enqueueNotification.spanId);
  expect(sendNotification.links).toContainEqual({
    traceId: request.traceId,
    spanId: enqueueNotification.spanId,
  });
  expect(sendNotification.attributes).toMatchObject({ 'djtasks.task.status': 'SUCCESSFUL' });

  // Every span of the trace hangs from the request: one tree, nothing orphaned.
  for (const span of spans)
    if (span !== request) expect(descends(span, request), span.name).toBe(true);
  // The signup before it is a trace of its own.
  const signup = receiver.spans.find(
    (s) => s.kind === SpanKind.SERVER && s.name === 'POST /register',
  );
  expect(signup?.traceId).toBeDefined();
  expect(signup?.traceId).not.toBe(request.traceId);
});

describe('with OpenTelemetry off', () => {
  /** The OpenTelemetry modules a web process loads while it builds its app, as resolved. */
  async function loadedBy(env: Record<string, string>): Promise<string[]> {
    const script = `
      import { registerHooks } from 'node:module';
      const seen = new Set();
      registerHooks({
        resolve(specifier, context, next) {
          const resolved = next(specifier, context);
          const name = /node_modules\\/(@opentelemetry\\/[^/]+|@fastify\\/otel)\\//.exec(resolved.url);
          if (name) seen.add(name[1]);
          return resolved;
        },
      });
      const { startTelemetry } = await import('./src/telemetry.ts');
      await import('./src/app.ts');
      await startTelemetry('web');
      console.log(JSON.stringify([...seen].sort()));
      process.exit(0);
    `;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
      cwd: APP_DIR,
      env: environmentWith({ OTEL_TRACES_EXPORTER: '', OTEL_METRICS_EXPORTER: 'none', ...env }),
    });
    return JSON.parse(stdout.trim().split('\n').at(-1) ?? '[]') as string[];
  }

  it('loads no OpenTelemetry module with tracing and metrics off, no trace SDK with tracing off', async () => {
    expect(await loadedBy({ METRICS: 'false' })).toEqual([]);
    const metricsOnly = await loadedBy({ METRICS: 'true' });
    expect(metricsOnly).toContain('@opentelemetry/exporter-prometheus');
    expect(metricsOnly).not.toContain('@opentelemetry/sdk-node');
    expect(metricsOnly).not.toContain('@opentelemetry/sdk-trace');
    expect(metricsOnly).not.toContain('@fastify/otel');
    // And the hook sees them when tracing is on.
    const tracing = await loadedBy({ OTEL_TRACES_EXPORTER: 'console' });
    expect(tracing).toEqual(expect.arrayContaining(['@opentelemetry/sdk-node', '@fastify/otel']));
  });
});
