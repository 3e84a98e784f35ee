// The benchmark pool's threadSetup: an SDK in each thread as an app would set one up (batched
// export to an exporter that discards), then instrumentTaskThread().
import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { instrumentTaskThread } from '../src/index.ts';

export default function setup(): () => Promise<void> {
  const provider = new TracerProvider({
    spanProcessors: [
      new BatchSpanProcessor({
        exporter: {
          export: (_spans, done) => {
            done({ code: 0 });
          },
          shutdown: () => Promise.resolve(),
        },
      }),
    ],
  });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  const undo = instrumentTaskThread();
  return async () => {
    undo();
    await provider.shutdown();
  };
}
