import { MeterProvider, MetricReader, type ResourceMetrics } from '@opentelemetry/sdk-metrics';

/** A metric reader that collects when asked: what a scrape does. */
export class CollectingReader extends MetricReader {
  protected override onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected override onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/** A meter provider with a reader to collect from. */
export function meterProviderWithReader(): { provider: MeterProvider; reader: CollectingReader } {
  const reader = new CollectingReader();
  return { provider: new MeterProvider({ readers: [reader] }), reader };
}

/** The data points of `name` in `collected`, as [attributes, value] pairs. */
export function points(
  collected: ResourceMetrics,
  name: string,
): { attributes: Record<string, unknown>; value: unknown }[] {
  return collected.scopeMetrics
    .flatMap((scope) => scope.metrics)
    .filter((metric) => metric.descriptor.name === name)
    .flatMap((metric) =>
      (metric.dataPoints as { attributes: Record<string, unknown>; value: unknown }[]).map(
        (point) => ({ attributes: { ...point.attributes }, value: point.value }),
      ),
    );
}
