// One conformance table, run against every adapter: the official openai SDK talks to the proxy
// in-process, the proxy talks to a fake of the provider's wire format (driven by the shared
// scenario, so the expected answer is the same whatever the provider). A case an adapter
// cannot do is listed with its reason in @jairouter/testkit/providers/support (the source of
// docs/adapters.md's matrix) and skipped here; every other case must pass.
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startAnthropicProvider } from '@jairouter/testkit/providers/anthropic';
import { startAzureOpenAIProvider } from '@jairouter/testkit/providers/azure';
import { startCohereProvider } from '@jairouter/testkit/providers/cohere';
import { startBedrockProvider } from '@jairouter/testkit/providers/bedrock';
import { startGeminiProvider } from '@jairouter/testkit/providers/gemini';
import { startOpenAIProvider } from '@jairouter/testkit/providers/openai';
import type { ProviderFake } from '@jairouter/testkit/providers/scenario';
import { CASES, UNSUPPORTED, type Case } from '@jairouter/testkit/providers/support';
import { waitFor } from '@jairouter/testkit/wait-for';
import { modelRoute, secret, tenantWithKeys, toYaml, type BackendSpec } from './config.ts';
import { startInProcess, type InProcessProxy } from './in-process.ts';

const KEY = 'sk-conformance-0123456789';

interface Participant {
  start(): Promise<ProviderFake>;
  /** Backend fields beyond adapter, url and credentialsRef (options, model). */
  backend?: Partial<BackendSpec>;
}

/** How each adapter's fake is started; every adapter of the support table needs one. */
const PARTICIPANTS: Record<string, Participant> = {
  openai: { start: () => startOpenAIProvider({ name: 'openai' }) },
  vllm: { start: () => startOpenAIProvider({ name: 'vllm' }), backend: { model: 'meta-llama/Llama-3.1-8B-Instruct' } },
  ollama: { start: () => startOpenAIProvider({ name: 'ollama' }), backend: { model: 'llama3.1:8b' } },
  xinference: { start: () => startOpenAIProvider({ name: 'xinference' }) },
  localai: { start: () => startOpenAIProvider({ name: 'localai' }) },
  gpustack: { start: () => startOpenAIProvider({ name: 'gpustack' }) },
  gemini: { start: () => startGeminiProvider({ name: 'gemini' }), backend: { model: 'gemini-2.5-flash' } },
  'azure-openai': { start: () => startAzureOpenAIProvider({ name: 'azure-openai' }), backend: { model: 'gpt4o-prod', options: { apiVersion: '2024-10-21' } } },
  // OpenAI-compatible hosted providers: the OpenAI fake stands in for their wire format.
  huggingface: { start: () => startOpenAIProvider({ name: 'huggingface' }), backend: { model: 'meta-llama/Llama-3.3-70B-Instruct' } },
  dashscope: { start: () => startOpenAIProvider({ name: 'dashscope' }), backend: { model: 'qwen-plus' } },
  hunyuan: { start: () => startOpenAIProvider({ name: 'hunyuan' }), backend: { model: 'hunyuan-turbos-latest' } },
  cohere: { start: () => startCohereProvider({ name: 'cohere' }), backend: { model: 'command-a-03-2025' } },
  anthropic: { start: () => startAnthropicProvider({ name: 'anthropic' }), backend: { model: 'claude-sonnet-4-5' } },
  // SigV4 with the access-key JSON credential. One model id serves every case: the fake answers
  // Converse for any model, and embeddings need a Cohere (or Titan, one text per call) model id.
  bedrock: { start: () => startBedrockProvider({ name: 'bedrock' }), backend: { model: 'cohere.embed-v4:0', options: { region: 'us-east-1' } } },
};

const TOOL = { type: 'function' as const, function: { name: 'get_weather', description: 'Weather in a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } };
const user = (content: string) => [{ role: 'user' as const, content }];
const PNG = 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';

type Ctx = { client: OpenAI; model: string; fake: ProviderFake; name: string; proxy: InProcessProxy };

async function expectError(p: Promise<unknown>, status: number): Promise<InstanceType<typeof OpenAI.APIError>> {
  const e = await p.catch((x: unknown) => x);
  expect(e).toBeInstanceOf(OpenAI.APIError);
  expect((e as InstanceType<typeof OpenAI.APIError>).status).toBe(status);
  return e as InstanceType<typeof OpenAI.APIError>;
}

const RUN: Record<Case, (c: Ctx) => Promise<void>> = {
  plain: async ({ client, model, name }) => {
    const r = await client.chat.completions.create({ model, messages: user('hi there') });
    expect(r.choices[0]!.message.content).toBe(`Hello from ${name}: hi there`);
    expect(r.choices[0]!.finish_reason).toBe('stop');
    expect(r.usage).toMatchObject({ prompt_tokens: 2, completion_tokens: 5 });
  },
  'system prompt': async ({ client, model, name }) => {
    const r = await client.chat.completions.create({ model, messages: [{ role: 'system', content: 'be brief' }, ...user('hi')] });
    expect(r.choices[0]!.message.content).toBe(`Hello from ${name}: hi [system: be brief]`);
  },
  'multi-turn': async ({ client, model, name }) => {
    const r = await client.chat.completions.create({ model, messages: [...user('first'), { role: 'assistant', content: 'one two' }, ...user('second')] });
    expect(r.choices[0]!.message.content).toBe(`Hello from ${name}: second`);
    expect(r.usage?.prompt_tokens).toBe(4);
  },
  'streaming with usage': async ({ client, model, name }) => {
    const stream = client.chat.completions.stream({ model, messages: user('stream me'), stream_options: { include_usage: true } });
    const chunks: number[] = [];
    stream.on('chunk', (c) => chunks.push(c.choices.length));
    const final = await stream.finalChatCompletion();
    expect(final.choices[0]!.message.content).toBe(`Hello from ${name}: stream me`);
    expect(final.choices[0]!.finish_reason).toBe('stop');
    expect(final.usage).toMatchObject({ prompt_tokens: 2, completion_tokens: 5 });
    expect(chunks.length).toBeGreaterThan(3);
  },
  'usage without asking': async ({ client, model, proxy }) => {
    const stream = await client.chat.completions.create({ model, messages: user('count me please'), stream: true });
    const kinds: string[] = [];
    for await (const c of stream) kinds.push(c.usage ? 'usage' : 'chunk');
    expect(kinds).not.toContain('usage');
    const line = await waitFor('the request log line', () => proxy.logs.find((l) => l.msg === 'request' && l['model'] === model && l['stream'] === true && l['tokensIn'] === 3));
    expect(line['tokensOut']).toBeGreaterThan(0);
  },
  'tool call round trip': async ({ client, model }) => {
    const r = await client.chat.completions.create({ model, messages: user('weather?'), tools: [TOOL] });
    expect(r.choices[0]!.finish_reason).toBe('tool_calls');
    const call = r.choices[0]!.message.tool_calls![0]!;
    expect(call.type).toBe('function');
    if (call.type !== 'function') return;
    expect(call.function.name).toBe('get_weather');
    expect(JSON.parse(call.function.arguments)).toEqual({ city: 'Paris' });
    const after = await client.chat.completions.create({
      model,
      messages: [...user('weather?'), { role: 'assistant', content: null, tool_calls: [call] }, { role: 'tool', tool_call_id: call.id, content: 'sunny' }],
      tools: [TOOL],
    });
    expect(after.choices[0]!.message.content).toBe('The tool said: sunny');
  },
  'streaming tool call': async ({ client, model }) => {
    const final = await client.chat.completions.stream({ model, messages: user('weather?'), tools: [TOOL] }).finalChatCompletion();
    expect(final.choices[0]!.finish_reason).toBe('tool_calls');
    const call = final.choices[0]!.message.tool_calls![0]!;
    expect(call.type === 'function' && call.function.name).toBe('get_weather');
    expect(call.type === 'function' && JSON.parse(call.function.arguments)).toEqual({ city: 'Paris' });
    expect(call.id).toBeTruthy();
  },
  'image input': async ({ client, model, name }) => {
    const r = await client.chat.completions.create({
      model,
      messages: [{ role: 'user', content: [{ type: 'text', text: 'what is this' }, { type: 'image_url', image_url: { url: PNG } }] }],
    });
    expect(r.choices[0]!.message.content).toBe(`Hello from ${name}: what is this [images: 1]`);
  },
  'JSON mode': async ({ client, model }) => {
    const r = await client.chat.completions.create({ model, messages: user('answer in json'), response_format: { type: 'json_object' } });
    expect(JSON.parse(r.choices[0]!.message.content!)).toEqual({ answer: 'ok' });
  },
  'stop sequence': async ({ client, model }) => {
    const r = await client.chat.completions.create({ model, messages: user('stop here'), stop: ['from'] });
    expect(r.choices[0]!.message.content).toBe('Hello ');
    expect(r.choices[0]!.finish_reason).toBe('stop');
  },
  'max tokens': async ({ client, model }) => {
    const r = await client.chat.completions.create({ model, messages: user('a long answer please'), max_tokens: 2 });
    expect(r.choices[0]!.message.content).toBe('Hello from');
    expect(r.choices[0]!.finish_reason).toBe('length');
  },
  reasoning: async ({ client, model }) => {
    const r = await client.chat.completions.create({ model, messages: user('think'), reasoning_effort: 'low' });
    expect((r.choices[0]!.message as unknown as { reasoning_content?: string }).reasoning_content).toBe('Thinking about think.');
  },
  embeddings: async ({ client, model }) => {
    const r = await client.embeddings.create({ model, input: ['one', 'two words'] });
    expect(r.data).toHaveLength(2);
    expect(r.data[0]!.embedding.length).toBeGreaterThan(0);
    expect(r.data[1]!.index).toBe(1);
    expect(r.usage.prompt_tokens).toBe(3);
  },
  'error 400': async ({ client, model }) => {
    const e = await expectError(client.chat.completions.create({ model, messages: user('ERROR 400') }), 400);
    expect(e.message).toContain('the request is invalid');
  },
  'error 401 (gateway credential)': async ({ client, model }) => {
    const e = await expectError(client.chat.completions.create({ model, messages: user('ERROR 401') }), 502);
    expect(e.code).toBe('upstream_auth_failed');
    expect(e.message).toContain('invalid credential');
  },
  'error 404': async ({ client, model }) => {
    await expectError(client.chat.completions.create({ model, messages: user('ERROR 404') }), 404);
  },
  'error 429 (Retry-After kept)': async ({ client, model }) => {
    const e = await expectError(client.chat.completions.create({ model, messages: user('ERROR 429') }), 429);
    expect(e.headers?.get('retry-after')).toBe('7');
  },
  'error 5xx': async ({ client, model }) => {
    const e = await expectError(client.chat.completions.create({ model, messages: user('ERROR 500') }), 502);
    expect(e.message).toContain('internal error');
  },
  'context length': async ({ client, model }) => {
    const e = await expectError(client.chat.completions.create({ model, messages: user('ERROR CONTEXT') }), 400);
    expect(e.code).toBe('context_length_exceeded');
  },
  'client abort mid-stream': async ({ client, model, fake }) => {
    const before = fake.requests.length;
    const ac = new AbortController();
    const stream = await client.chat.completions.create({ model, messages: user('SLOW STREAM one two three four five six'), stream: true }, { signal: ac.signal });
    let seen = 0;
    await (async () => {
      for await (const _ of stream) if (++seen === 2) ac.abort();
    })().catch(() => {});
    const upstream = await waitFor('the upstream request', () => fake.requests.slice(before).find((r) => r.method === 'POST'));
    await waitFor('the upstream connection closed', () => upstream.aborted);
  },
  'upstream cut mid-stream': async ({ client, model }) => {
    const stream = await client.chat.completions.create({ model, messages: user('CUT STREAM one two three four five six seven'), stream: true });
    const got = await (async () => {
      let text = '';
      for await (const c of stream) text += c.choices[0]?.delta.content ?? '';
      return text;
    })().catch((e: unknown) => e);
    expect(got).toBeInstanceOf(OpenAI.APIError);
    expect((got as Error).message).toMatch(/upstream failed mid-stream|ended before completion/);
  },
};

const adapters = Object.keys(UNSUPPORTED);
const fakes: Record<string, ProviderFake> = {};
let proxy: InProcessProxy;
let client: OpenAI;

beforeAll(async () => {
  const docs: unknown[] = [tenantWithKeys('conf', { k: KEY })];
  for (const adapter of adapters) {
    const p = PARTICIPANTS[adapter];
    if (!p) throw new Error(`adapter ${adapter} is in the support table but has no participant here`);
    const fake = (fakes[adapter] = await p.start());
    docs.push(
      secret(`cred-${adapter}`, { stringData: { key: fake.credential } }),
      modelRoute(`conf-${adapter}`, {
        models: [`conf-${adapter}`],
        backends: [{ name: adapter, adapter, url: fake.url, credentialsRef: { name: `cred-${adapter}`, key: 'key' }, ...p.backend }],
        retry: { attempts: 0 },
      }),
    );
  }
  proxy = await startInProcess(toYaml(...(docs as Parameters<typeof toYaml>)));
  client = proxy.client(KEY);
});

// Each case starts from healthy endpoints: a 429 case leaves its endpoint cooling down for the
// Retry-After it was given, which is the proxy's behaviour under test there, not here.
afterEach(() => {
  for (const r of proxy.swap.current.routes) for (const e of r.endpoints) e.health.coolUntil = 0;
});

afterAll(async () => {
  await proxy?.stop();
  await Promise.all(Object.values(fakes).map((f) => f.close()));
});

describe.each(adapters)('adapter %s', (adapter) => {
  for (const name of CASES) {
    const why = UNSUPPORTED[adapter]![name];
    if (why) {
      it.skip(`${name} (unsupported: ${why})`, () => {});
      continue;
    }
    it(name, () => RUN[name]({ client, model: `conf-${adapter}`, fake: fakes[adapter]!, name: fakes[adapter]!.name, proxy }));
  }
});

// The same backends through the Anthropic-compatible ingress (POST /v1/messages), driven by the
// official @anthropic-ai/sdk: translated to OpenAI chat for every adapter but `anthropic`, which
// gets the request as it came. The cases an adapter cannot do over OpenAI it cannot do here.
const ANTHROPIC_TOOL = { name: 'get_weather', description: 'Weather in a city', input_schema: { type: 'object' as const, properties: { city: { type: 'string' } }, required: ['city'] } };

describe.each(adapters)('Anthropic ingress (@anthropic-ai/sdk), adapter %s', (adapter) => {
  const model = `conf-${adapter}`;
  const sdk = () => new Anthropic({ baseURL: proxy.baseUrl, apiKey: KEY, maxRetries: 0, timeout: 15_000 });
  const unsupported = UNSUPPORTED[adapter]!;

  it('message with a system prompt, stop reason and usage', async () => {
    const r = await sdk().messages.create({ model, max_tokens: 100, system: 'be brief', messages: [{ role: 'user', content: 'hi' }] });
    expect(r.content).toEqual([expect.objectContaining({ type: 'text', text: `Hello from ${fakes[adapter]!.name}: hi [system: be brief]` })]);
    expect(r.stop_reason).toBe('end_turn');
    expect(r.usage.output_tokens).toBeGreaterThan(0);
  });

  it('streaming, assembled by finalMessage()', async () => {
    const final = await sdk().messages.stream({ model, max_tokens: 100, messages: [{ role: 'user', content: 'stream me' }] }).finalMessage();
    expect(final.content).toEqual([expect.objectContaining({ type: 'text', text: `Hello from ${fakes[adapter]!.name}: stream me` })]);
    expect(final.usage).toMatchObject({ input_tokens: 2, output_tokens: 5 });
  });

  it.skipIf(!!unsupported['tool call round trip'])('tool use and tool_result round trip', async () => {
    const r = await sdk().messages.create({ model, max_tokens: 100, tools: [ANTHROPIC_TOOL], messages: [{ role: 'user', content: 'weather?' }] });
    expect(r.stop_reason).toBe('tool_use');
    const use = r.content.find((b) => b.type === 'tool_use');
    expect(use).toMatchObject({ name: 'get_weather', input: { city: 'Paris' } });
    if (use?.type !== 'tool_use') return;
    const after = await sdk().messages.create({
      model, max_tokens: 100, tools: [ANTHROPIC_TOOL],
      messages: [{ role: 'user', content: 'weather?' }, { role: 'assistant', content: [use] }, { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: 'sunny' }] }],
    });
    expect(after.content).toEqual([expect.objectContaining({ type: 'text', text: 'The tool said: sunny' })]);
  });

  it.skipIf(!!unsupported['streaming tool call'])('streaming tool use (input_json_delta)', async () => {
    const final = await sdk().messages.stream({ model, max_tokens: 100, tools: [ANTHROPIC_TOOL], messages: [{ role: 'user', content: 'weather?' }] }).finalMessage();
    expect(final.stop_reason).toBe('tool_use');
    expect(final.content.find((b) => b.type === 'tool_use')).toMatchObject({ name: 'get_weather', input: { city: 'Paris' } });
  });
});
