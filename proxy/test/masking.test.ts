// Tenant.spec.masking.requests on the request path: what leaves the gateway is masked, whatever
// the API the client speaks and the adapter the backend needs; counts reach metrics and the
// audit trail, never the matched text.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeOpenAI, type FakeBackend } from '@jairouter/testkit/fake-openai';
import { modelRoute, tenantWithKeys, toYaml } from './config.ts';
import { startInProcess, type InProcessProxy } from './in-process.ts';

const KEY = 'sk-masking-tenant-0001';
const PLAIN = 'sk-masking-plain-0002';
const EMAIL = 'jane.doe@example.com';
const CARD = '4111 1111 1111 1111'; // Luhn-valid test number
const ORDER = '4111 1111 1111 1112'; // one digit off: fails Luhn, an order number
let backend: FakeBackend;
let proxy: InProcessProxy;
const audit: Record<string, unknown>[] = [];

beforeAll(async () => {
  backend = await startFakeOpenAI({ name: 'masked' });
  proxy = await startInProcess(toYaml(
    modelRoute('chat', { models: ['chat', 'embed'], backends: [{ name: 'masked', url: backend.url }] }),
    tenantWithKeys('acme', { k: KEY }, {
      masking: { requests: ['email', 'credit-card', { name: 'employee-id', regex: 'EMP-[0-9]{6}', replacement: '[EMP]' }] },
    }),
    tenantWithKeys('plain', { k: PLAIN }),
  ), { audit });
});
afterAll(async () => {
  await proxy?.stop();
  await backend?.close();
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
    expect(metrics).toContain('jairouter_masks_total{tenant="ai/acme",rule="email"} 3');
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
