// Admin endpoints, request log lines (tokens always counted, no secrets, no prompt text)
// and Prometheus metrics after traffic.
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chatPromptTokens, chatReply, countTokens, startFakeOpenAI } from '@jairouter/testkit/fake-openai';
import type { FakeBackend } from '@jairouter/testkit/fake-openai';
import { FAST_RETRY, NS, PROVIDER_KEY, PROVIDER_REF, modelRoute, providerSecret, tenantWithKeys, toYaml } from './config.ts';
import { startProxy } from './harness.ts';
import type { LogLine, ProxyHandle } from './harness.ts';

const ACME_KEY = 'sk-acme-obs-d41d8cd98f00b204';
const WRONG_KEY = 'sk-wrong-e9800998ecf8427e';
// Prompt text that must never be logged.
const MARKER = 'zebra-prompt-marker-4711';

let proxy: ProxyHandle;
let good: FakeBackend;
let flaky: FakeBackend;
let acme: OpenAI;

beforeAll(async () => {
  good = await startFakeOpenAI({ name: 'obs-good' });
  flaky = await startFakeOpenAI({ name: 'obs-flaky' });
  flaky.setMode('error500');
  proxy = await startProxy({
    configs: toYaml(
      providerSecret(),
      modelRoute('chat', { models: ['chat-a'], backends: [{ name: 'obs-good', url: good.url, credentialsRef: PROVIDER_REF }] }),
      modelRoute('flaky', {
        models: ['chat-flaky'],
        backends: [
          { name: 'obs-flaky', url: flaky.url, credentialsRef: PROVIDER_REF },
          { name: 'obs-good', url: good.url, credentialsRef: PROVIDER_REF },
        ],
        loadBalancer: { strategy: 'RoundRobin' },
        retry: { attempts: 2, ...FAST_RETRY },
      }),
      tenantWithKeys('acme', { k: ACME_KEY }),
    ),
  });
  acme = proxy.client(ACME_KEY);
});

afterAll(async () => {
  await proxy?.stop();
  await good?.close();
  await flaky?.close();
});

const requestLog = (requestId: string) => proxy.waitForLog((l) => l.msg === 'request' && l['requestId'] === requestId, 5_000);

describe('admin endpoints', () => {
  it('/healthz is 200 and /readyz reports the config version', async () => {
    expect((await fetch(`${proxy.adminUrl}/healthz`)).status).toBe(200);
    const r = await proxy.readyz();
    expect(r.status).toBe(200);
    expect(r.body.ready).toBe(true);
    expect(r.body.configVersion).toMatch(/^sha256:[0-9a-f]{16,}$/);
  });

  it('admin endpoints are not served on the API listener', async () => {
    const res = await fetch(`${proxy.baseUrl}/metrics`);
    expect(res.status).toBe(404);
  });
});

describe('request log', () => {
  it('a non-streaming request logs route, backend, status, latency and tokens', async () => {
    const messages = [{ role: 'user' as const, content: `count ${MARKER} please` }];
    const { response } = await acme.chat.completions.create({ model: 'chat-a', messages }).withResponse();
    const l = await requestLog(response.headers.get('x-request-id')!);
    expect(String(l['tenant'])).toContain('acme');
    expect(String(l['route'])).toContain('chat');
    expect(l['backend']).toBe('obs-good');
    expect(l['status']).toBe(200);
    expect(typeof l['latencyMs']).toBe('number');
    expect(l['latencyMs'] as number).toBeGreaterThanOrEqual(0);
    expect(l['tokensIn']).toBe(chatPromptTokens(messages));
    expect(l['tokensOut']).toBe(countTokens(chatReply('obs-good', messages)));
  });

  it('a stream without include_usage is still metered with the upstream usage', async () => {
    const messages = [{ role: 'user' as const, content: `stream ${MARKER} without usage` }];
    const { data: stream, response } = await acme.chat.completions.create({ model: 'chat-a', messages, stream: true }).withResponse();
    for await (const _ of stream) {
      /* drain */
    }
    const l = await requestLog(response.headers.get('x-request-id')!);
    expect(l['status']).toBe(200);
    expect(l['tokensIn']).toBe(chatPromptTokens(messages));
    expect(l['tokensOut']).toBe(countTokens(chatReply('obs-good', messages)));
  });

  it('a stream with include_usage logs the same tokens the client saw', async () => {
    const messages = [{ role: 'user' as const, content: `stream ${MARKER} with usage` }];
    const { data: stream, response } = await acme.chat.completions
      .create({ model: 'chat-a', messages, stream: true, stream_options: { include_usage: true } })
      .withResponse();
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const c of stream) if (c.usage) usage = c.usage;
    const l = await requestLog(response.headers.get('x-request-id')!);
    expect(l['tokensIn']).toBe(usage?.prompt_tokens);
    expect(l['tokensOut']).toBe(usage?.completion_tokens);
  });

  it('a failed-over request logs the backend that answered', async () => {
    for (let i = 0; i < 3; i++) {
      const { response } = await acme.chat.completions.create({ model: 'chat-flaky', messages: [{ role: 'user', content: MARKER }] }).withResponse();
      expect(response.headers.get('x-jairouter-backend')).toBe('obs-good');
      const l = await requestLog(response.headers.get('x-request-id')!);
      expect(l['backend']).toBe('obs-good');
      expect(l['status']).toBe(200);
    }
    expect(flaky.inferenceRequests().length).toBeGreaterThan(0);
  });

  it('a rejected request is logged with its status', async () => {
    const res = await proxy.postChat(WRONG_KEY, { model: 'chat-a', messages: [{ role: 'user', content: MARKER }] });
    expect(res.status).toBe(401);
    const l = await requestLog(res.headers.get('x-request-id')!);
    expect(l['status']).toBe(401);
  });

  it('logs never contain API keys, provider credentials or prompt text', async () => {
    // Make sure the lines of the requests above have been written.
    await proxy.waitForLog((l: LogLine) => l.msg === 'request' && l['status'] === 401, 5_000);
    const everything = proxy.stdout() + proxy.stderr();
    expect(everything).not.toContain(ACME_KEY);
    expect(everything).not.toContain(WRONG_KEY);
    expect(everything).not.toContain(PROVIDER_KEY);
    expect(everything).not.toContain(MARKER);
    expect(everything).not.toContain('Hello from');
  });
});

describe('metrics', () => {
  it('/metrics exposes request, latency, token and upstream error series after traffic', async () => {
    await acme.chat.completions.create({ model: 'chat-a', messages: [{ role: 'user', content: 'metric me' }] });
    await acme.chat.completions.create({ model: 'chat-flaky', messages: [{ role: 'user', content: 'metric me' }] });
    const res = await fetch(`${proxy.adminUrl}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await res.text();
    const series = (name: string) => text.split('\n').filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
    const value = (line: string) => Number(line.slice(line.lastIndexOf(' ') + 1));

    const requests = series('jairouter_requests_total');
    const chatLine = requests.find((l) => /route="[^"]*chat"/.test(l) && l.includes('backend="obs-good"'));
    expect(chatLine, requests.join('\n')).toBeDefined();
    // Routes are labelled namespace/name, as in the x-jairouter-route header.
    expect(chatLine).toContain(`route="${NS}/chat"`);
    expect(value(chatLine!)).toBeGreaterThan(0);

    expect(series('jairouter_request_duration_seconds_bucket').length).toBeGreaterThan(0);
    expect(series('jairouter_request_duration_seconds_count').some((l) => value(l) > 0)).toBe(true);

    const tokens = series('jairouter_tokens_total');
    expect(tokens.some((l) => l.includes('direction="in"') && value(l) > 0), tokens.join('\n')).toBe(true);
    expect(tokens.some((l) => l.includes('direction="out"') && value(l) > 0), tokens.join('\n')).toBe(true);

    const upstreamErrors = series('jairouter_upstream_errors_total');
    expect(upstreamErrors.some((l) => l.includes('backend="obs-flaky"') && value(l) > 0), upstreamErrors.join('\n')).toBe(true);

    expect(text).not.toContain(ACME_KEY);
    expect(text).not.toContain(PROVIDER_KEY);
  });

  it('client-chosen model names do not become metric labels (no unbounded cardinality)', async () => {
    for (let i = 0; i < 20; i++) {
      const res = await proxy.postChat(ACME_KEY, { model: `no-such-model-${i}-x7`, messages: [{ role: 'user', content: 'x' }] });
      expect(res.status).toBe(404);
      await res.arrayBuffer();
    }
    const text = await (await fetch(`${proxy.adminUrl}/metrics`)).text();
    expect(text).not.toMatch(/no-such-model-\d+-x7/);
  });
});
