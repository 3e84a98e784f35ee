/**
 * OpenTelemetry for the demo, set up by each process before it serves or runs tasks:
 *
 * - **Traces** when `OTEL_TRACES_EXPORTER` is set (settings.TRACING): the official Node SDK
 *   (`@opentelemetry/sdk-node`), which reads the standard `OTEL_*` variables for its exporters;
 *   `@fastify/otel` for the HTTP server span of each request (web); `@djtasks/opentelemetry`
 *   for a producer span per enqueue and a consumer span per attempt (web and worker), carried
 *   from one to the other in the task's metadata.
 * - **Metrics** in the web process when `METRICS` is on (the default): the task counters,
 *   histograms and queue gauges, read through the official Prometheus exporter at `/metrics`.
 *
 * Everything is imported on demand: with tracing and metrics off, no OpenTelemetry module is
 * loaded and nothing is recorded; with tracing off, no trace SDK is loaded and tasks carry no
 * trace context.
 */
import type { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import type { FastifyPluginCallback } from 'fastify';
import type { PrometheusRequestHandler } from '@djtasks/opentelemetry/prometheus';
import { settings, type Settings } from './settings.ts';

export interface Telemetry {
  /** The fastify plugin that makes a server span per request (web, tracing on), else null. */
  fastifyPlugin: FastifyPluginCallback | null;
  /** What serves `/metrics` (web, metrics on), else null. */
  prometheus: PrometheusRequestHandler | null;
  /** Flush what is buffered (spans) and stop. */
  shutdown(): Promise<void>;
}

/** No telemetry (the default of `buildApp`). */
export const NO_TELEMETRY: Telemetry = {
  fastifyPlugin: null,
  prometheus: null,
  shutdown: async () => {},
};

/** Set up OpenTelemetry for the `web` server or a task `worker` process, as `config` says. */
export async function startTelemetry(
  role: 'web' | 'worker',
  config: Settings = settings,
): Promise<Telemetry> {
  const tracing = config.TRACING;
  const prometheusOn = role === 'web' && config.METRICS;
  if (!tracing && !prometheusOn) return NO_TELEMETRY;

  const { instrumentTasks } = await import('@djtasks/opentelemetry');
  let prometheus: PrometheusExporter | null = null;
  if (prometheusOn) {
    const { PrometheusExporter } = await import('@opentelemetry/exporter-prometheus');
    // Served by the app's own route (registerMetricsRoute), not a server of its own.
    prometheus = new PrometheusExporter({ preventServerStart: true });
  }

  const serviceName = config.OTEL_SERVICE_NAME ?? `notifications-demo-${role}`;
  let fastifyPlugin: FastifyPluginCallback | null = null;
  let stopSdk: () => Promise<void> = async () => {};
  if (tracing) {
    const { NodeSDK } = await import('@opentelemetry/sdk-node');
    const instrumentations = [];
    if (role === 'web') {
      const { FastifyOtelInstrumentation } = await import('@fastify/otel');
      const fastifyOtel = new FastifyOtelInstrumentation({
        // One span for the request and one for its handler (where tasks are enqueued); a span
        // per hook (cookies, CSRF, sessions) would be noise here.
        instrumentHooks: false,
        // OpenTelemetry's HTTP server span name: the method and the route, not the URL.
        requestHook: (span, request) => {
          span.updateName(`${request.method} ${request.routeOptions.url ?? ''}`.trim());
        },
        // The handler's span would be named after the plugin chain; name it after the route.
        lifecycleHook: (span, { hookName, request }) => {
          span.updateName(`${hookName} ${request.method} ${request.routeOptions.url ?? ''}`);
        },
      });
      fastifyPlugin = fastifyOtel.plugin();
      instrumentations.push(fastifyOtel);
    }
    const sdk = new NodeSDK({
      serviceName,
      instrumentations,
      // The web process's metrics go to /metrics; otherwise OTEL_METRICS_EXPORTER decides.
      ...(prometheus ? { metricReaders: [prometheus] } : {}),
    });
    sdk.start();
    stopSdk = () => sdk.shutdown();
  } else if (prometheus) {
    const [{ metrics }, { MeterProvider }, { defaultResource, resourceFromAttributes }] =
      await Promise.all([
        import('@opentelemetry/api'),
        import('@opentelemetry/sdk-metrics'),
        import('@opentelemetry/resources'),
      ]);
    const provider = new MeterProvider({
      readers: [prometheus],
      resource: defaultResource().merge(resourceFromAttributes({ 'service.name': serviceName })),
    });
    metrics.setGlobalMeterProvider(provider);
    stopSdk = () => provider.shutdown();
  }

  const undo = instrumentTasks({
    traces: tracing,
    // The worker's attempt metrics are pushed by the SDK (OTEL_METRICS_EXPORTER) when tracing
    // is on; the queue gauges are read once per scrape, by the web process only.
    metrics: role === 'web' ? prometheusOn : tracing,
    queueGauges: prometheusOn,
  });
  return {
    fastifyPlugin,
    prometheus,
    async shutdown() {
      undo();
      await stopSdk();
    },
  };
}
