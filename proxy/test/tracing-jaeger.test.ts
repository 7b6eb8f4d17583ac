// The proxy binary exporting its traces over OTLP/HTTP to a real Jaeger (v2, in-memory storage,
// @jairouter/testkit/observability), read back through Jaeger's query API: the span tree, the
// gen_ai and jairouter attributes, a failover's second attempt with its jairouter.retry event,
// the client's trace id kept, the resource from OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES,
// and the spans still queued at SIGTERM exported by the drain. Skipped when the Jaeger binary is
// missing and cannot be built (JAIROUTER_SKIP_K8S=1, or no Go), as the other binary tests are.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeOpenAI, type FakeBackend } from '@jairouter/testkit/fake-openai';
import { observabilitySetupTimeoutMs, skipObservability, startJaeger, type Jaeger, type JaegerSpan, type JaegerTrace } from '@jairouter/testkit/observability';
import { FAST_RETRY, PROVIDER_REF, modelRoute, providerSecret, tenantWithKeys, toYaml } from './config.ts';
import { startProxy, waitFor, type ProxyHandle } from './harness.ts';

const KEY = 'sk-acme-jaeger-0c2b7e4d91';
const SERVICE = 'jairouter-proxy-jaeger-test';
// Client trace ids without leading zeros (Jaeger's JSON trims them).
const CHAT_TRACE = '7a3f5e2c9b1d4e6f8a0b1c2d3e4f5a6b';
const FAILOVER_TRACE = '5c1e9d7b3a2f4c6e8d0a1b2c3d4e5f6a';
const DRAIN_TRACE = '6d2e8c4a1b3f5d7e9c0a1b2c3d4e5f6b';
const CLIENT_SPAN = '1f2e3d4c5b6a7980';

let jaeger: Jaeger;
let good: FakeBackend;
let flaky: FakeBackend;
const proxies: ProxyHandle[] = [];

const config = () =>
  toYaml(
    providerSecret(),
    modelRoute('chat', { models: ['chat-a'], backends: [{ name: 'jaeger-good', url: good.url, credentialsRef: PROVIDER_REF }] }),
    modelRoute('flaky', {
      models: ['chat-flaky'],
      backends: [
        { name: 'jaeger-flaky', url: flaky.url, credentialsRef: PROVIDER_REF, priority: 0 },
        { name: 'jaeger-good', url: good.url, credentialsRef: PROVIDER_REF, priority: 1 },
      ],
      retry: { attempts: 2, ...FAST_RETRY },
    }),
    tenantWithKeys('acme', { k: KEY }),
  );

async function proxyTo(env: Record<string, string>): Promise<ProxyHandle> {
  const p = await startProxy({
    configs: config(),
    env: { OTEL_EXPORTER_OTLP_ENDPOINT: jaeger.otlpHttpUrl, OTEL_SERVICE_NAME: SERVICE, OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=test', ...env },
  });
  proxies.push(p);
  await p.waitForLog((l) => l.msg === 'tracing on', 5_000);
  return p;
}

async function chat(p: ProxyHandle, model: string, traceId: string): Promise<void> {
  const res = await fetch(`${p.baseUrl}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json', traceparent: `00-${traceId}-${CLIENT_SPAN}-01` },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hello' }] }),
  });
  expect(res.status).toBe(200);
  await res.text();
}

/** The trace with this id once Jaeger holds `spans` spans of it. */
async function traceIn(traceId: string, spans: number, timeoutMs = 20_000): Promise<JaegerTrace> {
  return waitFor(`trace ${traceId} with ${spans} spans in Jaeger`, async () => {
    const t = (await jaeger.traces(SERVICE)).find((x) => x.traceID === traceId);
    return t !== undefined && t.spans.length >= spans ? t : undefined;
  }, timeoutMs);
}

const tag = (s: JaegerSpan, key: string): unknown => s.tags.find((t) => t.key === key)?.value;
const parentOf = (s: JaegerSpan): string | undefined => s.references.find((r) => r.refType === 'CHILD_OF')?.spanID;
type Logged = JaegerSpan & { logs?: { fields: { key: string; value: unknown }[] }[] };
const events = (s: JaegerSpan) =>
  ((s as Logged).logs ?? []).map((l) => Object.fromEntries(l.fields.map((f) => [f.key, f.value])) as Record<string, unknown>);

describe.skipIf(skipObservability)('traces in a real Jaeger', () => {
  beforeAll(async () => {
    jaeger = await startJaeger();
    good = await startFakeOpenAI({ name: 'jaeger-good' });
    flaky = await startFakeOpenAI({ name: 'jaeger-flaky' });
    flaky.setMode('error500');
  }, observabilitySetupTimeoutMs());

  afterAll(async () => {
    for (const p of proxies) await p.stop().catch(() => {});
    await good?.close();
    await flaky?.close();
    await jaeger?.stop();
  });

  it('a request and a failover: the span trees Jaeger holds, under the client\'s trace ids', async () => {
    const p = await proxyTo({ OTEL_BSP_SCHEDULE_DELAY: '100' });
    await chat(p, 'chat-a', CHAT_TRACE);
    await chat(p, 'chat-flaky', FAILOVER_TRACE);

    const t = await traceIn(CHAT_TRACE, 4);
    expect(t.processes[t.spans[0]!.processID]!.serviceName).toBe(SERVICE);
    const processTags = Object.fromEntries(t.processes[t.spans[0]!.processID]!.tags.map((x) => [x.key, x.value]));
    expect(processTags['deployment.environment.name']).toBe('test');
    const server = t.spans.find((s) => tag(s, 'span.kind') === 'server')!;
    expect(server.operationName).toBe('chat chat-a');
    expect(parentOf(server)).toBe(CLIENT_SPAN);
    expect(tag(server, 'gen_ai.operation.name')).toBe('chat');
    expect(tag(server, 'gen_ai.request.model')).toBe('chat-a');
    expect(tag(server, 'gen_ai.provider.name')).toBe('openai');
    expect(tag(server, 'jairouter.tenant')).toBe('ai/acme');
    expect(tag(server, 'jairouter.backend')).toBe('jaeger-good');
    expect(tag(server, 'http.response.status_code')).toBe(200);
    expect(Number(tag(server, 'gen_ai.usage.output_tokens'))).toBeGreaterThan(0);
    expect(String(tag(server, 'jairouter.config_version'))).toMatch(/^sha256:/);
    const children = t.spans.filter((s) => parentOf(s) === server.spanID);
    expect(children.map((s) => s.operationName).sort()).toEqual(['authenticate', 'chat chat-a', 'route']);
    const attempt = children.find((s) => tag(s, 'span.kind') === 'client')!;
    expect(tag(attempt, 'jairouter.endpoint')).toBe(good.url);
    // The backend got the attempt's traceparent.
    const sent = good.inferenceRequests().find((r) => String(r.headers['traceparent']).includes(CHAT_TRACE))!;
    expect(sent.headers['traceparent']).toBe(`00-${CHAT_TRACE}-${attempt.spanID}-01`);

    const f = await traceIn(FAILOVER_TRACE, 5);
    const fServer = f.spans.find((s) => tag(s, 'span.kind') === 'server')!;
    expect(fServer.operationName).toBe('chat chat-flaky');
    expect(tag(fServer, 'jairouter.attempts')).toBe(2);
    const attempts = f.spans.filter((s) => tag(s, 'span.kind') === 'client').sort((a, b) => Number(tag(a, 'jairouter.attempt')) - Number(tag(b, 'jairouter.attempt')));
    expect(attempts.map((s) => tag(s, 'jairouter.backend'))).toEqual(['jaeger-flaky', 'jaeger-good']);
    expect(attempts.every((s) => parentOf(s) === fServer.spanID)).toBe(true);
    expect(tag(attempts[0]!, 'error.type')).toBe('5xx');
    expect(tag(attempts[0]!, 'error')).toBe(true);
    expect(tag(attempts[0]!, 'http.response.status_code')).toBe(500);
    const retry = events(attempts[1]!).find((e) => e['event'] === 'jairouter.retry')!;
    expect(retry).toMatchObject({ 'error.type': '5xx', 'jairouter.backend': 'jaeger-flaky', 'http.response.status_code': 500 });
  });

  it('SIGTERM exports the spans still queued before the proxy exits', async () => {
    // A schedule a minute away: only the shutdown flush can have sent this trace.
    const p = await proxyTo({ OTEL_BSP_SCHEDULE_DELAY: '60000' });
    await chat(p, 'chat-a', DRAIN_TRACE);
    const exit = await p.stop('SIGTERM');
    expect(exit.code).toBe(0);
    const t = await traceIn(DRAIN_TRACE, 4, 5_000);
    expect(t.spans.find((s) => tag(s, 'span.kind') === 'server')!.operationName).toBe('chat chat-a');
  });
});
