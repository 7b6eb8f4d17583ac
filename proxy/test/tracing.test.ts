// Traces of the request path, in process, exported to an InMemorySpanExporter: the span tree of
// a request (SERVER, its stages, a CLIENT span per upstream attempt), its gen_ai and jairouter
// attributes, a failover and a fallback as attempts with the previous failure as an event, the
// client's traceparent continued and the attempt's sent upstream, the request log's trace ids,
// and nothing of it when tracing is off. The OTLP export to a real Jaeger: tracing-jaeger.test.ts.
import { ROOT_CONTEXT, SamplingDecision, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { InMemorySpanExporter, TraceIdRatioBasedSampler, type ReadableSpan } from '@opentelemetry/sdk-trace';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startFakeOpenAI, type FakeBackend } from '@jairouter/testkit/fake-openai';
import { waitFor } from '@jairouter/testkit/wait-for';
import { TraceIds } from '@jairouter/crds/otel';
import { createTracing, type ProxyTracing, type TracingSettings } from '../src/telemetry/tracing.ts';
import { FAST_RETRY, PROVIDER_KEY, PROVIDER_REF, modelRoute, providerSecret, tenantWithKeys, toYaml, type Doc } from './config.ts';
import { startInProcess, type InProcessProxy } from './in-process.ts';

const KEY = 'sk-acme-tracing-5b1e0c7a9d';
const MARKER = 'okapi-prompt-marker-9031';
const CLIENT_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const CLIENT_SPAN = '00f067aa0ba902b7';

const SETTINGS: TracingSettings = {
  url: 'http://127.0.0.1:4318/v1/traces',
  sampler: 'parentbased_always_on',
  ratio: 1,
  serviceName: 'jairouter-proxy',
  resource: {},
  batch: {},
};

let good: FakeBackend;
let flaky: FakeBackend;
let proxy: InProcessProxy | null = null;
const exporter = new InMemorySpanExporter();
let tracing: ProxyTracing;

beforeAll(async () => {
  good = await startFakeOpenAI({ name: 'trace-good' });
  flaky = await startFakeOpenAI({ name: 'trace-flaky' });
  flaky.setMode('error500');
  ({ tracing } = await createTracing(SETTINGS, { exporter }));
});
afterEach(async () => {
  await proxy?.stop();
  proxy = null;
  exporter.reset();
  good.clearRequests();
  flaky.clearRequests();
});
afterAll(async () => {
  await tracing?.shutdown();
  await good?.close();
  await flaky?.close();
});

function config(...extra: (Doc | Doc[])[]): string {
  return toYaml(
    providerSecret(),
    modelRoute('chat', { models: ['chat-a'], backends: [{ name: 'trace-good', url: good.url, credentialsRef: PROVIDER_REF }] }),
    modelRoute('flaky', {
      models: ['chat-flaky'],
      backends: [
        { name: 'trace-flaky', url: flaky.url, credentialsRef: PROVIDER_REF, priority: 0 },
        { name: 'trace-good', url: good.url, credentialsRef: PROVIDER_REF, priority: 1 },
      ],
      retry: { attempts: 2, ...FAST_RETRY },
    }),
    modelRoute('broken', {
      models: ['chat-broken'],
      backends: [{ name: 'trace-flaky', url: flaky.url, credentialsRef: PROVIDER_REF }],
      retry: { attempts: 0, ...FAST_RETRY },
      fallback: { models: ['chat-a'] },
    }),
    tenantWithKeys('acme', { k: KEY }),
    ...extra,
  );
}

async function start(opts: { traced?: boolean } = {}, ...extra: (Doc | Doc[])[]): Promise<InProcessProxy> {
  proxy = await startInProcess(config(...extra), opts.traced === false ? {} : { tracing });
  return proxy;
}

const chat = (model: string, extra: Record<string, unknown> = {}) => ({ model, messages: [{ role: 'user', content: `say hi ${MARKER}` }], ...extra });

/** The finished spans of one trace, once its SERVER span has ended. */
async function traceOf(traceId?: string): Promise<{ server: ReadableSpan; spans: ReadableSpan[] }> {
  let server: ReadableSpan | undefined;
  await waitFor('the server span', () => {
    server = exporter.getFinishedSpans().find((s) => s.kind === SpanKind.SERVER && (traceId === undefined || s.spanContext().traceId === traceId));
    return server !== undefined;
  }, 5_000);
  const id = server!.spanContext().traceId;
  return { server: server!, spans: exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === id) };
}

const childrenOf = (spans: ReadableSpan[], parent: ReadableSpan) => spans.filter((s) => s.parentSpanContext?.spanId === parent.spanContext().spanId);
const attempts = (spans: ReadableSpan[]) => spans.filter((s) => s.kind === SpanKind.CLIENT).sort((a, b) => Number(a.attributes['jairouter.attempt']) - Number(b.attributes['jairouter.attempt']));

describe('a traced request', () => {
  it('is one SERVER span "chat chat-a" with authenticate, route and one CLIENT attempt under it, carrying the gen_ai and jairouter attributes', async () => {
    const p = await start();
    const res = await p.post('/v1/chat/completions', KEY, chat('chat-a'));
    expect(res.status).toBe(200);
    await res.text();
    const { server, spans } = await traceOf();
    expect(server.name).toBe('chat chat-a');
    expect(server.parentSpanContext).toBeUndefined();
    expect(server.status.code).toBe(SpanStatusCode.UNSET);
    const rt = p.swap.current.routes.find((r) => r.ir.models.includes('chat-a'))!;
    expect(server.attributes['gen_ai.response.finish_reasons']).toEqual(['stop']);
    expect(server.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'chat-a',
      'gen_ai.response.model': 'chat-a',
      'http.request.method': 'POST',
      'http.route': '/v1/chat/completions',
      'http.response.status_code': 200,
      'jairouter.tenant': 'ai/acme',
      'jairouter.route': rt.id,
      'jairouter.backend': 'trace-good',
      'jairouter.attempts': 1,
      'jairouter.config_version': p.swap.current.config.version,
    });
    expect(server.attributes['gen_ai.usage.input_tokens']).toBeGreaterThan(0);
    expect(server.attributes['gen_ai.usage.output_tokens']).toBeGreaterThan(0);
    expect(server.attributes['error.type']).toBeUndefined();
    expect(server.resource.attributes['service.name']).toBe('jairouter-proxy');

    const children = childrenOf(spans, server);
    expect(children.map((s) => s.name).sort()).toEqual(['authenticate', 'chat chat-a', 'route']);
    expect(spans).toHaveLength(4);
    const auth = children.find((s) => s.name === 'authenticate')!;
    expect(auth.kind).toBe(SpanKind.INTERNAL);
    expect(auth.attributes['jairouter.tenant']).toBe('ai/acme');
    const routeSpan = children.find((s) => s.name === 'route')!;
    expect(routeSpan.attributes).toMatchObject({ 'jairouter.route': rt.id, 'gen_ai.request.model': 'chat-a' });
    const [attempt] = attempts(spans);
    expect(attempt!.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'chat-a',
      'gen_ai.response.model': 'chat-a',
      'http.response.status_code': 200,
      'jairouter.backend': 'trace-good',
      'jairouter.endpoint': good.url,
      'jairouter.attempt': 1,
      'server.address': '127.0.0.1',
      'server.port': good.port,
    });
    expect(attempt!.attributes['gen_ai.usage.output_tokens']).toBe(server.attributes['gen_ai.usage.output_tokens']);
    // Stages in order, inside the server span.
    const ns = (h: readonly [number, number]) => h[0] * 1e9 + h[1];
    const t = (s: ReadableSpan) => ns(s.startTime);
    expect(t(auth)).toBeLessThanOrEqual(t(routeSpan));
    expect(t(routeSpan)).toBeLessThanOrEqual(t(attempt!));
    // The attempt's events split it: a connection, then the response headers, both inside it.
    expect(attempt!.events.map((e) => e.name)).toEqual(['jairouter.upstream.request_start', 'jairouter.upstream.response_start']);
    const [connected, headers] = attempt!.events.map((e) => ns(e.time));
    expect(t(attempt!)).toBeLessThanOrEqual(connected!);
    expect(connected!).toBeLessThanOrEqual(headers!);
    expect(headers!).toBeLessThanOrEqual(ns(attempt!.endTime));
  });

  it('continues the client\'s traceparent, and the upstream gets a traceparent of the attempt span (with the client\'s tracestate)', async () => {
    const p = await start();
    const res = await p.post('/v1/chat/completions', KEY, chat('chat-a'), { traceparent: `00-${CLIENT_TRACE}-${CLIENT_SPAN}-01`, tracestate: 'vendor=abc' });
    expect(res.status).toBe(200);
    await res.text();
    const { server, spans } = await traceOf(CLIENT_TRACE);
    expect(server.spanContext().traceId).toBe(CLIENT_TRACE);
    expect(server.parentSpanContext?.spanId).toBe(CLIENT_SPAN);
    expect(server.parentSpanContext?.isRemote).toBe(true);
    const [attempt] = attempts(spans);
    const upstream = good.inferenceRequests().at(-1)!;
    expect(upstream.headers['traceparent']).toBe(`00-${CLIENT_TRACE}-${attempt!.spanContext().spanId}-01`);
    expect(upstream.headers['tracestate']).toBe('vendor=abc');
  });

  it('an unsampled client trace records nothing, and still sends its trace id and tracestate upstream (flags 00)', async () => {
    const p = await start();
    const res = await p.post('/v1/chat/completions', KEY, chat('chat-a'), { 'x-request-id': 'unsampled-1', traceparent: `00-${CLIENT_TRACE}-${CLIENT_SPAN}-00`, tracestate: 'vendor=abc' });
    expect(res.status).toBe(200);
    await res.text();
    const upstream = good.inferenceRequests().at(-1)!;
    expect(upstream.headers['traceparent']).toMatch(new RegExp(`^00-${CLIENT_TRACE}-[0-9a-f]{16}-00$`));
    expect(upstream.headers['tracestate']).toBe('vendor=abc');
    // The log line names the trace and the span id sent upstream.
    await waitFor('the request log line', () => p.logs.some((l) => l.msg === 'request' && l['requestId'] === 'unsampled-1'), 5_000);
    const line = p.logs.find((l) => l.msg === 'request' && l['requestId'] === 'unsampled-1')!;
    expect(upstream.headers['traceparent']).toBe(`00-${CLIENT_TRACE}-${line['span_id']}-00`);
    // A sampled request after it: by the time its trace is exported, the unsampled one (which
    // finished first) would have been too.
    await (await p.post('/v1/chat/completions', KEY, chat('chat-a'))).text();
    const { server } = await traceOf();
    expect(new Set(exporter.getFinishedSpans().map((s) => s.spanContext().traceId))).toEqual(new Set([server.spanContext().traceId]));
  });

  it('a failover is a second attempt span, with the first one\'s failure as its jairouter.retry event', async () => {
    const p = await start();
    const res = await p.post('/v1/chat/completions', KEY, chat('chat-flaky'));
    expect(res.status).toBe(200);
    await res.text();
    const { server, spans } = await traceOf();
    expect(server.attributes).toMatchObject({ 'jairouter.attempts': 2, 'jairouter.backend': 'trace-good', 'http.response.status_code': 200 });
    const [first, second] = attempts(spans);
    expect(first!.attributes).toMatchObject({ 'jairouter.backend': 'trace-flaky', 'error.type': '5xx', 'http.response.status_code': 500, 'jairouter.attempt': 1 });
    expect(first!.status.code).toBe(SpanStatusCode.ERROR);
    expect(second!.attributes).toMatchObject({ 'jairouter.backend': 'trace-good', 'http.response.status_code': 200, 'jairouter.attempt': 2 });
    expect(second!.status.code).toBe(SpanStatusCode.UNSET);
    expect(second!.events.map((e) => e.name)).toEqual(['jairouter.retry', 'jairouter.upstream.request_start', 'jairouter.upstream.response_start']);
    expect(second!.events[0]!.attributes).toMatchObject({ 'error.type': '5xx', 'jairouter.backend': 'trace-flaky', 'jairouter.endpoint': flaky.url, 'http.response.status_code': 500 });
    // Each upstream saw the traceparent of its own attempt.
    expect(flaky.inferenceRequests().at(-1)!.headers['traceparent']).toContain(first!.spanContext().spanId);
    expect(good.inferenceRequests().at(-1)!.headers['traceparent']).toContain(second!.spanContext().spanId);
  });

  it('a fallback model\'s route: the attempt there carries a jairouter.fallback event, the server span one too', async () => {
    const p = await start();
    const res = await p.post('/v1/chat/completions', KEY, chat('chat-broken'));
    expect(res.status).toBe(200);
    await res.text();
    const { server, spans } = await traceOf();
    const fallbackRoute = p.swap.current.routes.find((r) => r.ir.models.includes('chat-a'))!;
    const brokenRoute = p.swap.current.routes.find((r) => r.ir.models.includes('chat-broken'))!;
    expect(server.name).toBe('chat chat-broken');
    expect(server.attributes['jairouter.route']).toBe(fallbackRoute.id);
    expect(server.events.map((e) => e.name)).toEqual(['jairouter.fallback']);
    const [first, second] = attempts(spans);
    expect(first!.attributes).toMatchObject({ 'jairouter.route': brokenRoute.id, 'error.type': '5xx' });
    expect(second!.attributes).toMatchObject({ 'jairouter.route': fallbackRoute.id, 'jairouter.backend': 'trace-good' });
    expect(second!.events[0]!.name).toBe('jairouter.fallback');
    expect(second!.events[0]!.attributes).toMatchObject({ 'jairouter.route': brokenRoute.id, 'error.type': '5xx' });
  });

  it('a stream: the attempt span lasts until its end and carries the usage', async () => {
    const p = await start();
    const res = await p.post('/v1/chat/completions', KEY, chat('chat-a', { stream: true, stream_options: { include_usage: true } }));
    expect(res.status).toBe(200);
    await res.text();
    const { server, spans } = await traceOf();
    expect(server.attributes['jairouter.stream']).toBe(true);
    const [attempt] = attempts(spans);
    expect(attempt!.attributes['gen_ai.usage.output_tokens']).toBeGreaterThan(0);
    expect(server.attributes['gen_ai.usage.output_tokens']).toBe(attempt!.attributes['gen_ai.usage.output_tokens']);
    expect(attempt!.attributes['gen_ai.response.finish_reasons']).toEqual(['stop']);
    expect(server.attributes['gen_ai.response.finish_reasons']).toEqual(['stop']);
  });

  it('finish reasons as the client received them: Anthropic\'s stop_reason on the Messages API, from an OpenAI backend', async () => {
    const p = await start();
    const res = await p.post('/v1/messages', KEY, { model: 'chat-a', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }] }, { 'anthropic-version': '2023-06-01' });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { stop_reason: string }).stop_reason).toBe('end_turn');
    const { server, spans } = await traceOf();
    expect(server.attributes['gen_ai.response.finish_reasons']).toEqual(['end_turn']);
    expect(attempts(spans)[0]!.attributes['gen_ai.response.finish_reasons']).toEqual(['end_turn']);
  });

  it('a wrong key: the authenticate span ends in error with the code answered, and nothing else is started', async () => {
    const p = await start();
    const res = await p.post('/v1/chat/completions', 'sk-wrong-0000', chat('chat-a'));
    expect(res.status).toBe(401);
    const { server, spans } = await traceOf();
    expect(server.name).toBe('chat');
    expect(server.attributes).toMatchObject({ 'error.type': 'invalid_api_key', 'http.response.status_code': 401 });
    expect(server.status.code).toBe(SpanStatusCode.UNSET);
    expect(spans.map((s) => s.name)).toEqual(['authenticate', 'chat']);
    const auth = spans.find((s) => s.name === 'authenticate')!;
    expect(auth.status.code).toBe(SpanStatusCode.ERROR);
    expect(auth.attributes['error.type']).toBe('invalid_api_key');
  });

  it('a limit refusal: the limits span says which, no attempt is made', async () => {
    const policy: Doc = {
      apiVersion: 'jairouter.io/v1alpha1', kind: 'RateLimitPolicy', metadata: { name: 'one', namespace: 'ai' },
      spec: { targetRefs: [{ kind: 'Tenant', name: 'acme' }], rules: [{ name: 'once', limit: { requests: 1, per: '1h' } }] },
    };
    const p = await start({}, policy);
    expect((await p.post('/v1/chat/completions', KEY, chat('chat-a'))).status).toBe(200);
    await traceOf();
    const admitted = exporter.getFinishedSpans().find((s) => s.name === 'limits')!;
    expect(admitted.attributes['jairouter.limits.decision']).toBe('admitted');
    exporter.reset();
    const res = await p.post('/v1/chat/completions', KEY, chat('chat-a'));
    expect(res.status).toBe(429);
    const { server, spans } = await traceOf();
    expect(server.attributes).toMatchObject({ 'error.type': 'rate_limit_exceeded', 'http.response.status_code': 429 });
    expect(String(server.attributes['jairouter.detail'])).toContain('RateLimitPolicy');
    const limits = spans.find((s) => s.name === 'limits')!;
    expect(limits.status.code).toBe(SpanStatusCode.ERROR);
    expect(limits.attributes['error.type']).toBe('rate_limit_exceeded');
    expect(attempts(spans)).toEqual([]);
  });

  it('GET /v1/models is named by its HTTP route', async () => {
    const p = await start();
    const res = await fetch(`${p.baseUrl}/v1/models`, { headers: { authorization: `Bearer ${KEY}` } });
    expect(res.status).toBe(200);
    const { server, spans } = await traceOf();
    expect(server.name).toBe('GET /v1/models');
    expect(server.attributes).toMatchObject({ 'http.route': '/v1/models', 'jairouter.tenant': 'ai/acme', 'http.response.status_code': 200 });
    expect(server.attributes['gen_ai.operation.name']).toBeUndefined();
    expect(spans.map((s) => s.name).sort()).toEqual(['GET /v1/models', 'authenticate']);
  });

  it('the request log line carries trace_id and span_id of the server span', async () => {
    const p = await start();
    const res = await p.post('/v1/chat/completions', KEY, chat('chat-a'), { 'x-request-id': 'traced-log-1', traceparent: `00-${CLIENT_TRACE}-${CLIENT_SPAN}-01` });
    await res.text();
    const { server } = await traceOf(CLIENT_TRACE);
    await waitFor('the request log line', () => p.logs.some((l) => l.msg === 'request' && l['requestId'] === 'traced-log-1'), 5_000);
    const line = p.logs.find((l) => l.msg === 'request' && l['requestId'] === 'traced-log-1')!;
    expect(line['trace_id']).toBe(CLIENT_TRACE);
    expect(line['span_id']).toBe(server.spanContext().spanId);
    expect(server.attributes['jairouter.request_id']).toBe('traced-log-1');
  });

  it('no span holds prompt or completion text, or the provider credential', async () => {
    const p = await start();
    await (await p.post('/v1/chat/completions', KEY, chat('chat-a'))).text();
    await (await p.post('/v1/chat/completions', KEY, chat('chat-flaky', { stream: true }))).text();
    await traceOf();
    await waitFor('both server spans', () => exporter.getFinishedSpans().filter((s) => s.kind === SpanKind.SERVER).length === 2, 5_000);
    const reply = good.requests.length > 0 ? 'Hello from trace-good' : '';
    const dump = JSON.stringify(exporter.getFinishedSpans().map((s) => ({ name: s.name, attributes: s.attributes, events: s.events, status: s.status })));
    expect(dump).not.toContain(MARKER);
    expect(dump).not.toContain(reply);
    expect(dump).not.toContain(PROVIDER_KEY);
    expect(dump).not.toContain(KEY);
  });
});

describe('ratio sampling', () => {
  it('decides on the trace id before any span: a sampled trace is exported whole under that id, an unsampled one starts no span and still sends its ids upstream (flags 00)', async () => {
    // The SDK's own sampler, as a downstream service at the same ratio decides.
    const oracle = new TraceIdRatioBasedSampler(0.5);
    const decides = (traceId: string) => oracle.shouldSample(ROOT_CONTEXT, traceId).decision === SamplingDecision.RECORD_AND_SAMPLED;
    // New trace ids in a known order, five the ratio samples and five it does not, interleaved.
    const pool = new TraceIds();
    const yes: string[] = [];
    const no: string[] = [];
    while (yes.length < 5 || no.length < 5) {
      const id = pool.traceId();
      (decides(id) ? yes : no).push(id);
    }
    const script = yes.slice(0, 5).flatMap((y, i) => [y, no[i]!]);
    const queue = [...script];
    class ScriptedIds extends TraceIds {
      override traceId(): string {
        return queue.shift() ?? super.traceId();
      }
    }
    const ratioExporter = new InMemorySpanExporter();
    const { tracing: ratioTracing } = await createTracing({ ...SETTINGS, sampler: 'traceidratio', ratio: 0.5 }, { exporter: ratioExporter, ids: new ScriptedIds() });
    try {
      proxy = await startInProcess(config(), { tracing: ratioTracing });
      const seen: { traceId: string; spanId: string; traceparent: string }[] = [];
      for (let i = 0; i < script.length; i++) {
        const id = `ratio-${i}`;
        await (await proxy.post('/v1/chat/completions', KEY, chat('chat-a'), { 'x-request-id': id })).text();
        const traceparent = String(good.inferenceRequests().at(-1)!.headers['traceparent']);
        await waitFor('the request log line', () => proxy!.logs.some((l) => l.msg === 'request' && l['requestId'] === id), 5_000);
        const line = proxy.logs.find((l) => l.msg === 'request' && l['requestId'] === id)!;
        seen.push({ traceId: String(line['trace_id']), spanId: String(line['span_id']), traceparent });
      }
      expect(seen.map((r) => r.traceId)).toEqual(script);
      await waitFor('every sampled trace', () => ratioExporter.getFinishedSpans().filter((s) => s.kind === SpanKind.SERVER).length >= 5, 5_000);
      const spans = ratioExporter.getFinishedSpans();
      // Exactly the sampled traces were exported, each whole: server, authenticate, route, attempt.
      expect(new Set(spans.map((s) => s.spanContext().traceId))).toEqual(new Set(yes.slice(0, 5)));
      for (const r of seen) {
        if (!decides(r.traceId)) {
          expect(r.traceparent).toBe(`00-${r.traceId}-${r.spanId}-00`);
          continue;
        }
        const mine = spans.filter((s) => s.spanContext().traceId === r.traceId);
        expect(mine.find((s) => s.kind === SpanKind.SERVER)!.spanContext().spanId).toBe(r.spanId);
        expect(mine.map((s) => s.name).sort()).toEqual(['authenticate', 'chat chat-a', 'chat chat-a', 'route']);
        const attempt = mine.find((s) => s.kind === SpanKind.CLIENT)!;
        expect(r.traceparent).toBe(`00-${r.traceId}-${attempt.spanContext().spanId}-01`);
      }
    } finally {
      await ratioTracing.shutdown();
    }
  });
});

describe('tracing off', () => {
  it('no traceparent upstream (even when the client sent one), no trace ids in the log', async () => {
    const p = await start({ traced: false });
    const res = await p.post('/v1/chat/completions', KEY, chat('chat-a'), { 'x-request-id': 'untraced-1', traceparent: `00-${CLIENT_TRACE}-${CLIENT_SPAN}-01` });
    expect(res.status).toBe(200);
    await res.text();
    expect(good.inferenceRequests().at(-1)!.headers['traceparent']).toBeUndefined();
    expect(good.inferenceRequests().at(-1)!.headers['tracestate']).toBeUndefined();
    await waitFor('the request log line', () => p.logs.some((l) => l.msg === 'request' && l['requestId'] === 'untraced-1'), 5_000);
    const line = p.logs.find((l) => l.msg === 'request' && l['requestId'] === 'untraced-1')!;
    expect(line).not.toHaveProperty('trace_id');
    expect(line).not.toHaveProperty('span_id');
    expect(exporter.getFinishedSpans()).toEqual([]);
  });
});
