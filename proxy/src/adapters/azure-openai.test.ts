import { describe, expect, it } from 'vitest';
import type { BackendIR } from '@jairouter/crds';
import { azureOpenAI } from './azure-openai.ts';
import type { ClientRequest, UpstreamRequest } from './types.ts';

const azure = azureOpenAI();
const toUpstream = (req: ClientRequest, b: BackendIR, basePath = '') => azure.toUpstream(req, b, basePath, 'https://myres.openai.azure.com') as UpstreamRequest;

function backend(options: BackendIR['options'], extra: Partial<BackendIR> = {}): BackendIR {
  return {
    name: 'az', adapter: 'azure-openai', endpoints: [{ url: 'https://myres.openai.azure.com' }], weight: 1, priority: 0,
    capabilities: {}, pricing: { inputPerMillion: 0, outputPerMillion: 0 }, options, credential: 'azure-key', ...extra,
  };
}

function request(body: Record<string, unknown>, operation: ClientRequest['operation'] = 'chat'): ClientRequest {
  const so = body.stream_options as { include_usage?: boolean } | undefined;
  return { operation, raw: Buffer.from(JSON.stringify(body)), body, model: body.model as string, stream: body.stream === true, clientWantsUsage: so?.include_usage === true, requestId: 'rid' };
}

describe('azure-openai adapter', () => {
  it('calls the deployment (the backend model) with options.apiVersion, the body passed through and the credential in api-key', () => {
    const req = request({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }], seed: 12345678901234567890123 });
    const up = toUpstream(req, backend({ apiVersion: '2024-10-21' }, { model: 'gpt4o prod' }));
    expect(up.path).toBe('/openai/deployments/gpt4o%20prod/chat/completions?api-version=2024-10-21');
    expect(up.body).toBe(req.raw);
    expect(up.headers['api-key']).toBe('azure-key');
    expect(up.headers.authorization).toBeUndefined();
    expect(azure.authHeaders(backend({ apiVersion: 'v1' }))).toEqual({ 'api-key': 'azure-key' });
  });

  it('uses the requested name as the deployment when the backend names none, and serves embeddings and completions', () => {
    const up = toUpstream(request({ model: 'text-embedding-3-small', input: 'x' }, 'embeddings'), backend({ apiVersion: '2024-02-01' }), '/base');
    expect(up.path).toBe('/base/openai/deployments/text-embedding-3-small/embeddings?api-version=2024-02-01');
    expect(toUpstream(request({ model: 'davinci', prompt: 'x' }, 'completions'), backend({ apiVersion: '2024-10-21' })).path)
      .toBe('/openai/deployments/davinci/completions?api-version=2024-10-21');
  });

  it('apiVersion v1 calls the v1 API with the model in the body', () => {
    const up = toUpstream(request({ model: 'gpt-4o', messages: [] }), backend({ apiVersion: 'v1' }, { model: 'gpt-4o-mini' }));
    expect(up.path).toBe('/openai/v1/chat/completions');
    expect(JSON.parse(String(up.body)).model).toBe('gpt-4o-mini');
  });

  it('asks for stream usage only from the api-version that accepts stream_options', () => {
    const req = request({ model: 'm', stream: true, messages: [] });
    expect(JSON.parse(String(toUpstream(req, backend({ apiVersion: '2024-10-21' })).body)).stream_options).toEqual({ include_usage: true });
    expect(JSON.parse(String(toUpstream(req, backend({ apiVersion: '2025-04-01-preview' })).body)).stream_options).toEqual({ include_usage: true });
    expect(JSON.parse(String(toUpstream(req, backend({ apiVersion: 'v1' })).body)).stream_options).toEqual({ include_usage: true });
    expect(toUpstream(req, backend({ apiVersion: '2024-06-01' })).body).toBe(req.raw);
  });

  it('sends an Entra ID token as a bearer token when authHeader is authorization', () => {
    const up = toUpstream(request({ model: 'm', messages: [] }), backend({ apiVersion: 'v1', authHeader: 'Authorization', 'header.X-Ms-Client': 'jr' }));
    expect(up.headers.authorization).toBe('Bearer azure-key');
    expect(up.headers['api-key']).toBeUndefined();
    expect(up.headers['x-ms-client']).toBe('jr');
  });
});
