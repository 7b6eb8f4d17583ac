// Traces: one per proxy request, exported over OTLP/HTTP (protobuf) when the standard OTEL_*
// environment variables name an endpoint (docs/observability.md, "Traces").
//
// Off (no endpoint, OTEL_SDK_DISABLED=true, OTEL_TRACES_EXPORTER=none): startTracing() returns
// null, no provider is registered and the SDK is not even loaded; the request handler then takes
// its untraced functions (chosen once, when it is built) and checks one null per request.
//
// Only @opentelemetry/api is imported statically (and only for its types and constants); the SDK,
// the exporter and the W3C propagator are loaded by startTracing() when tracing is on.
import type { IncomingMessage } from 'node:http';
import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  defaultTextMapGetter,
  defaultTextMapSetter,
  trace,
  type Attributes,
  type Context,
  type Span,
  type TextMapPropagator,
  type Tracer,
} from '@opentelemetry/api';
import type { Sampler, SpanExporter } from '@opentelemetry/sdk-trace';
import type { ClientRequest, Operation } from '../adapters/types.ts';
import type { Exchange } from '../exchange.ts';
import type { EndpointRuntime, RouteRuntime, Runtime } from '../runtime/runtime.ts';
import type { AttemptResult } from '../upstream/attempt.ts';
import { modelLabel, providerName } from './gen-ai.ts';

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

type Env = Readonly<Record<string, string | undefined>>;

/** An environment variable, unset when empty or blank (the specification treats both alike). */
function envValue(env: Env, name: string): string | undefined {
  const v = env[name]?.trim();
  return v ? v : undefined;
}

/**
 * Reads the OTEL_* variables. Off without an endpoint (the specification's default,
 * http://localhost:4318, is not assumed: a proxy with no collector configured sends nothing).
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

/** What the proxy needs of a tracer provider (the SDK's TracerProvider). */
export interface Provider {
  getTracer(name: string, version?: string): Tracer;
  forceFlush(): Promise<void>;
  shutdown(): Promise<void>;
}

export interface StartedTracing {
  tracing: ProxyTracing;
  settings: TracingSettings;
  warnings: string[];
}

/**
 * The tracing of a process from its environment, or null (and nothing loaded, nothing registered)
 * when it is off. When on, the provider and the W3C propagator are registered globally.
 */
export async function startTracing(env: Env, defaultServiceName: string, onDiagnostic?: (msg: string) => void): Promise<StartedTracing | { tracing: null; off: string; warnings: string[] }> {
  const { settings, off, warnings } = tracingEnv(env, defaultServiceName);
  if (settings === null) return { tracing: null, off, warnings };
  const { tracing } = await createTracing(settings, { register: true, ...(onDiagnostic && { onDiagnostic }) });
  return { tracing, settings, warnings };
}

/**
 * A provider for these settings: the OTLP/HTTP protobuf exporter behind a batch processor, or
 * (tests) `exporter` behind a simple one, exporting each span as it ends.
 */
export async function createTracing(
  settings: TracingSettings,
  opts: { exporter?: SpanExporter; register?: boolean; onDiagnostic?: (msg: string) => void } = {},
): Promise<{ tracing: ProxyTracing; provider: Provider }> {
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
  const provider = new sdk.TracerProvider({ sampler: samplers[settings.sampler](), resource, spanProcessors: [processor] });
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
  return { tracing: new ProxyTracing(provider, propagator), provider };
}

// ---------------------------------------------------------------------------------------------
// Request traces

const GEN_AI_OPERATIONS: Readonly<Record<Operation, string>> = { chat: 'chat', completions: 'text_completion', embeddings: 'embeddings' };

/** The server span's name and attributes before the request is read, by path. */
const PATHS: Readonly<Record<string, { operation?: string; route: string }>> = {
  '/v1/chat/completions': { operation: 'chat', route: '/v1/chat/completions' },
  '/v1/completions': { operation: 'text_completion', route: '/v1/completions' },
  '/v1/embeddings': { operation: 'embeddings', route: '/v1/embeddings' },
  '/v1/messages': { operation: 'chat', route: '/v1/messages' },
  '/v1/messages/count_tokens': { route: '/v1/messages/count_tokens' },
  '/v1/models': { route: '/v1/models' },
};

interface EndpointView {
  /** The endpoint's URL without credentials, query or fragment. */
  endpoint: string;
  address: string;
  port: number;
}

const endpointViews = new WeakMap<EndpointRuntime, EndpointView>();

function endpointView(ep: EndpointRuntime): EndpointView {
  let v = endpointViews.get(ep);
  if (v === undefined) {
    let address = '';
    let port = 0;
    try {
      const u = new URL(ep.origin);
      address = u.hostname.replace(/^\[|\]$/g, '');
      port = u.port ? Number(u.port) : u.protocol === 'https:' ? 443 : 80;
    } catch {
      // an origin the runtime accepted always parses
    }
    v = { endpoint: displayUrl(ep.url), address, port };
    endpointViews.set(ep, v);
  }
  return v;
}

/** The tracing of the request path: a tracer and the W3C propagator. */
export class ProxyTracing {
  readonly tracer: Tracer;
  readonly propagator: TextMapPropagator;
  readonly #provider: Provider;

  constructor(provider: Provider, propagator: TextMapPropagator) {
    this.#provider = provider;
    this.tracer = provider.getTracer('jairouter-proxy');
    this.propagator = propagator;
  }

  /** The server span of a request that just arrived, continuing the client's traceparent. */
  begin(req: IncomingMessage, path: string, requestId: string, runtime: Runtime): RequestTrace {
    return new RequestTrace(this, req, path, requestId, runtime);
  }

  /** Exports what is still queued. */
  flush(): Promise<void> {
    return this.#provider.forceFlush();
  }

  /** Exports what is queued and stops; spans started afterwards are dropped. */
  shutdown(): Promise<void> {
    return this.#provider.shutdown();
  }
}

interface FailedAttempt {
  route: RouteRuntime;
  ep: EndpointRuntime;
  reason: string;
  detail: string;
  status: number;
}

/**
 * One request's spans: the SERVER span, one INTERNAL span per stage (authenticate, route,
 * limits; one open at a time) and one CLIENT span per upstream attempt. No prompt or completion
 * text is ever put on a span: names, ids, counts and codes only.
 */
export class RequestTrace {
  readonly span: Span;
  /** Sampled: attributes are worth computing (an unsampled trace still propagates its traceparent). */
  readonly recording: boolean;
  readonly #tracing: ProxyTracing;
  /** The context whose span is the server span: the parent of every other span of the request. */
  readonly #ctx: Context;
  #stage: Span | null = null;
  #failed: FailedAttempt | null = null;
  #ended = false;

  constructor(tracing: ProxyTracing, req: IncomingMessage, path: string, requestId: string, runtime: Runtime) {
    this.#tracing = tracing;
    const parent = tracing.propagator.extract(ROOT_CONTEXT, req.headers, defaultTextMapGetter);
    const known = PATHS[path] ?? (path.startsWith('/v1/models/') ? { route: '/v1/models/{model}' } : undefined);
    const method = req.method ?? 'GET';
    const attributes: Attributes = {
      'http.request.method': method,
      'jairouter.request_id': requestId,
      'jairouter.config_version': runtime.config.version,
    };
    if (known !== undefined) attributes['http.route'] = known.route;
    if (known?.operation !== undefined) attributes['gen_ai.operation.name'] = known.operation;
    // An inference request is named by gen_ai's `{operation} {model}` once its route is known
    // (routed()); until then, and for the other paths, by HTTP's `{method} {route}`.
    const name = known === undefined ? method : known.operation ?? `${method} ${known.route}`;
    this.span = tracing.tracer.startSpan(name, { kind: SpanKind.SERVER, attributes }, parent);
    this.recording = this.span.isRecording();
    this.#ctx = trace.setSpan(ROOT_CONTEXT, this.span);
  }

  get traceId(): string {
    return this.span.spanContext().traceId;
  }

  get spanId(): string {
    return this.span.spanContext().spanId;
  }

  /** Starts a stage span (ending the previous one, if still open). */
  stage(name: 'authenticate' | 'route' | 'limits'): void {
    if (!this.recording) return;
    this.#stage?.end();
    this.#stage = this.#tracing.tracer.startSpan(name, { kind: SpanKind.INTERNAL }, this.#ctx);
  }

  #endStage(attributes?: Attributes): void {
    const s = this.#stage;
    if (s === null) return;
    this.#stage = null;
    if (attributes) s.setAttributes(attributes);
    s.end();
  }

  /** The caller is known (its tenant). */
  authenticated(ex: Exchange): void {
    if (!this.recording || ex.identity === null) return;
    const tenant = ex.identity.tenant.id;
    this.span.setAttribute('jairouter.tenant', tenant);
    this.#endStage({ 'jairouter.tenant': tenant });
  }

  /** The request's model matched `route`, which the caller may use. */
  routed(route: RouteRuntime, client: ClientRequest): void {
    if (!this.recording) return;
    const op = GEN_AI_OPERATIONS[client.operation];
    const model = modelLabel(route, client.model);
    this.span.updateName(`${op} ${model}`);
    this.span.setAttributes({ 'gen_ai.operation.name': op, 'gen_ai.request.model': model, 'jairouter.route': route.id });
    this.#endStage({ 'gen_ai.request.model': model, 'jairouter.route': route.id });
  }

  /** The limits admitted the request, on `route` (another than asked when a fallback model's limits did). */
  admitted(route: RouteRuntime, asked: RouteRuntime): void {
    if (!this.recording) return;
    const a: Attributes = { 'jairouter.route': route.id, 'jairouter.limits.decision': 'admitted' };
    if (route !== asked) a['jairouter.limits.fallback_from'] = asked.id;
    this.#endStage(a);
  }

  /** The request moves on to a route of `fallback.models`. */
  fallback(from: RouteRuntime, to: RouteRuntime): void {
    if (this.recording) this.span.addEvent('jairouter.fallback', { 'jairouter.route': to.id, 'jairouter.fallback_from': from.id });
  }

  /**
   * The CLIENT span of an upstream attempt, and its traceparent (and the client's tracestate) on
   * the request it sends. Unsampled: no span (null), the server span's context is propagated.
   */
  attempt(ex: Exchange, route: RouteRuntime, ep: EndpointRuntime, headers: Record<string, string>): Span | null {
    if (!this.recording) {
      this.#tracing.propagator.inject(this.#ctx, headers, defaultTextMapSetter);
      return null;
    }
    const op = GEN_AI_OPERATIONS[ex.client.operation];
    const backend = ep.backend;
    const model = backend.ir.model ?? modelLabel(route, ex.client.model);
    const view = endpointView(ep);
    const attributes: Attributes = {
      'gen_ai.operation.name': op,
      'gen_ai.provider.name': providerName(backend.ir.adapter),
      'gen_ai.request.model': model,
      'jairouter.route': route.id,
      'jairouter.backend': backend.name,
      'jairouter.endpoint': view.endpoint,
      'jairouter.attempt': ex.attempts,
      'server.address': view.address,
      'server.port': view.port,
    };
    const span = this.#tracing.tracer.startSpan(`${op} ${model}`, { kind: SpanKind.CLIENT, attributes }, this.#ctx);
    const f = this.#failed;
    if (f !== null) {
      // Why this is a retry (same route) or a fallback (another route's backends).
      const event: Attributes = { 'error.type': f.reason, 'jairouter.backend': f.ep.backend.name, 'jairouter.endpoint': endpointView(f.ep).endpoint, 'jairouter.detail': f.detail };
      if (f.status > 0) event['http.response.status_code'] = f.status;
      if (f.route !== route) event['jairouter.route'] = f.route.id;
      span.addEvent(f.route === route ? 'jairouter.retry' : 'jairouter.fallback', event);
      this.#failed = null;
    }
    this.#tracing.propagator.inject(trace.setSpan(ROOT_CONTEXT, span), headers, defaultTextMapSetter);
    return span;
  }

  /** The attempt ended: `status` is the upstream's HTTP status (0 when none came). */
  attemptEnded(span: Span, ex: Exchange, route: RouteRuntime, ep: EndpointRuntime, result: AttemptResult, status: number): void {
    const a: Attributes = {};
    if (status > 0) a['http.response.status_code'] = status;
    if (result.kind === 'failed') {
      a['error.type'] = result.reason;
      span.setStatus({ code: SpanStatusCode.ERROR, message: result.detail });
      this.#failed = { route, ep, reason: result.reason, detail: result.detail, status };
    } else {
      if (ex.backend === ep.backend.name) a['gen_ai.response.model'] = ep.backend.ir.model ?? modelLabel(route, ex.client.model);
      if (ex.tokensIn > 0 || ex.tokensOut > 0) {
        a['gen_ai.usage.input_tokens'] = ex.tokensIn;
        a['gen_ai.usage.output_tokens'] = ex.tokensOut;
      }
      if (ex.streamError !== '') {
        a['error.type'] = 'stream_interrupted';
        span.setStatus({ code: SpanStatusCode.ERROR, message: ex.streamError });
      }
    }
    span.setAttributes(a);
    span.end();
  }

  /** The request is over (answered, refused or abandoned): the last attributes, and the end. */
  end(ex: Exchange): void {
    if (this.#ended) return;
    this.#ended = true;
    const out = ex.out;
    // As the gen_ai metrics' error_type: the error code answered, else an error status.
    const errorType = out.errorCode !== '' ? out.errorCode : out.status >= 400 ? String(out.status) : ex.streamError !== '' ? 'stream_interrupted' : '';
    if (this.recording) {
      const a: Attributes = {};
      if (out.status > 0) a['http.response.status_code'] = out.status;
      if (errorType !== '') a['error.type'] = errorType;
      if (ex.detail !== '') a['jairouter.detail'] = ex.detail;
      if (ex.clientGone) a['jairouter.client_gone'] = true;
      const route = ex.route;
      if (route !== null) {
        a['jairouter.route'] = route.id;
        a['jairouter.attempts'] = ex.attempts;
        if (ex.client.stream) a['jairouter.stream'] = true;
        const backend = ex.backend === '' ? undefined : route.endpoints.find((e) => e.backend.name === ex.backend)?.backend;
        if (backend !== undefined) {
          a['jairouter.backend'] = backend.name;
          a['gen_ai.provider.name'] = providerName(backend.ir.adapter);
          a['gen_ai.response.model'] = backend.ir.model ?? modelLabel(route, ex.client.model);
        }
        if (ex.tokensIn > 0 || ex.tokensOut > 0) {
          a['gen_ai.usage.input_tokens'] = ex.tokensIn;
          a['gen_ai.usage.output_tokens'] = ex.tokensOut;
        }
      }
      this.span.setAttributes(a);
      // A refusal ends the stage that refused it, marked with why.
      if (this.#stage !== null) {
        if (errorType !== '') this.#stage.setStatus({ code: SpanStatusCode.ERROR, message: errorType });
        this.#endStage(errorType !== '' ? { 'error.type': errorType } : undefined);
      }
      // HTTP server spans: a 4xx is the client's doing, not an error of this server.
      if (out.status >= 500 || ex.streamError !== '') this.span.setStatus({ code: SpanStatusCode.ERROR, message: errorType });
    }
    this.span.end();
  }
}
