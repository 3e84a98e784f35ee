/**
 * A Prometheus text endpoint for fastify, served by the official OpenTelemetry Prometheus
 * exporter (`@opentelemetry/exporter-prometheus`) that the app registers as a reader of its
 * `MeterProvider`. The metrics are recorded once, through the OpenTelemetry API, and the
 * exporter serialises exactly what that provider holds: no second registry (as `prom-client`
 * would need) to keep in step with it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyRequest } from 'fastify';

/** What the route needs of a `PrometheusExporter` (created with `preventServerStart: true`). */
export interface PrometheusRequestHandler {
  getMetricsRequestHandler(request: IncomingMessage, response: ServerResponse): void;
}

/** Options of {@link registerMetricsRoute}. */
export interface MetricsRouteOptions {
  /** The app's `PrometheusExporter`, a reader of its `MeterProvider`. */
  exporter: PrometheusRequestHandler;
  /** @defaultValue "/metrics" */
  url?: string;
  /**
   * Who may read the metrics: return true to serve them, false for a 404. @defaultValue
   * requests from the loopback address only ({@link isLoopbackRequest})
   */
  allow?: (request: FastifyRequest) => boolean | Promise<boolean>;
}

/** Whether `request` came from this machine (127.0.0.0/8 or ::1), as fastify sees its address. */
export function isLoopbackRequest(request: FastifyRequest): boolean {
  const ip = request.socket.remoteAddress ?? '';
  return ip === '::1' || ip.startsWith('127.') || ip.startsWith('::ffff:127.');
}

/** Serve the Prometheus text of `exporter` at `url` (GET), to the requests `allow` admits. */
export function registerMetricsRoute(app: FastifyInstance, options: MetricsRouteOptions): void {
  const allow = options.allow ?? isLoopbackRequest;
  app.get(options.url ?? '/metrics', async (request, reply) => {
    if (!(await allow(request))) return reply.code(404).send({ error: 'Not Found' });
    // The exporter writes the response itself (headers, text, end).
    reply.hijack();
    options.exporter.getMetricsRequestHandler(request.raw, reply.raw);
    return reply;
  });
}
