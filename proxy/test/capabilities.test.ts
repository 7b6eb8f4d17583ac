// Backends that declare what they cannot do (capabilities) never get a request that needs it,
// under every balancing strategy; when no backend of the route can serve a request, the client
// gets a 400 naming what is missing. Driven in-process with the openai SDK against fakes.
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakeOpenAI, type FakeBackend } from '@jairouter/testkit/fake-openai';
import { modelRoute, tenantWithKeys, toYaml, type BackendSpec } from './config.ts';
import { startInProcess, type InProcessProxy } from './in-process.ts';

const KEY = 'sk-capabilities-0123456789';
const STRATEGIES = ['Random', 'RoundRobin', 'WeightedRoundRobin', 'LeastConnections', 'IPHash', 'ConsistentHash', 'Latency', 'Cost', 'Capability'];
const RUNS = 8;

let proxy: InProcessProxy;
let client: OpenAI;
let limited: FakeBackend;
let able: FakeBackend;

const TOOL = { type: 'function' as const, function: { name: 'get_weather', parameters: { type: 'object', properties: {} } } };
const IMAGE_MESSAGE = {
  role: 'user' as const,
  content: [
    { type: 'text' as const, text: 'what is this?' },
    { type: 'image_url' as const, image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
  ],
};

function routeFor(strategy: string, limits: NonNullable<BackendSpec['capabilities']>, suffix: string) {
  return modelRoute(`cap-${suffix}-${strategy.toLowerCase()}`, {
    models: [`cap-${suffix}-${strategy}`],
    backends: [
      // The limited backend comes first and weighs more: a strategy that ignored capabilities would pick it.
      { name: 'limited', url: limited.url, capabilities: limits, weight: 5, pricing: { inputPerMillion: 0.01 } },
      { name: 'able', url: able.url, weight: 1, pricing: { inputPerMillion: 10 } },
    ],
    loadBalancer: { strategy },
  });
}

beforeAll(async () => {
  [limited, able] = await Promise.all([startFakeOpenAI({ name: 'limited' }), startFakeOpenAI({ name: 'able' })]);
  const routes = STRATEGIES.flatMap((s) => [
    routeFor(s, { tools: false }, 'tools'),
    routeFor(s, { vision: false }, 'vision'),
    routeFor(s, { json: false }, 'json'),
    routeFor(s, { contextWindow: 200 }, 'window'),
  ]);
  routes.push(
    modelRoute('none-can', {
      models: ['none-can'],
      backends: [
        { name: 'limited', url: limited.url, capabilities: { tools: false, contextWindow: 200 } },
        { name: 'able', url: able.url, capabilities: { tools: false, contextWindow: 100 } },
      ],
    }),
    modelRoute('split', {
      models: ['split'],
      backends: [
        { name: 'limited', url: limited.url, capabilities: { tools: false } },
        { name: 'able', url: able.url, capabilities: { vision: false } },
      ],
    }),
  );
  proxy = await startInProcess(toYaml(...routes, tenantWithKeys('cap', { k: KEY })));
  client = proxy.client(KEY);
});

afterAll(async () => {
  await proxy?.stop();
  await Promise.all([limited?.close(), able?.close()]);
});

beforeEach(() => {
  limited.clearRequests();
  able.clearRequests();
});

async function servedBy(strategy: string, suffix: string, body: Omit<OpenAI.ChatCompletionCreateParamsNonStreaming, 'model'>): Promise<void> {
  for (let i = 0; i < RUNS; i++) {
    const { response } = await client.chat.completions.create({ ...body, model: `cap-${suffix}-${strategy}` }).withResponse();
    expect(response.headers.get('x-jairouter-backend'), strategy).toBe('able');
  }
  expect(limited.inferenceRequests(), strategy).toHaveLength(0);
  // A request that does not need the feature may still go to the limited backend.
}

describe('capabilities filter every strategy', () => {
  it('never sends a tools request to a backend with tools: false', async () => {
    for (const s of STRATEGIES) await servedBy(s, 'tools', { messages: [{ role: 'user', content: 'weather?' }], tools: [TOOL] });
  });

  it('never sends an image request to a backend with vision: false', async () => {
    for (const s of STRATEGIES) await servedBy(s, 'vision', { messages: [IMAGE_MESSAGE] });
  });

  it('never sends a JSON-mode request to a backend with json: false', async () => {
    for (const s of STRATEGIES) {
      await servedBy(s, 'json', { messages: [{ role: 'user', content: 'json please' }], response_format: { type: 'json_object' } });
      await servedBy(s, 'json', {
        messages: [{ role: 'user', content: 'json please' }],
        response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'object' } } },
      });
    }
  });

  it('skips a backend whose contextWindow is smaller than the estimated prompt', async () => {
    // 1,000 ASCII characters are about 250 tokens; 100 CJK characters about 100 tokens plus 150 asked for.
    for (const s of STRATEGIES) {
      await servedBy(s, 'window', { messages: [{ role: 'user', content: 'x'.repeat(1000) }] });
      await servedBy(s, 'window', { messages: [{ role: 'user', content: '字'.repeat(100) }], max_tokens: 150 });
    }
  });

  it('still uses a limited backend for requests that do not need what it lacks', async () => {
    const backends = new Set<string>();
    for (let i = 0; i < 20 && backends.size < 2; i++) {
      const { response } = await client.chat.completions.create({ model: 'cap-tools-RoundRobin', messages: [{ role: 'user', content: 'hi' }] }).withResponse();
      backends.add(String(response.headers.get('x-jairouter-backend')));
    }
    expect([...backends].sort()).toEqual(['able', 'limited']);
  });
});

describe('when no backend can serve the request', () => {
  it('answers 400 unsupported_capability naming the feature, without calling a backend', async () => {
    const err = await client.chat.completions
      .create({ model: 'none-can', messages: [{ role: 'user', content: 'x' }], tools: [TOOL] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    const e = err as InstanceType<typeof OpenAI.BadRequestError>;
    expect(e.code).toBe('unsupported_capability');
    expect(e.message).toContain('tools');
    expect(e.message).toContain('ai/none-can');
    expect(limited.inferenceRequests().length + able.inferenceRequests().length).toBe(0);
  });

  it('names the context window when the prompt is too long for every backend', async () => {
    const err = await client.chat.completions.create({ model: 'none-can', messages: [{ role: 'user', content: 'y'.repeat(2000) }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as Error).message).toMatch(/about \d+ tokens.*contextWindow.*\(200\)/);
  });

  it('says when each feature exists but no backend has both', async () => {
    const err = await client.chat.completions.create({ model: 'split', messages: [IMAGE_MESSAGE], tools: [TOOL] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as Error).message).toContain('all of tools, images');
  });
});
