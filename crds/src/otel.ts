// OpenTelemetry tracing settings from the standard OTEL_* environment variables, and the SDK
// provider they describe, shared by the proxy and the operator (docs/observability.md, "Traces").
// Only types are imported statically: the SDK, the OTLP exporter and the W3C propagator are
// loaded by createProvider(), so a process with tracing off never loads them.
import { randomFillSync } from 'node:crypto';
import type { TextMapPropagator, Tracer } from '@opentelemetry/api';
import type { IdGenerator, Sampler, SpanExporter } from '@opentelemetry/sdk-trace';

// ---------------------------------------------------------------------------------------------
// Settings from the environment

export const SAMPLERS = ['always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio'] as const;
export type SamplerName = (typeof SAMPLERS)[number];

export interface TracingSettings {
  /** Where spans are POSTed (OTLP/HTTP, protobuf): OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as is, else OTEL_EXPORTER_OTLP_ENDPOINT + /v1/traces. */
  url: string;
  sampler: SamplerName;
  /** The ratio of the traceidratio samplers (OTEL_TRACES_SAMPLER_ARG, default 1). */
  ratio: number;
  /** OTEL_SERVICE_NAME, else service.name of OTEL_RESOURCE_ATTRIBUTES, else the component's name. */
  serviceName: string;
  /** OTEL_RESOURCE_ATTRIBUTES, decoded. */
  resource: Record<string, string>;
  /** The batch span processor's OTEL_BSP_* settings, where given. */
  batch: { scheduledDelayMillis?: number; exportTimeoutMillis?: number; maxQueueSize?: number; maxExportBatchSize?: number };
}

export interface TracingEnv {
  /** Null when tracing is off; `off` then says why. */
  settings: TracingSettings | null;
  off: string;
  /** Values that were ignored (logged as warnings, as the specification asks: never fatal). */
  warnings: string[];
}

export type Env = Readonly<Record<string, string | undefined>>;

/** An environment variable, unset when empty or blank (the specification treats both alike). */
function envValue(env: Env, name: string): string | undefined {
  const v = env[name]?.trim();
  return v ? v : undefined;
}

/**
 * Reads the OTEL_* variables. Off without an endpoint (the specification's default,
 * http://localhost:4318, is not assumed: a process with no collector configured sends nothing).
 */
export function tracingEnv(env: Env, defaultServiceName: string): TracingEnv {
  const warnings: string[] = [];
  const off = (why: string): TracingEnv => ({ settings: null, off: why, warnings });
  if (envValue(env, 'OTEL_SDK_DISABLED')?.toLowerCase() === 'true') return off('OTEL_SDK_DISABLED=true');
  const exporters = (envValue(env, 'OTEL_TRACES_EXPORTER') ?? 'otlp').toLowerCase().split(',').map((s) => s.trim()).filter(Boolean);
  if (exporters.length > 0 && exporters.every((e) => e === 'none')) return off('OTEL_TRACES_EXPORTER=none');
  const unsupported = exporters.filter((e) => e !== 'otlp' && e !== 'none');
  if (unsupported.length > 0) warnings.push(`OTEL_TRACES_EXPORTER: ${unsupported.join(', ')} not supported (only otlp and none): exporting over OTLP`);
  for (const name of ['OTEL_EXPORTER_OTLP_TRACES_PROTOCOL', 'OTEL_EXPORTER_OTLP_PROTOCOL']) {
    const p = envValue(env, name);
    if (p !== undefined && p !== 'http/protobuf') warnings.push(`${name}=${p} not supported: traces are sent as OTLP/HTTP protobuf`);
  }
  let url: string | undefined;
  const specific = envValue(env, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT');
  const base = envValue(env, 'OTEL_EXPORTER_OTLP_ENDPOINT');
  if (specific !== undefined) url = validUrl('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', specific, warnings);
  else if (base !== undefined) url = validUrl('OTEL_EXPORTER_OTLP_ENDPOINT', base.endsWith('/') ? `${base}v1/traces` : `${base}/v1/traces`, warnings);
  if (url === undefined) return off(specific ?? base ? 'the OTLP endpoint is not a URL' : 'no OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT');

  let sampler: SamplerName = 'parentbased_always_on';
  const s = envValue(env, 'OTEL_TRACES_SAMPLER')?.toLowerCase();
  if (s !== undefined) {
    if ((SAMPLERS as readonly string[]).includes(s)) sampler = s as SamplerName;
    else warnings.push(`OTEL_TRACES_SAMPLER=${s} not supported (${SAMPLERS.join(', ')}): using parentbased_always_on`);
  }
  let ratio = 1;
  const arg = envValue(env, 'OTEL_TRACES_SAMPLER_ARG');
  if (arg !== undefined && sampler.endsWith('traceidratio')) {
    const r = Number(arg);
    if (Number.isFinite(r) && r >= 0 && r <= 1) ratio = r;
    else warnings.push(`OTEL_TRACES_SAMPLER_ARG=${arg}: expected a ratio from 0 to 1, using 1`);
  }

  let resource: Record<string, string> = {};
  const raw = envValue(env, 'OTEL_RESOURCE_ATTRIBUTES');
  if (raw !== undefined) {
    try {
      resource = parseResourceAttributes(raw);
    } catch (e) {
      warnings.push(`OTEL_RESOURCE_ATTRIBUTES ignored: ${(e as Error).message}`);
    }
  }
  const serviceName = envValue(env, 'OTEL_SERVICE_NAME') ?? resource['service.name'] ?? defaultServiceName;

  const batch: TracingSettings['batch'] = {};
  const ms = (name: string, key: keyof TracingSettings['batch']) => {
    const v = envValue(env, name);
    if (v === undefined) return;
    const n = Number(v);
    if (Number.isInteger(n) && n > 0) batch[key] = n;
    else warnings.push(`${name}=${v}: expected a positive integer, ignored`);
  };
  ms('OTEL_BSP_SCHEDULE_DELAY', 'scheduledDelayMillis');
  ms('OTEL_BSP_EXPORT_TIMEOUT', 'exportTimeoutMillis');
  ms('OTEL_BSP_MAX_QUEUE_SIZE', 'maxQueueSize');
  ms('OTEL_BSP_MAX_EXPORT_BATCH_SIZE', 'maxExportBatchSize');
  if (batch.maxExportBatchSize !== undefined && batch.maxExportBatchSize > (batch.maxQueueSize ?? 2048)) {
    warnings.push('OTEL_BSP_MAX_EXPORT_BATCH_SIZE is larger than the queue: using the queue size');
    batch.maxExportBatchSize = batch.maxQueueSize ?? 2048;
  }
  return { settings: { url, sampler, ratio, serviceName, resource, batch }, off: '', warnings };
}

function validUrl(name: string, v: string, warnings: string[]): string | undefined {
  try {
    const u = new URL(v);
    if (u.protocol === 'http:' || u.protocol === 'https:') return u.toString();
  } catch {
    // reported below
  }
  warnings.push(`${name}=${v} is not an http(s) URL: tracing off`);
  return undefined;
}

/**
 * `key1=value1,key2=value2`, percent-decoded; any malformed entry discards the whole value, as the
 * specification says.
 */
export function parseResourceAttributes(raw: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of raw.split(',')) {
    if (entry.trim() === '') continue;
    const kv = entry.split('=');
    if (kv.length !== 2 || kv[0]!.trim() === '') throw new Error(`"${entry}" is not key=value (',' and '=' in keys and values must be percent-encoded)`);
    out[decodeURIComponent(kv[0]!.trim())] = decodeURIComponent(kv[1]!.trim());
  }
  return out;
}

/** A URL as it may be shown (logs, span attributes): no user, password, query or fragment. */
export function displayUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    u.search = '';
    u.hash = '';
    return u.toString().replace(/\/$/, '');
  } catch {
    return '';
  }
}

// ---------------------------------------------------------------------------------------------
// The provider

/** What a process needs of a tracer provider (the SDK's TracerProvider). */
export interface Provider {
  getTracer(name: string, version?: string): Tracer;
  forceFlush(): Promise<void>;
  shutdown(): Promise<void>;
}

const INVALID_TRACE_ID = '0'.repeat(32);
const INVALID_SPAN_ID = '0'.repeat(16);
const ID_POOL_BYTES = 4096;

/**
 * Trace and span ids from a pool of random bytes (crypto-random, refilled 4 KiB at a time), and
 * the provider's IdGenerator: it hands out the trace id a caller already decided on once
 * (`useTraceId`), then random ones again.
 */
export class TraceIds implements IdGenerator {
  readonly #pool = Buffer.allocUnsafe(ID_POOL_BYTES);
  #at = ID_POOL_BYTES;
  #next: string | null = null;

  #take(bytes: number, invalid: string): string {
    for (;;) {
      if (this.#at + bytes > ID_POOL_BYTES) {
        randomFillSync(this.#pool);
        this.#at = 0;
      }
      const id = this.#pool.toString('hex', this.#at, (this.#at += bytes));
      if (id !== invalid) return id;
    }
  }

  /** A random trace id (32 lowercase hex digits, never all zeros). */
  traceId(): string {
    return this.#take(16, INVALID_TRACE_ID);
  }

  /** A random span id (16 lowercase hex digits, never all zeros). */
  spanId(): string {
    return this.#take(8, INVALID_SPAN_ID);
  }

  /** The next root span the provider starts gets this trace id. */
  useTraceId(id: string): void {
    this.#next = id;
  }

  generateTraceId(): string {
    const id = this.#next;
    if (id === null) return this.traceId();
    this.#next = null;
    return id;
  }

  generateSpanId(): string {
    return this.spanId();
  }
}

/**
 * Head sampling ahead of the SDK: the provider's own sampler and id generator, so a process can
 * decide on a request's trace before it starts any span, and start none for a trace that is not
 * sampled (the SDK would build a non-recording span, its context and ids for each).
 */
export interface HeadSampling {
  readonly sampler: Sampler;
  readonly ids: TraceIds;
}

/**
 * A provider for these settings: the OTLP/HTTP protobuf exporter behind a batch processor, or
 * (tests) `exporter` behind a simple one, exporting each span as it ends.
 */
export async function createProvider(
  settings: TracingSettings,
  opts: { exporter?: SpanExporter; register?: boolean; onDiagnostic?: (msg: string) => void; ids?: TraceIds } = {},
): Promise<{ provider: Provider; propagator: TextMapPropagator; head: HeadSampling }> {
  const [sdk, core, resources, api] = await Promise.all([
    import('@opentelemetry/sdk-trace'),
    import('@opentelemetry/core'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/api'),
  ]);
  const ratio = () => new sdk.TraceIdRatioBasedSampler(settings.ratio);
  const samplers: Record<SamplerName, () => Sampler> = {
    always_on: () => new sdk.AlwaysOnSampler(),
    always_off: () => new sdk.AlwaysOffSampler(),
    traceidratio: ratio,
    parentbased_always_on: () => new sdk.ParentBasedSampler({ root: new sdk.AlwaysOnSampler() }),
    parentbased_always_off: () => new sdk.ParentBasedSampler({ root: new sdk.AlwaysOffSampler() }),
    parentbased_traceidratio: () => new sdk.ParentBasedSampler({ root: ratio() }),
  };
  let processor;
  if (opts.exporter) {
    processor = new sdk.SimpleSpanProcessor({ exporter: opts.exporter });
  } else {
    const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-proto');
    // The exporter reads OTEL_EXPORTER_OTLP_(TRACES_)HEADERS, _TIMEOUT, _COMPRESSION and the
    // certificate variables itself; the URL is ours.
    processor = new sdk.BatchSpanProcessor({ exporter: new OTLPTraceExporter({ url: settings.url }), ...settings.batch });
  }
  const resource = resources
    .defaultResource()
    .merge(resources.resourceFromAttributes(settings.resource))
    .merge(resources.resourceFromAttributes({ 'service.name': settings.serviceName }));
  const sampler = samplers[settings.sampler]();
  const ids = opts.ids ?? new TraceIds();
  const provider = new sdk.TracerProvider({ sampler, idGenerator: ids, resource, spanProcessors: [processor] });
  const propagator = new core.W3CTraceContextPropagator();
  if (opts.register) {
    if (opts.onDiagnostic) {
      const say = opts.onDiagnostic;
      // Export failures and the SDK's own complaints, as warnings in the process's log.
      api.diag.setLogger(
        { error: (m) => say(m), warn: (m) => say(m), info: () => {}, debug: () => {}, verbose: () => {} },
        { logLevel: api.DiagLogLevel.WARN, suppressOverrideMessage: true },
      );
    }
    api.trace.setGlobalTracerProvider(provider);
    api.propagation.setGlobalPropagator(propagator);
  }
  return { provider, propagator, head: { sampler, ids } };
}


/** A process's tracing, started from its environment: on (`tracing` built from the registered provider) or off. */
export type Started<T> = { tracing: T; settings: TracingSettings; warnings: string[] } | { tracing: null; off: string; warnings: string[] };

/**
 * The tracing of a process from its environment, or null (and nothing loaded, nothing registered)
 * when it is off. When on, the provider and the W3C propagator are registered globally and
 * `wrap` makes the process's own tracing object of them.
 */
export async function startTracingFromEnv<T>(
  env: Env,
  defaultServiceName: string,
  wrap: (provider: Provider, propagator: TextMapPropagator, head: HeadSampling) => T,
  onDiagnostic?: (msg: string) => void,
): Promise<Started<T>> {
  const { settings, off, warnings } = tracingEnv(env, defaultServiceName);
  if (settings === null) return { tracing: null, off, warnings };
  const { provider, propagator, head } = await createProvider(settings, { register: true, ...(onDiagnostic && { onDiagnostic }) });
  return { tracing: wrap(provider, propagator, head), settings, warnings };
}
