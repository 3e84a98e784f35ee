import { appendFileSync } from 'node:fs';
import { context, propagation, trace, type SpanKind } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  InMemorySpanExporter,
  SimpleSpanProcessor,
  TracerProvider,
  type ReadableSpan,
  type SpanExporter,
} from '@opentelemetry/sdk-trace';

/** A finished span as plain data, comparable across processes. */
export interface SpanData {
  name: string;
  kind: SpanKind;
  traceId: string;
  spanId: string;
  parentSpanId: string | undefined;
  links: { traceId: string; spanId: string }[];
  attributes: Record<string, unknown>;
  events: { name: string; attributes: Record<string, unknown> }[];
  status: { code: number; message?: string | undefined };
}

export function spanData(span: ReadableSpan): SpanData {
  return {
    name: span.name,
    kind: span.kind,
    traceId: span.spanContext().traceId,
    spanId: span.spanContext().spanId,
    parentSpanId: span.parentSpanContext?.spanId,
    links: span.links.map((link) => ({
      traceId: link.context.traceId,
      spanId: link.context.spanId,
    })),
    attributes: { ...span.attributes },
    events: span.events.map((event) => ({ name: event.name, attributes: { ...event.attributes } })),
    status: { code: span.status.code, message: span.status.message },
  };
}

/** A span exporter that appends each span as a JSON line to `file` (for a worker process). */
export class FileSpanExporter implements SpanExporter {
  readonly #file: string;
  constructor(file: string) {
    this.#file = file;
  }
  export(spans: ReadableSpan[], done: (result: { code: number }) => void): void {
    for (const span of spans) appendFileSync(this.#file, `${JSON.stringify(spanData(span))}\n`);
    done({ code: 0 });
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * Register a global tracer provider that sends every span to `exporter`, with the W3C trace
 * context propagator and the AsyncLocalStorage context manager (what the Node SDK sets up).
 */
export function registerTracing(exporter: SpanExporter): TracerProvider {
  const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  return provider;
}

export { InMemorySpanExporter };
