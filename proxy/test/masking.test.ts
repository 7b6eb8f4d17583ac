// Tenant.spec.masking on both paths: what leaves the gateway (requests) and what the client
// receives (responses, streams included) is masked, whatever the API the client speaks and the
// adapter the backend needs; counts reach metrics and the audit trail, never the matched text.
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeOpenAI, type FakeBackend } from '@jairouter/testkit/fake-openai';
import { startAnthropicProvider } from '@jairouter/testkit/providers/anthropic';
import type { ProviderFake } from '@jairouter/testkit/providers/scenario';
import { modelRoute, secret, tenantWithKeys, toYaml } from './config.ts';
import { startInProcess, type InProcessProxy } from './in-process.ts';

const KEY = 'sk-masking-tenant-0001';
const PLAIN = 'sk-masking-plain-0002';
const RESP = 'sk-masking-responses-0003';
const EMAIL = 'jane.doe@example.com';
const CARD = '4111 1111 1111 1111'; // Luhn-valid test number
const ORDER = '4111 1111 1111 1112'; // one digit off: fails Luhn, an order number
let backend: FakeBackend;
let anthropicFake: ProviderFake;
let proxy: InProcessProxy;
const audit: Record<string, unknown>[] = [];

beforeAll(async () => {
  backend = await startFakeOpenAI({ name: 'masked' });
  anthropicFake = await startAnthropicProvider({ name: 'ant' });
  proxy = await startInProcess(toYaml(
    modelRoute('chat', { models: ['chat', 'embed'], backends: [{ name: 'masked', url: backend.url }] }),
    secret('cred-ant', { stringData: { key: anthropicFake.credential } }),
    modelRoute('claude', {
      models: ['claude'],
      backends: [{ name: 'ant', adapter: 'anthropic', url: anthropicFake.url, model: 'claude-sonnet-4-5', credentialsRef: { name: 'cred-ant', key: 'key' } }],
    }),
    // Responses only: the backend sees (and echoes) the text as written, the client gets it masked.
    tenantWithKeys('resp', { k: RESP }, {
      masking: { responses: ['email', 'credit-card', { name: 'employee-id', regex: 'EMP-[0-9]{6}', replacement: '[EMP]' }] },
    }),
    tenantWithKeys('acme', { k: KEY }, {
      masking: { requests: ['email', 'credit-card', { name: 'employee-id', regex: 'EMP-[0-9]{6}', replacement: '[EMP]' }] },
    }),
    tenantWithKeys('plain', { k: PLAIN }),
  ), { audit });
});
afterAll(async () => {
  await proxy?.stop();
  await backend?.close();
  await anthropicFake?.close();
});

const lastSent = () => JSON.stringify(backend.inferenceRequests().at(-1)!.body);

describe('masking.requests', () => {
  it('masks emails, Luhn-valid card numbers and custom rules in every message before the backend sees them; an order number is left alone', async () => {
    const reply = await proxy.client(KEY).chat.completions.create({
      model: 'chat',
      messages: [
        { role: 'system', content: `Escalate to ${EMAIL}.` },
        { role: 'user', content: [{ type: 'text', text: `Card ${CARD}, order ${ORDER}, badge EMP-123456.` }] },
        { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'lookup', arguments: JSON.stringify({ email: EMAIL }) } }] },
        { role: 'tool', tool_call_id: 'c1', content: `found ${EMAIL}` },
      ],
    });
    expect(reply.choices[0]!.message.content).toBeTruthy();
    const sent = lastSent();
    expect(sent).not.toContain(EMAIL);
    expect(sent).not.toContain(CARD);
    expect(sent).not.toContain('EMP-123456');
    expect(sent).toContain('[MASKED:email]');
    expect(sent).toContain('[MASKED:credit-card]');
    expect(sent).toContain('[EMP]');
    expect(sent).toContain(ORDER);
    const record = audit.at(-1)!;
    expect(record.masks).toEqual({ email: 3, 'credit-card': 1, 'employee-id': 1 });
    const metrics = await (await fetch(`${proxy.adminUrl}/metrics`)).text();
    expect(metrics).toContain('jairouter_masks_total{tenant="ai/acme",rule="email",direction="request"} 3');
    expect(metrics + JSON.stringify(proxy.logs) + JSON.stringify(audit)).not.toContain(EMAIL);
  });

  it('masks embedding inputs and a streaming request alike', async () => {
    await proxy.client(KEY).embeddings.create({ model: 'embed', input: [`hello ${EMAIL}`, 'plain'] });
    expect(lastSent()).toContain('[MASKED:email]');
    const stream = await proxy.client(KEY).chat.completions.create({ model: 'chat', stream: true, messages: [{ role: 'user', content: `mail ${EMAIL}` }] });
    for await (const _ of stream) { /* drain */ }
    expect(lastSent()).not.toContain(EMAIL);
  });

  it('masks what the Anthropic ingress sends, system prompt and content blocks included', async () => {
    const r = await fetch(`${proxy.baseUrl}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': KEY, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'chat', max_tokens: 16, system: `owner ${EMAIL}`, messages: [{ role: 'user', content: [{ type: 'text', text: `pay with ${CARD}` }] }] }),
    });
    expect(r.status).toBe(200);
    const sent = lastSent();
    expect(sent).not.toContain(EMAIL);
    expect(sent).not.toContain(CARD);
  });

  it('a tenant without masking sends its text as written', async () => {
    await proxy.client(PLAIN).chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: `mail ${EMAIL}` }] });
    expect(lastSent()).toContain(EMAIL);
  });
});

describe('masking.responses', () => {
  const said = `write to ${EMAIL}, card ${CARD}, badge EMP-654321, order ${ORDER}`;
  const masked = 'write to [MASKED:email], card [MASKED:credit-card], badge [EMP], order ' + ORDER;

  it('masks what the client receives: a JSON answer, and a stream whose email and card number arrive split across chunks', async () => {
    const client = proxy.client(RESP);
    const json = await client.chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: said }] });
    // The backend got the text as written (no request masking for this tenant) and echoed it.
    expect(lastSent()).toContain(EMAIL);
    expect(json.choices[0]!.message.content).toBe(`Hello from masked: you said "${masked}"`);
    expect(audit.at(-1)!.responseMasks).toEqual({ email: 1, 'credit-card': 1, 'employee-id': 1 });

    // One word per delta (the card number spans four), every SSE event cut into 5-byte writes.
    backend.setMode('ok', { fragmentBytes: 5 });
    try {
      const stream = await client.chat.completions.create({ model: 'chat', stream: true, messages: [{ role: 'user', content: said }] });
      let text = '';
      let finish = '';
      for await (const c of stream) {
        text += c.choices[0]?.delta.content ?? '';
        finish ||= c.choices[0]?.finish_reason ?? '';
      }
      expect(text).toBe(json.choices[0]!.message.content);
      expect(finish).toBe('stop');
    } finally {
      backend.setMode('ok');
    }
    expect(audit.at(-1)!.responseMasks).toEqual({ email: 1, 'credit-card': 1, 'employee-id': 1 });
    expect(audit.at(-1)!.masks).toEqual({});
    const metrics = await (await fetch(`${proxy.adminUrl}/metrics`)).text();
    expect(metrics).toContain('jairouter_masks_total{tenant="ai/resp",rule="email",direction="response"} 2');
    expect(metrics).toContain('jairouter_masks_total{tenant="ai/resp",rule="credit-card",direction="response"} 2');
  });

  it('masks legacy completions, streamed and not', async () => {
    const client = proxy.client(RESP);
    const one = await client.completions.create({ model: 'chat', prompt: said });
    expect(one.choices[0]!.text).toBe(`Hello from masked: you said "${masked}"`);
    const stream = await client.completions.create({ model: 'chat', prompt: said, stream: true });
    let text = '';
    for await (const c of stream) text += c.choices[0]?.text ?? '';
    expect(text).toBe(one.choices[0]!.text);
  });

  it.each([
    ['an Anthropic backend (passed through)', 'claude'],
    ['an OpenAI backend (translated)', 'chat'],
  ])('masks the Anthropic ingress\'s answer from %s, JSON and streamed with @anthropic-ai/sdk', async (_label, model) => {
    const client = new Anthropic({ baseURL: proxy.baseUrl, apiKey: RESP, maxRetries: 0, timeout: 15_000 });
    const message = await client.messages.create({ model, max_tokens: 256, messages: [{ role: 'user', content: said }] });
    const text = message.content.map((b) => (b.type === 'text' ? b.text : '')).join('');
    expect(text).toContain(masked);
    expect(text).not.toContain(EMAIL);
    const stream = client.messages.stream({ model, max_tokens: 256, messages: [{ role: 'user', content: said }] });
    const final = await stream.finalMessage();
    const streamed = final.content.map((b) => (b.type === 'text' ? b.text : '')).join('');
    expect(streamed).toBe(text);
    expect(audit.at(-1)!.responseMasks).toEqual({ email: 1, 'credit-card': 1, 'employee-id': 1 });
  });

  it('refuses logprobs for a tenant that masks responses (the tokens would carry the text unmasked); others may ask', async () => {
    const r = await proxy.post('/v1/chat/completions', RESP, { model: 'chat', logprobs: true, messages: [{ role: 'user', content: 'hi' }] });
    expect(r.status).toBe(400);
    const body = (await r.json()) as { error: { param: string; message: string } };
    expect(body.error.param).toBe('logprobs');
    expect(body.error.message).toContain('Tenant.spec.masking.responses');
    const plain = await proxy.post('/v1/chat/completions', PLAIN, { model: 'chat', logprobs: true, messages: [{ role: 'user', content: 'hi' }] });
    expect(plain.status).toBe(200);
  });

  it('a tenant without response masking gets the answer as the backend wrote it', async () => {
    const r = await proxy.client(PLAIN).chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: `mail ${EMAIL}` }] });
    expect(r.choices[0]!.message.content).toContain(EMAIL);
  });
});
