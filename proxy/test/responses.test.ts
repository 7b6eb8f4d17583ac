// The Responses API through the proxy, driven by the official `openai` SDK (responses.create,
// responses.stream, retrieve, delete, inputItems.list, a tool loop over previous_response_id)
// against OpenAI-compatible fakes that store responses. A response id comes back to the endpoint
// that created it: the gateway encodes route, backend, endpoint and tenant into the id the client
// sees (responses/ids.ts), so no state is kept and any replica can serve it.
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeOpenAI, type FakeBackend } from '@jairouter/testkit/fake-openai';
import { startAnthropicProvider } from '@jairouter/testkit/providers/anthropic';
import { startAzureOpenAIProvider } from '@jairouter/testkit/providers/azure';
import { startOpenAIProvider } from '@jairouter/testkit/providers/openai';
import type { ProviderFake } from '@jairouter/testkit/providers/scenario';
import { PROVIDER_REF, modelRoute, providerSecret, secret, tenantWithKeys, toYaml } from './config.ts';
import { startInProcess, type InProcessProxy } from './in-process.ts';

const KEY = 'sk-responses-acme-0001';
const OTHER = 'sk-responses-globex-0002';
const MASKED = 'sk-responses-masked-0003';
const RESP_MASKED = 'sk-responses-respmasked-0004';
const EMAIL = 'jane.doe@example.com';
const TOOL = { type: 'function' as const, name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } }, strict: false };

let a: FakeBackend;
let b: FakeBackend;
let claude: ProviderFake;
let azure: ProviderFake;
let chatOnly: ProviderFake;
let proxy: InProcessProxy;

beforeAll(async () => {
  a = await startFakeOpenAI({ name: 'resp-a' });
  b = await startFakeOpenAI({ name: 'resp-b' });
  claude = await startAnthropicProvider({ name: 'claude-rr' });
  chatOnly = await startOpenAIProvider({ name: 'chat-only' });
  azure = await startAzureOpenAIProvider({ name: 'az-rr' });
  proxy = await startInProcess(toYaml(
    providerSecret(),
    // Two backends, round robin: only the id's encoding brings a follow-up to the right one.
    modelRoute('gpt', {
      models: ['gpt-4.1'],
      loadBalancer: { strategy: 'RoundRobin' },
      backends: [
        { name: 'resp-a', adapter: 'openai', url: a.url, credentialsRef: PROVIDER_REF },
        { name: 'resp-b', adapter: 'vllm', url: b.url, credentialsRef: PROVIDER_REF },
      ],
    }),
    // Backends that do not serve the Responses API: translated to chat and back.
    modelRoute('ollama', { models: ['llama3'], backends: [{ name: 'ollama', adapter: 'ollama', url: a.url, credentialsRef: PROVIDER_REF }] }),
    secret('cred-az', { stringData: { key: azure.credential } }),
    modelRoute('azure', {
      models: ['gpt-4o-azure'],
      backends: [
        { name: 'az-dated', adapter: 'azure-openai', url: azure.url, model: 'gpt4o-prod', options: { apiVersion: '2025-04-01-preview' }, credentialsRef: { name: 'cred-az', key: 'key' } },
      ],
    }),
    modelRoute('azure-v1', {
      models: ['gpt-4o-azure-v1'],
      backends: [{ name: 'az-v1', adapter: 'azure-openai', url: azure.url, model: 'gpt4o-prod', options: { apiVersion: 'v1' }, credentialsRef: { name: 'cred-az', key: 'key' } }],
    }),
    // An OpenAI-compatible server without the Responses API (served through chat).
    secret('cred-chat-only', { stringData: { key: chatOnly.credential } }),
    modelRoute('chat-only', { models: ['chat-only'], backends: [{ name: 'chat-only', adapter: 'ollama', url: chatOnly.url, credentialsRef: { name: 'cred-chat-only', key: 'key' } }] }),
    secret('cred-claude', { stringData: { key: claude.credential } }),
    modelRoute('claude', { models: ['claude'], backends: [{ name: 'claude-rr', adapter: 'anthropic', url: claude.url, model: 'claude-sonnet-4-5', credentialsRef: { name: 'cred-claude', key: 'key' } }] }),
    tenantWithKeys('acme', { k: KEY }),
    tenantWithKeys('globex', { k: OTHER }),
    tenantWithKeys('masked', { k: MASKED }, { masking: { requests: ['email'] } }),
    tenantWithKeys('resp-masked', { k: RESP_MASKED }, { masking: { responses: ['email'] } }),
  ));
});
afterAll(async () => {
  await proxy?.stop();
  await a?.close();
  await b?.close();
  await claude?.close();
  await chatOnly?.close();
  await azure?.close();
});

const client = (key = KEY): OpenAI => proxy.client(key);
/** A Responses stream's event types, in order, and its output text deltas joined. */
async function collect(stream: AsyncIterable<OpenAI.Responses.ResponseStreamEvent>): Promise<{ text: string; types: string[] }> {
  let text = '';
  const types: string[] = [];
  for await (const e of stream) {
    types.push(e.type);
    if (e.type === 'response.output_text.delta') text += e.delta;
  }
  return { text, types };
}

/** The fake that wrote an answer (each signs its text with its name). */
const writer = (text: string): FakeBackend => (text.includes('resp-a') ? a : b);

describe('the Responses API', () => {
  it('responses.create: answered by a backend, the id the gateway\'s (resp_ prefix kept), usage counted', async () => {
    const r = await client().responses.create({ model: 'gpt-4.1', input: 'hi there' });
    expect(r.output_text).toMatch(/^Hello from resp-[ab]: hi there$/);
    expect(r.id).toMatch(/^resp_jr1/);
    expect(r.usage?.input_tokens).toBeGreaterThan(0);
    const metrics = await (await fetch(`${proxy.adminUrl}/metrics`)).text();
    expect(metrics).toMatch(/gen_ai_client_token_usage_sum\{[^}]*gen_ai_request_model="gpt-4.1"[^}]*gen_ai_token_type="output"[^}]*\} [1-9]/);
  });

  it('previous_response_id goes back to the endpoint that stored the response, ten times in a row, with the backend\'s own id', async () => {
    let prev = await client().responses.create({ model: 'gpt-4.1', input: 'first' });
    const served = prev.output_text.slice('Hello from '.length, 'Hello from resp-a'.length);
    for (let i = 0; i < 10; i++) {
      const next = await client().responses.create({ model: 'gpt-4.1', input: `turn ${i}`, previous_response_id: prev.id });
      expect(next.output_text).toContain(`Hello from ${served}: turn ${i} [after resp_`);
      expect(next.previous_response_id).toBe(prev.id);
      prev = next;
    }
    const fake = served === 'resp-a' ? a : b;
    const sent = fake.requests.filter((r) => r.path === '/v1/responses').at(-1)!.body as { previous_response_id: string };
    expect(sent.previous_response_id).toMatch(/^resp_(?!jr1)/);
  });

  it('a streamed response: the SDK\'s stream helper gets the text deltas and a final response under the gateway\'s id', async () => {
    const stream = client().responses.stream({ model: 'gpt-4.1', input: 'stream me' });
    const { text, types } = await collect(stream);
    const final = await stream.finalResponse();
    expect(text).toMatch(/^Hello from resp-[ab]: stream me$/);
    expect(types[0]).toBe('response.created');
    expect(types.at(-1)).toBe('response.completed');
    expect(final.id).toMatch(/^resp_jr1/);
    expect(final.usage?.output_tokens).toBeGreaterThan(0);
    // The stored response is reachable by that id.
    const again = await client().responses.retrieve(final.id);
    expect(again.output_text).toBe(text);
  });

  it('a tool loop: a function call, then its output with previous_response_id', async () => {
    const first = await client().responses.create({ model: 'gpt-4.1', input: 'weather in Paris?', tools: [TOOL] });
    const call = first.output.find((o) => o.type === 'function_call');
    expect(call).toMatchObject({ name: 'get_weather', arguments: '{"city":"Paris"}' });
    const second = await client().responses.create({
      model: 'gpt-4.1',
      previous_response_id: first.id,
      input: [{ type: 'function_call_output', call_id: (call as { call_id: string }).call_id, output: 'sunny' }],
      tools: [TOOL],
    });
    expect(second.output_text).toBe('The tool said: sunny');
  });

  it('retrieve, inputItems.list, delete: each reaches the endpoint holding the response', async () => {
    const r = await client().responses.create({ model: 'gpt-4.1', input: 'keep me' });
    const fake = writer(r.output_text);
    expect((await client().responses.retrieve(r.id)).id).toBe(r.id);
    const items = await client().responses.inputItems.list(r.id);
    expect(items.data.length).toBeGreaterThan(0);
    await client().responses.delete(r.id);
    expect(fake.requests.at(-1)!.method).toBe('DELETE');
    await expect(client().responses.retrieve(r.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
  });

  it('another tenant cannot use the id: 404 as for an id that does not exist, and nothing reaches a backend', async () => {
    const r = await client().responses.create({ model: 'gpt-4.1', input: 'mine' });
    const before = a.requests.length + b.requests.length;
    await expect(client(OTHER).responses.retrieve(r.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    const e = await client(OTHER).responses.create({ model: 'gpt-4.1', input: 'x', previous_response_id: r.id }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(OpenAI.NotFoundError);
    expect((e as InstanceType<typeof OpenAI.NotFoundError>).param).toBe('previous_response_id');
    await expect(client().responses.retrieve('resp_made_up_123')).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    expect(a.requests.length + b.requests.length).toBe(before);
  });

  it('masking.requests masks the instructions and every input item\'s text before the backend sees it', async () => {
    const r = await client(MASKED).responses.create({
      model: 'gpt-4.1',
      instructions: `escalate to ${EMAIL}`,
      input: [{ role: 'user', content: [{ type: 'input_text', text: `mail ${EMAIL}` }] }, { role: 'user', content: `again ${EMAIL}` }],
    });
    const sent = JSON.stringify(writer(r.output_text).requests.filter((q) => q.path === '/v1/responses').at(-1)!.body);
    expect(sent).not.toContain(EMAIL);
    expect(sent.match(/\[MASKED:email\]/g)).toHaveLength(3);
  });
});

describe('the Responses API translated to chat (backends that do not serve it)', () => {
  it('responses.create to an ollama backend: a chat request upstream, a Response back (kept by the gateway, usage)', async () => {
    const r = await client().responses.create({ model: 'llama3', instructions: 'be brief', input: 'hi there', max_output_tokens: 50 });
    expect(r.output_text).toBe('Hello from resp-a: you said "hi there"');
    expect(r.status).toBe('completed');
    expect((r as unknown as { store: boolean }).store).toBe(true);
    expect(r.id).toMatch(/^resp_jrg/);
    expect(r.usage?.input_tokens).toBeGreaterThan(0);
    const sent = a.requests.at(-1)!;
    expect(sent.path).toBe('/v1/chat/completions');
    expect(sent.body).toMatchObject({ model: 'llama3', messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'hi there' }], max_tokens: 50 });
  });

  it('responses.stream to the Anthropic fake: the Responses events in order, the text and usage in the final response', async () => {
    const stream = client().responses.stream({ model: 'claude', input: [{ role: 'user', content: [{ type: 'input_text', text: 'stream me' }] }] });
    const { text, types } = await collect(stream);
    const final = await stream.finalResponse();
    expect(text).toBe('Hello from claude-rr: stream me');
    expect(final.output_text).toBe(text);
    expect(types.slice(0, 4)).toEqual(['response.created', 'response.in_progress', 'response.output_item.added', 'response.content_part.added']);
    expect(types.slice(-4)).toEqual(['response.output_text.done', 'response.content_part.done', 'response.output_item.done', 'response.completed']);
    expect(final.usage?.output_tokens).toBeGreaterThan(0);
    expect(claude.requests.at(-1)!.path).toBe('/v1/messages');
  });

  // The backend dies after its third event: the client's stream ends with the Responses API's
  // own `error` event, numbered after the last event it got, which the SDK raises.
  it('a stream its backend cuts ends with a Responses error event, numbered next, that the SDK raises', async () => {
    const input = 'CUT STREAM one two three four five six seven';
    const r = await fetch(`${proxy.baseUrl}/v1/responses`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'chat-only', input, stream: true }),
    });
    expect(r.status).toBe(200);
    const events = (await r.text()).trimEnd().split('\n\n');
    const data = (ev: string) => JSON.parse(ev.slice(ev.indexOf('data: ') + 6)) as Record<string, unknown>;
    const last = events.at(-1)!;
    expect(last.startsWith('event: error\n')).toBe(true);
    const before = events.slice(0, -1).map(data);
    expect(before[0]!['type']).toBe('response.created');
    expect(before.map((e) => e['sequence_number'])).toEqual(before.map((_, i) => i));
    expect(data(last)).toEqual({
      type: 'error',
      code: 'stream_interrupted',
      message: expect.stringMatching(/^upstream (stream ended before completion|failed mid-stream \(reset\))$/),
      param: null,
      sequence_number: before.length,
      error: { type: 'upstream_error', code: 'stream_interrupted', message: expect.any(String), param: null },
    });

    const stream = client().responses.stream({ model: 'chat-only', input });
    const e = await stream.finalResponse().catch((x: unknown) => x);
    expect(e).toBeInstanceOf(OpenAI.APIError);
    expect((e as InstanceType<typeof OpenAI.APIError>).code).toBe('stream_interrupted');
  });

  it('a tool loop against the Anthropic fake, the conversation sent in input (streamed call, then its output)', async () => {
    const stream = client().responses.stream({ model: 'claude', input: 'weather in Paris?', tools: [TOOL] });
    let args = '';
    for await (const e of stream) if (e.type === 'response.function_call_arguments.delta') args += e.delta;
    const first = await stream.finalResponse();
    const call = first.output.find((o) => o.type === 'function_call') as { call_id: string; name: string; arguments: string };
    expect(call).toMatchObject({ name: 'get_weather', arguments: '{"city":"Paris"}' });
    expect(args).toBe('{"city":"Paris"}');
    const second = await client().responses.create({
      model: 'claude',
      input: [{ role: 'user', content: 'weather in Paris?' }, { type: 'function_call', call_id: call.call_id, name: call.name, arguments: call.arguments }, { type: 'function_call_output', call_id: call.call_id, output: 'sunny' }],
      tools: [TOOL],
    });
    expect(second.output_text).toBe('The tool said: sunny');
  });

  it('what chat cannot carry is a 400 naming it: a built-in tool, a backend\'s own previous_response_id', async () => {
    const web = await client().responses.create({ model: 'claude', input: 'x', tools: [{ type: 'web_search' }] }).catch((e: unknown) => e);
    expect(web).toBeInstanceOf(OpenAI.BadRequestError);
    expect((web as Error).message).toMatch(/web_search tool is built into OpenAI's Responses API and not available.*claude-rr/);
    const prev = await client().responses.create({ model: 'llama3', input: 'x', previous_response_id: 'resp_abc' }).catch((e: unknown) => e);
    expect(prev).toBeInstanceOf(OpenAI.BadRequestError);
    expect((prev as Error).message).toContain('previous_response_id names a response the gateway did not keep');
  });
});

describe('masking.responses on the Responses API', () => {
  it('a JSON answer, passed through: the output text masked, the id still the gateway\'s', async () => {
    const r = await client(RESP_MASKED).responses.create({ model: 'gpt-4.1', input: `write to ${EMAIL}` });
    expect(r.output_text).toMatch(/^Hello from resp-[ab]: write to \[MASKED:email\]$/);
    expect(JSON.stringify(r)).not.toContain(EMAIL);
    expect(r.id).toMatch(/^resp_jr1/);
  });

  it('a stream, passed through and translated: the deltas and every repeat of the text masked, the events in order and numbered', async () => {
    for (const model of ['gpt-4.1', 'claude']) {
      const stream = client(RESP_MASKED).responses.stream({ model, input: `mail ${EMAIL} now` });
      let text = '';
      const seq: number[] = [];
      const raw: string[] = [];
      for await (const e of stream) {
        seq.push(e.sequence_number);
        raw.push(JSON.stringify(e));
        if (e.type === 'response.output_text.delta') text += e.delta;
      }
      const final = await stream.finalResponse();
      expect(text).toMatch(/: mail \[MASKED:email\] now$/);
      expect(final.output_text).toBe(text);
      expect(raw.join('')).not.toContain(EMAIL);
      expect(seq).toEqual(seq.map((_, i) => i));
    }
  });

  it('include of output logprobs is refused for such a tenant (the tokens would carry the text unmasked)', async () => {
    const e = await client(RESP_MASKED).responses.create({ model: 'gpt-4.1', input: 'x', include: ['message.output_text.logprobs'] }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(OpenAI.BadRequestError);
    expect((e as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('include');
  });
});

describe('the Responses API on Azure OpenAI', () => {
  it('dated api-version: POST {url}/openai/responses with the deployment as the model; a chain, retrieve and delete reach it', async () => {
    const r = await client().responses.create({ model: 'gpt-4o-azure', input: 'hi there' });
    expect(r.output_text).toBe('Hello from az-rr: hi there');
    const sent = azure.requests.at(-1)!;
    expect(sent.path).toBe('/openai/responses');
    expect(sent.query.get('api-version')).toBe('2025-04-01-preview');
    expect((sent.json as { model: string }).model).toBe('gpt4o-prod');
    expect(sent.headers['api-key']).toBe(azure.credential);
    const next = await client().responses.create({ model: 'gpt-4o-azure', input: 'again', previous_response_id: r.id });
    expect(next.output_text).toMatch(/^Hello from az-rr: again \[after resp_/);
    expect((await client().responses.retrieve(r.id)).output_text).toBe('Hello from az-rr: hi there');
    expect(azure.requests.at(-1)!.path).toMatch(/^\/openai\/responses\/resp_/);
    expect(azure.requests.at(-1)!.query.get('api-version')).toBe('2025-04-01-preview');
    await client().responses.delete(r.id);
    await expect(client().responses.retrieve(r.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
  });

  it('the v1 API: POST {url}/openai/v1/responses, streamed', async () => {
    let text = '';
    for await (const e of client().responses.stream({ model: 'gpt-4o-azure-v1', input: 'stream me' })) if (e.type === 'response.output_text.delta') text += e.delta;
    expect(text).toBe('Hello from az-rr: stream me');
    expect(azure.requests.at(-1)!.path).toBe('/openai/v1/responses');
  });
});

