import { describe, expect, it } from 'vitest';
import type { BackendIR } from '@jairouter/crds';
import { adapterFor } from './index.ts';
import { credentialSecrets, redact } from './redact.ts';
import type { ClientRequest } from './types.ts';

describe('upstream error messages never carry the backend credential', () => {
  it('credentialSecrets: the value, and the long string members of a JSON key pair', () => {
    expect(credentialSecrets(undefined)).toEqual([]);
    expect(credentialSecrets('sk-abc-0123456789')).toEqual(['sk-abc-0123456789']);
    const pair = JSON.stringify({ accessKeyId: 'AKIAEXAMPLE0001', secretAccessKey: 'secret/key/0123456789', sessionToken: 'short' });
    expect(credentialSecrets(pair)).toEqual([pair, 'AKIAEXAMPLE0001', 'secret/key/0123456789']);
    expect(redact('bad key sk-1 and sk-1', ['sk-1'])).toBe('bad key <redacted> and <redacted>');
  });

  it('every adapter\'s translator scrubs an echoed credential from the error message', () => {
    const credential = 'sk-proj-echoed-0123456789';
    const body = Buffer.from(JSON.stringify({ error: { message: `Incorrect API key provided: ${credential}.`, type: 'invalid_request_error', code: 'invalid_api_key' } }));
    const backend = { name: 'b', adapter: 'openai', credential, options: {} } as unknown as BackendIR;
    const t = adapterFor('openai')!.translator({ model: 'm', stream: false } as unknown as ClientRequest, backend);
    expect(t.errorMessage(body)).toBe('Incorrect API key provided: <redacted>.');
  });

  it('a relayed 4xx is held and scrubbed, body and headers; a successful body passes as it comes', () => {
    const credential = 'sk-proj-echoed-0123456789';
    const backend = { name: 'b', adapter: 'openai', credential, options: {} } as unknown as BackendIR;
    const req = { model: 'm', stream: false } as unknown as ClientRequest;
    const t = adapterFor('openai')!.translator(req, backend);
    expect(t.classify(400, {})).toBe('body');
    const h = t.headers({ 'content-type': 'application/json', 'content-length': '60', 'x-echo': `key ${credential}` }, 'body');
    expect(h).toEqual({ 'content-type': 'application/json', 'x-echo': 'key <redacted>' });
    const text = `{"error":{"message":"bad key ${credential}"}}`;
    expect(t.body(Buffer.from(text.slice(0, 30)))).toBeNull();
    expect(t.body(Buffer.from(text.slice(30)))).toBeNull();
    expect(t.bodyEnd()?.toString()).toBe('{"error":{"message":"bad key <redacted>"}}');

    const ok = adapterFor('openai')!.translator(req, backend);
    expect(ok.classify(200, {})).toBe('body');
    expect(ok.headers({ 'content-length': '2' }, 'body')).toEqual({ 'content-length': '2' });
    expect(ok.body(Buffer.from('{}'))?.toString()).toBe('{}');
  });
});
