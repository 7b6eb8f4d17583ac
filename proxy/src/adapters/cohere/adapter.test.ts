import { describe, expect, it } from 'vitest';
import type { BackendIR } from '@jairouter/crds';
import { UnsupportedRequest, type ClientRequest, type UpstreamRequest } from '../types.ts';
import { cohere } from './adapter.ts';

const adapter = cohere(() => 1700000000000);
const up = (req: ClientRequest, b: BackendIR = backend()) => adapter.toUpstream(req, b, '', 'https://api.cohere.com') as UpstreamRequest;

function backend(extra: Partial<BackendIR> = {}): BackendIR {
  return {
    name: 'co', adapter: 'cohere', endpoints: [{ url: 'https://api.cohere.com' }], weight: 1, priority: 0,
    capabilities: {}, pricing: { inputPerMillion: 0, outputPerMillion: 0 }, options: { 'header.X-Client-Name': 'jairouter' }, credential: 'co-key', model: 'command-a-03-2025', ...extra,
  };
}

function request(body: Record<string, unknown>, operation: ClientRequest['operation'] = 'chat'): ClientRequest {
  return { operation, raw: Buffer.from(JSON.stringify(body)), body, model: String(body.model), stream: body.stream === true, clientWantsUsage: false, requestId: 'rid' };
}

describe('cohere adapter', () => {
  it('calls /v2/chat and /v2/embed with the credential as a Bearer token and the static headers', () => {
    const chat = up(request({ model: 'm', messages: [{ role: 'user', content: 'hi' }], stream: true }));
    expect(chat.path).toBe('/v2/chat');
    expect(chat.headers.authorization).toBe('Bearer co-key');
    expect(chat.headers['x-client-name']).toBe('jairouter');
    expect(chat.headers.accept).toBe('text/event-stream');
    expect(JSON.parse(String(chat.body))).toMatchObject({ model: 'command-a-03-2025', stream: true });
    expect(up(request({ model: 'e', input: ['a'] }, 'embeddings')).path).toBe('/v2/embed');
    expect(adapter.supports('completions')).toBe(false);
    expect(adapter.authHeaders(backend())).toEqual({ authorization: 'Bearer co-key', 'x-client-name': 'jairouter' });
  });

  it('refuses what Cohere cannot honour, naming the field', () => {
    const refused = (body: Record<string, unknown>, op: ClientRequest['operation'] = 'chat') => {
      try {
        up(request({ model: 'm', messages: [{ role: 'user', content: 'hi' }], ...body }, op));
      } catch (e) {
        expect(e).toBeInstanceOf(UnsupportedRequest);
        return (e as UnsupportedRequest).field;
      }
      return undefined;
    };
    expect(refused({ n: 3 })).toBe('n');
    expect(refused({ logprobs: true })).toBe('logprobs');
    expect(refused({ parallel_tool_calls: false })).toBe('parallel_tool_calls');
    expect(refused({ tools: [{ type: 'function', function: { name: 'a' } }], tool_choice: { type: 'function', function: { name: 'b' } } })).toBe('tool_choice');
    expect(refused({ messages: [{ role: 'user', content: [{ type: 'input_audio', input_audio: {} }] }] })).toBe('messages[0].content[0]');
    expect(refused({ input: [[1, 2, 3]] }, 'embeddings')).toBe('input');
    expect(refused({ n: 1, logprobs: false, parallel_tool_calls: true })).toBeUndefined();
  });

  it('answers a 422 as a 400 and a Cohere answer that ended in ERROR as an error body with status 502', () => {
    const t = adapter.translator(request({ model: 'm', messages: [] }), backend());
    expect(t.classify(422, { 'content-type': 'application/json' })).toBe('body');
    expect(t.status!(422)).toBe(400);
    t.body(Buffer.from('{"message":"invalid request: bad"}'));
    expect(JSON.parse(String(t.bodyEnd()))).toMatchObject({ error: { message: 'invalid request: bad', type: 'invalid_request_error' } });
    const failed = adapter.translator(request({ model: 'm', messages: [] }), backend());
    failed.classify(200, { 'content-type': 'application/json' });
    failed.body(Buffer.from('{"id":"x","finish_reason":"ERROR","message":{"role":"assistant"}}'));
    expect(JSON.parse(String(failed.bodyEnd()))).toMatchObject({ error: { message: 'the Cohere answer ended with ERROR' } });
    // The proxy asks for the status after the body ended (a held body is committed with its first bytes).
    expect(failed.status!(200)).toBe(502);
    const held = adapter.translator(request({ model: 'm', messages: [] }), backend());
    expect(held.classify(429, {})).toBe('error');
    expect(held.errorMessage(Buffer.from('{"message":"trial key limit"}'))).toBe('trial key limit');
  });
});
