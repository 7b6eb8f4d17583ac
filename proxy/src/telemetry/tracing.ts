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
  SamplingDecision,
  SpanKind,
  SpanStatusCode,
  defaultTextMapGetter,
  defaultTextMapSetter,
  trace,
  type Attributes,
  type Context,
  type Link,
  type Span,
  type TextMapPropagator,
  type Tracer,
} from '@opentelemetry/api';
import type { ClientRequest, Operation } from '../adapters/types.ts';
import type { Exchange } from '../exchange.ts';
import type { EndpointRuntime, RouteRuntime, Runtime } from '../runtime/runtime.ts';
import type { AttemptResult } from '../upstream/attempt.ts';
import { OPERATION_PATHS } from '../http/paths.ts';
import { GEN_AI_OPERATIONS, modelLabel, providerName } from './gen-ai.ts';

import { createProvider, displayUrl, startTracingFromEnv, type Env, type HeadSampling, type Provider, type Started, type TracingSettings } from '@jairouter/crds/otel';

export { SAMPLERS, displayUrl, parseResourceAttributes, tracingEnv, type Provider, type SamplerName, type TracingEnv, type TracingSettings } from '@jairouter/crds/otel';

// ---------------------------------------------------------------------------------------------
// The provider

/**
 * The proxy's tracing from its environment, or null (nothing loaded, nothing registered) when it
 * is off; when on, the provider and the W3C propagator are registered globally.
 */
export function startTracing(env: Env, defaultServiceName: string, onDiagnostic?: (msg: string) => void): Promise<Started<ProxyTracing>> {
  return startTracingFromEnv(env, defaultServiceName, (provider, propagator, head) => new ProxyTracing(provider, propagator, head), onDiagnostic);
}

/** The proxy's tracing for these settings (createProvider: OTLP exporter, or `exporter` in tests). */
export async function createTracing(
  settings: TracingSettings,
  opts: Parameters<typeof createProvider>[1] = {},
): Promise<{ tracing: ProxyTracing; provider: Provider }> {
  const { provider, propagator, head } = await createProvider(settings, opts);
  return { tracing: new ProxyTracing(provider, propagator, head), provider };
}

// ---------------------------------------------------------------------------------------------
// Request traces


/** The server span's name and attributes before the request is read, by path. */
const PATHS: Readonly<Record<string, { operation?: string; route: string }>> = {
  ...Object.fromEntries(Object.entries(OPERATION_PATHS).map(([route, op]) => [route, { operation: GEN_AI_OPERATIONS[op], route }])),
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

/** The tracing of the request path: a tracer, the W3C propagator and the provider's sampler. */
export class ProxyTracing {
  readonly tracer: Tracer;
  readonly propagator: TextMapPropagator;
  readonly head: HeadSampling;
  readonly #provider: Provider;

  constructor(provider: Provider, propagator: TextMapPropagator, head: HeadSampling) {
    this.#provider = provider;
    this.tracer = provider.getTracer('jairouter-proxy');
    this.propagator = propagator;
    this.head = head;
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

const NO_ATTRIBUTES: Attributes = Object.freeze({}) as Attributes;
const NO_LINKS: Link[] = [];

/**
 * One request's spans: the SERVER span, one INTERNAL span per stage (authenticate, route,
 * limits; one open at a time) and one CLIENT span per upstream attempt. No prompt or completion
 * text is ever put on a span: names, ids, counts and codes only.
 *
 * The provider's sampler decides first, on the trace id (the client's, or a new one): a request
 * whose trace is not sampled starts no span at all. It keeps a trace id and a span id of its
 * own (for its log line) and sends `traceparent` with flags 00 upstream, as the SDK's
 * non-recording span would, without the SDK's span, context and attribute handling per request.
 */
export class RequestTrace {
  /** The SERVER span; null when the trace is not sampled (then nothing is recorded). */
  readonly span: Span | null;
  /** Sampled: spans are recorded and exported. */
  readonly recording: boolean;
  readonly traceId: string;
  readonly spanId: string;
  readonly #tracing: ProxyTracing;
  /** The context whose span is the server span: the parent of every other span of the request (sampled only). */
  readonly #ctx: Context;
  /** Unsampled: the client's tracestate, passed on upstream as it came. */
  readonly #traceState: string | undefined;
  #stage: Span | null = null;
  #failed: FailedAttempt | null = null;
  /** The answered attempt's finish reasons, for the server span. */
  #finishReasons: string[] | null = null;
  #ended = false;

  constructor(tracing: ProxyTracing, req: IncomingMessage, path: string, requestId: string, runtime: Runtime) {
    this.#tracing = tracing;
    const head = tracing.head;
    // No traceparent (most requests): the root context as is, without the propagator's work.
    const parent = req.headers.traceparent === undefined ? ROOT_CONTEXT : tracing.propagator.extract(ROOT_CONTEXT, req.headers, defaultTextMapGetter);
    const parentSc = parent === ROOT_CONTEXT ? undefined : trace.getSpanContext(parent);
    const continued = parentSc !== undefined && trace.isSpanContextValid(parentSc);
    const traceId = continued ? parentSc.traceId : head.ids.traceId();
    const known = PATHS[path] ?? (path.startsWith('/v1/models/') ? { route: '/v1/models/{model}' } : undefined);
    const method = req.method ?? 'GET';
    // An inference request is named by gen_ai's `{operation} {model}` once its route is known
    // (routed()); until then, and for the other paths, by HTTP's `{method} {route}`.
    const name = known === undefined ? method : known.operation ?? `${method} ${known.route}`;
    // The built-in samplers read the parent and the trace id only (never the name or attributes),
    // and decide the same again when the SDK asks them for the span below.
    const decision = head.sampler.shouldSample(parent, traceId, name, SpanKind.SERVER, NO_ATTRIBUTES, NO_LINKS);
    if (decision.decision === SamplingDecision.NOT_RECORD) {
      this.span = null;
      this.recording = false;
      this.traceId = traceId;
      this.spanId = head.ids.spanId();
      this.#ctx = ROOT_CONTEXT;
      const state = decision.traceState ?? (continued ? parentSc.traceState : undefined);
      this.#traceState = state === undefined ? undefined : state.serialize() || undefined;
      return;
    }
    if (!continued) head.ids.useTraceId(traceId);
    const attributes: Attributes = {
      'http.request.method': method,
      'jairouter.request_id': requestId,
      'jairouter.config_version': runtime.config.version,
    };
    if (known !== undefined) attributes['http.route'] = known.route;
    if (known?.operation !== undefined) attributes['gen_ai.operation.name'] = known.operation;
    const span = tracing.tracer.startSpan(name, { kind: SpanKind.SERVER, attributes }, parent);
    this.span = span;
    this.recording = span.isRecording();
    const sc = span.spanContext();
    this.traceId = sc.traceId;
    this.spanId = sc.spanId;
    this.#ctx = trace.setSpan(ROOT_CONTEXT, span);
    this.#traceState = undefined;
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
    this.span!.setAttribute('jairouter.tenant', tenant);
    this.#endStage({ 'jairouter.tenant': tenant });
  }

  /** The request's model matched `route`, which the caller may use. */
  routed(route: RouteRuntime, client: ClientRequest): void {
    if (!this.recording) return;
    const op = GEN_AI_OPERATIONS[client.operation];
    const model = modelLabel(route, client.model);
    this.span!.updateName(`${op} ${model}`);
    this.span!.setAttributes({ 'gen_ai.operation.name': op, 'gen_ai.request.model': model, 'jairouter.route': route.id });
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
    if (this.recording) this.span!.addEvent('jairouter.fallback', { 'jairouter.route': to.id, 'jairouter.fallback_from': from.id });
  }

  /**
   * The CLIENT span of an upstream attempt, and its traceparent (and the client's tracestate) on
   * the request it sends. Unsampled: no span (null), the request's trace id and span id are propagated (flags 00).
   */
  attempt(ex: Exchange, route: RouteRuntime, ep: EndpointRuntime, headers: Record<string, string>): Span | null {
    if (!this.recording) {
      // As the W3C propagator injects a non-recording span's context: flags 00, tracestate as came.
      headers.traceparent = `00-${this.traceId}-${this.spanId}-00`;
      if (this.#traceState !== undefined) headers.tracestate = this.#traceState;
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
  attemptEnded(span: Span, ex: Exchange, route: RouteRuntime, ep: EndpointRuntime, result: AttemptResult, status: number, finishReasons: readonly string[], timing: { requestStartAt: number; headersAt: number }): void {
    // When the request got a connection and when the response headers came (performance.now()
    // times, which the SDK reads as such): a slow attempt shows whether it waited for a
    // connection, for the upstream, or for its body.
    if (timing.requestStartAt > 0) span.addEvent('jairouter.upstream.request_start', undefined, timing.requestStartAt);
    if (timing.headersAt > 0) span.addEvent('jairouter.upstream.response_start', undefined, timing.headersAt);
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
      if (finishReasons.length > 0) {
        const reasons = [...finishReasons];
        a['gen_ai.response.finish_reasons'] = reasons;
        this.#finishReasons = reasons;
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
        if (this.#finishReasons !== null) a['gen_ai.response.finish_reasons'] = this.#finishReasons;
      }
      this.span!.setAttributes(a);
      // A refusal ends the stage that refused it, marked with why.
      if (this.#stage !== null) {
        if (errorType !== '') this.#stage.setStatus({ code: SpanStatusCode.ERROR, message: errorType });
        this.#endStage(errorType !== '' ? { 'error.type': errorType } : undefined);
      }
      // HTTP server spans: a 4xx is the client's doing, not an error of this server.
      if (out.status >= 500 || ex.streamError !== '') this.span!.setStatus({ code: SpanStatusCode.ERROR, message: errorType });
    }
    this.span?.end();
  }
}
