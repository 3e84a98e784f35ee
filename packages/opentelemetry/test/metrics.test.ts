import { configureTasks, ImmediateBackend, taskBackends } from '@djtasks/tasks';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import fastify from 'fastify';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { instrumentTasks } from '../src/index.ts';
import { registerMetricsRoute } from '../src/prometheus.ts';
import { alwaysFails, failsOnce, succeeds } from './fixtures/tasks.ts';
import { CollectingReader, points } from './support/metrics.ts';

const quiet = { debug() {}, info() {}, warn() {}, error() {} };
let exporter: PrometheusExporter;
let meterProvider: MeterProvider;
let reader: CollectingReader;
let uninstrument: () => void;

beforeEach(() => {
  configureTasks({ backends: { default: { backend: ImmediateBackend } }, logger: quiet });
  exporter = new PrometheusExporter({ preventServerStart: true });
  reader = new CollectingReader();
  meterProvider = new MeterProvider({ readers: [exporter, reader] });
  uninstrument = instrumentTasks({ meterProvider, traces: false });
});

afterEach(async () => {
  uninstrument();
  await meterProvider.shutdown();
  await taskBackends.close();
  configureTasks();
});

/** A known run: 3 successes, 1 task that fails once then succeeds, 1 that fails. */
async function knownRun(): Promise<void> {
  await succeeds.enqueueMany([[1], [2], [3]]);
  await failsOnce.enqueue();
  await alwaysFails.enqueue();
}

async function scrape(remoteAddress = '127.0.0.1', allow?: () => boolean) {
  const app = fastify();
  registerMetricsRoute(app, { exporter, ...(allow ? { allow } : {}) });
  try {
    return await app.inject({ method: 'GET', url: '/metrics', remoteAddress });
  } finally {
    await app.close();
  }
}

type Labels = Record<string, string>;
function samples(text: string, name: string): { labels: Labels; value: number }[] {
  const family = parsePrometheusTextFormat(text).find((f) => f.name === name);
  if (!family) throw new Error(`no metric ${name} in:\n${text}`);
  return family.metrics.map((m) => ({ labels: m.labels ?? {}, value: Number(m.value ?? m.count) }));
}
const byTask = (rows: { labels: Labels; value: number }[], extra?: string) =>
  Object.fromEntries(
    rows.map((row) => [
      row.labels['djtasks_task_name']! + (extra ? ` ${row.labels[extra]}` : ''),
      row.value,
    ]),
  );

describe('task metrics through the Prometheus endpoint', () => {
  it('counts a known run: enqueued, started, finished by status, retried, histograms', async () => {
    await knownRun();
    const response = await scrape();
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/plain/);
    const text = response.body;

    expect(byTask(samples(text, 'djtasks_tasks_enqueued_total'))).toEqual({
      'otel.fixtures.succeeds': 3,
      'otel.fixtures.failsOnce': 1,
      'otel.fixtures.alwaysFails': 1,
    });
    expect(byTask(samples(text, 'djtasks_tasks_started_total'))).toEqual({
      'otel.fixtures.succeeds': 3,
      'otel.fixtures.failsOnce': 2,
      'otel.fixtures.alwaysFails': 1,
    });
    expect(byTask(samples(text, 'djtasks_tasks_finished_total'), 'djtasks_task_status')).toEqual({
      'otel.fixtures.succeeds SUCCESSFUL': 3,
      'otel.fixtures.failsOnce SUCCESSFUL': 1,
      'otel.fixtures.alwaysFails FAILED': 1,
    });
    expect(byTask(samples(text, 'djtasks_tasks_retried_total'))).toEqual({
      'otel.fixtures.failsOnce': 1,
    });
    // Histograms: parse-prometheus-text-format loses the labels of a histogram written
    // count-first (as this exporter writes it), so their counts are read from the SDK too.
    expect(
      parsePrometheusTextFormat(text).find((f) => f.name === 'djtasks_task_run_duration')?.type,
    ).toBe('HISTOGRAM');
    const collected = (await reader.collect()).resourceMetrics;
    const histogram = (name: string, label?: string) =>
      Object.fromEntries(
        points(collected, name).map((point) => [
          String(point.attributes['djtasks.task.name']) +
            (label ? ` ${String(point.attributes[label])}` : ''),
          (point.value as { count: number }).count,
        ]),
      );
    expect(histogram('djtasks.task.run.duration', 'djtasks.task.status')).toEqual({
      'otel.fixtures.succeeds SUCCESSFUL': 3,
      'otel.fixtures.failsOnce READY': 1,
      'otel.fixtures.failsOnce SUCCESSFUL': 1,
      'otel.fixtures.alwaysFails FAILED': 1,
    });
    // Wait time: first attempts only.
    expect(histogram('djtasks.task.wait.duration')).toEqual({
      'otel.fixtures.succeeds': 3,
      'otel.fixtures.failsOnce': 1,
      'otel.fixtures.alwaysFails': 1,
    });
    const [run] = points(collected, 'djtasks.task.run.duration');
    expect(run?.attributes).toMatchObject({
      'messaging.destination.name': 'default',
      'djtasks.backend': 'default',
    });
    expect((run?.value as { sum: number }).sum).toBeGreaterThanOrEqual(0);
  });

  it('serves the metrics only to the loopback address unless told otherwise', async () => {
    await knownRun();
    expect((await scrape('10.1.2.3')).statusCode).toBe(404);
    expect((await scrape('::1')).statusCode).toBe(200);
    expect((await scrape('10.1.2.3', () => true)).statusCode).toBe(200);
    expect((await scrape('127.0.0.1', () => false)).statusCode).toBe(404);
  });

  it('records nothing once undone', async () => {
    uninstrument();
    await knownRun();
    const text = (await scrape()).body;
    expect(
      parsePrometheusTextFormat(text).filter((f) => f.name.startsWith('djtasks_tasks')),
    ).toEqual([]);
  });
});
