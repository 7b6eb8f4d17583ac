// Traces of the operator: a span per reconcile (kube/controller.ts), exported over OTLP/HTTP
// (protobuf) when the standard OTEL_* environment variables name an endpoint; off otherwise, and
// then the SDK is not loaded and nothing is registered (docs/observability.md, "Traces"). The
// environment is read as the proxy reads it (@jairouter/crds/otel), with its own service name.
import type { Tracer } from '@opentelemetry/api';
import { createProvider, startTracingFromEnv, type Env, type Provider, type Started, type TracingSettings } from '@jairouter/crds/otel';

export { displayUrl, tracingEnv, type TracingEnv, type TracingSettings } from '@jairouter/crds/otel';

/** The operator's tracing from its environment, or null (nothing loaded, nothing registered) when off. */
export function startTracing(env: Env, defaultServiceName: string, onDiagnostic?: (msg: string) => void): Promise<Started<OperatorTracing>> {
  return startTracingFromEnv(env, defaultServiceName, (provider) => new OperatorTracing(provider), onDiagnostic);
}

/** The operator's tracing for these settings (createProvider: OTLP exporter, or `exporter` in tests). */
export async function createTracing(
  settings: TracingSettings,
  opts: Parameters<typeof createProvider>[1] = {},
): Promise<{ tracing: OperatorTracing; provider: Provider }> {
  const { provider } = await createProvider(settings, opts);
  return { tracing: new OperatorTracing(provider), provider };
}

/** The operator's tracer, and the flush of its provider on shutdown. */
export class OperatorTracing {
  readonly tracer: Tracer;
  readonly #provider: Provider;

  constructor(provider: Provider) {
    this.#provider = provider;
    this.tracer = provider.getTracer('jairouter-operator');
  }

  flush(): Promise<void> {
    return this.#provider.forceFlush();
  }

  /** Exports what is queued and stops. */
  shutdown(): Promise<void> {
    return this.#provider.shutdown();
  }
}
