// POST /v1/rerank and /v2/rerank through the proxy, driven by the official `cohere-ai` SDK (its
// v1 client posts to /v1/rerank, its v2 client to /v2/rerank): passed through to a vLLM-style
// backend (the model rewritten), translated to Cohere's v2 Rerank API, refused with a 400 that
// names the operation for a route whose backends cannot rerank, with the same masking, usage and
// gen_ai metrics as the other operations.
import { Cohere, CohereClient, CohereClientV2, CohereError } from 'cohere-ai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeOpenAI, type FakeBackend } from '@jairouter/testkit/fake-openai';
import { startCohereProvider } from '@jairouter/testkit/providers/cohere';
import { startBedrockProvider } from '@jairouter/testkit/providers/bedrock';
import type { ProviderFake } from '@jairouter/testkit/providers/scenario';
import { PROVIDER_REF, modelRoute, providerSecret, secret, tenantWithKeys, toYaml } from './config.ts';
import { startInProcess, type InProcessProxy } from './in-process.ts';

const KEY = 'sk-rerank-tenant-0001';
const MASKED = 'sk-rerank-masked-0002';
const EMAIL = 'jane.doe@example.com';
const DOCS = ['Berlin is in Germany', 'Paris is the capital of France', 'the capital is busy'];

let vllm: FakeBackend;
let cohereFake: ProviderFake;
let bedrockFake: ProviderFake;
let proxy: InProcessProxy;

beforeAll(async () => {
  vllm = await startFakeOpenAI({ name: 'vllm-rr' });
  cohereFake = await startCohereProvider({ name: 'co-rr' });
  bedrockFake = await startBedrockProvider({ name: 'br-rr' });
  proxy = await startInProcess(toYaml(
    providerSecret(),
    secret('cred-co', { stringData: { key: cohereFake.credential } }),
    modelRoute('reranker', { models: ['bge-reranker'], backends: [{ name: 'vllm-rr', adapter: 'vllm', url: vllm.url, model: 'BAAI/bge-reranker-v2-m3', credentialsRef: PROVIDER_REF }] }),
    modelRoute('cohere-rerank', { models: ['rerank-v3.5'], backends: [{ name: 'co-rr', adapter: 'cohere', url: cohereFake.url, credentialsRef: { name: 'cred-co', key: 'key' } }] }),
    secret('cred-br', { stringData: { key: bedrockFake.credential } }),
    modelRoute('bedrock-rerank', {
      models: ['bedrock-rerank'],
      backends: [{ name: 'br-rr', adapter: 'bedrock', url: bedrockFake.url, model: 'cohere.rerank-v3-5:0', options: { region: 'us-east-1' }, credentialsRef: { name: 'cred-br', key: 'key' } }],
    }),
    modelRoute('bedrock-not-rerank', {
      models: ['bedrock-embed'],
      backends: [{ name: 'br-embed', adapter: 'bedrock', url: bedrockFake.url, model: 'amazon.titan-embed-text-v2:0', options: { region: 'us-east-1' }, credentialsRef: { name: 'cred-br', key: 'key' } }],
    }),
    modelRoute('chat-only', { models: ['gpt-4o-mini'], backends: [{ name: 'openai-rr', adapter: 'openai', url: vllm.url, credentialsRef: PROVIDER_REF }] }),
    tenantWithKeys('acme', { k: KEY }),
    tenantWithKeys('masked', { k: MASKED }, { masking: { requests: ['email'], responses: ['email'] } }),
  ));
});
afterAll(async () => {
  await proxy?.stop();
  await vllm?.close();
  await cohereFake?.close();
  await bedrockFake?.close();
});

const v1 = (key = KEY) => new CohereClient({ token: key, environment: proxy.baseUrl, maxRetries: 0 });
const v2 = (key = KEY) => new CohereClientV2({ token: key, environment: proxy.baseUrl, maxRetries: 0 });

describe('rerank', () => {
  it('v1 client to a vLLM backend: passed through with the model rewritten, results by relevance, usage counted', async () => {
    const r = await v1().rerank({ model: 'bge-reranker', query: 'capital of France', documents: DOCS.map((text) => ({ text })), topN: 2 });
    expect(r.results.map((x) => x.index)).toEqual([1, 2]);
    expect(r.results[0]!.relevanceScore).toBe(1);
    const sent = vllm.inferenceRequests().at(-1)!;
    expect(sent.path).toBe('/v1/rerank');
    expect(sent.body).toMatchObject({ model: 'BAAI/bge-reranker-v2-m3', query: 'capital of France', top_n: 2 });
    const metrics = await (await fetch(`${proxy.adminUrl}/metrics`)).text();
    expect(metrics).toMatch(/gen_ai_client_token_usage_sum\{[^}]*gen_ai_operation_name="rerank"[^}]*gen_ai_token_type="input"[^}]*\} [1-9]/);
  });

  it('v2 client (POST /v2/rerank) to the same vLLM backend', async () => {
    const r = await v2().rerank({ model: 'bge-reranker', query: 'capital of France', documents: DOCS });
    expect(r.results.map((x) => x.index)).toEqual([1, 2, 0]);
    expect(vllm.inferenceRequests().at(-1)!.path).toBe('/v1/rerank');
  });

  it('to a cohere backend: translated to /v2/rerank; return_documents answered from the request', async () => {
    const r = await v1().rerank({ model: 'rerank-v3.5', query: 'capital of France', documents: DOCS, topN: 1, returnDocuments: true });
    expect(r.results).toEqual([{ index: 1, relevanceScore: 1, document: { text: DOCS[1] } }]);
    expect(r.meta?.billedUnits?.searchUnits).toBe(1);
    const sent = cohereFake.requests.at(-1)!;
    expect(sent.path).toBe('/v2/rerank');
    expect(sent.json).toEqual({ model: 'rerank-v3.5', query: 'capital of France', documents: DOCS, top_n: 1 });
    const plain = await v2().rerank({ model: 'rerank-v3.5', query: 'capital', documents: DOCS });
    expect(plain.results.every((x) => !('document' in x))).toBe(true);
  });

  it('to a bedrock backend: Cohere Rerank through InvokeModel (SigV4-signed), answered in the client\'s shape', async () => {
    const r = await v2().rerank({ model: 'bedrock-rerank', query: 'capital of France', documents: DOCS, topN: 2 });
    expect(r.results.map((x) => x.index)).toEqual([1, 2]);
    const sent = bedrockFake.requests.at(-1)!;
    expect(sent.path).toBe('/model/cohere.rerank-v3-5%3A0/invoke');
    expect(sent.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 /);
    expect(sent.json).toEqual({ query: 'capital of France', documents: DOCS, top_n: 2, api_version: 2 });
    // A Bedrock model that is not a Cohere reranker: 400 naming the model, nothing sent.
    const before = bedrockFake.requests.length;
    const e = await v2().rerank({ model: 'bedrock-embed', query: 'q', documents: DOCS }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(CohereError);
    expect((e as CohereError).statusCode).toBe(400);
    expect(JSON.stringify((e as CohereError).body)).toContain('is not a Cohere Rerank model');
    expect(bedrockFake.requests.length).toBe(before);
  });

  it('what Cohere\'s v2 API cannot take is a 400 naming it: rank_fields, an object document with other fields', async () => {
    const e = await v1().rerank({ model: 'rerank-v3.5', query: 'q', documents: [{ title: 'T', body: 'B' }], rankFields: ['title'] }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(Cohere.BadRequestError);
    expect(JSON.stringify((e as CohereError).body)).toContain('rank_fields');
    const res = await proxy.post('/v1/rerank', KEY, { model: 'rerank-v3.5', query: 'q', documents: [{ title: 'T', text: 'B' }] });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/documents\[0\].*title/);
  });

  it('a route whose backends cannot rerank answers 400 naming the operation; the backend is never called', async () => {
    const before = vllm.inferenceRequests().length;
    const res = await proxy.post('/v1/rerank', KEY, { model: 'gpt-4o-mini', query: 'q', documents: ['a'] });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toContain('no backend of route ai/chat-only supports rerank');
    expect(vllm.inferenceRequests().length).toBe(before);
  });

  it('a malformed rerank body is a 400 naming the field', async () => {
    for (const [body, param] of [
      [{ model: 'bge-reranker', documents: ['a'] }, 'query'],
      [{ model: 'bge-reranker', query: 'q', documents: [] }, 'documents'],
      [{ model: 'bge-reranker', query: 'q', documents: [1] }, 'documents'],
      [{ model: 'bge-reranker', query: 'q', documents: ['a'], top_n: 0 }, 'top_n'],
    ] as const) {
      const res = await proxy.post('/v1/rerank', KEY, body);
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: { param: string } }).error.param).toBe(param);
    }
  });

  it('masking: the query and documents are masked before the backend sees them, and the echoed documents too', async () => {
    const r = await v1(MASKED).rerank({ model: 'bge-reranker', query: `mail ${EMAIL}`, documents: [`write to ${EMAIL}`, 'nothing here'] });
    const sent = JSON.stringify(vllm.inferenceRequests().at(-1)!.body);
    expect(sent).not.toContain(EMAIL);
    expect(sent).toContain('[MASKED:email]');
    expect(JSON.stringify(r)).not.toContain(EMAIL);
    expect(r.results.find((x) => x.index === 0)!.document?.text).toBe('write to [MASKED:email]');
  });
});
