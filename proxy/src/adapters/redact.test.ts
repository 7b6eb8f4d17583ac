import { describe, expect, it } from 'vitest';
import type { BackendIR } from '@jairouter/crds';
import { adapterFor } from './index.ts';
import { Secrets, credentialSecrets, redact, secretsOf } from './redact.ts';
import type { ClientRequest, ResponseTranslator } from './types.ts';

const KEY = 'sk-proj-echoed-0123456789';
const PAIR = { secretId: 'AKIDechoedSecretId0001', secretKey: 'echoed/secret/key+0123456789' };

function backend(adapter: string, credential: string | undefined = KEY, options: Record<string, unknown> = {}): BackendIR {
  return { name: `b-${adapter}`, adapter, credential, options, model: 'm-up' } as unknown as BackendIR;
}

function request(stream = false, operation: ClientRequest['operation'] = 'chat'): ClientRequest {
  const body = { model: 'm', messages: [{ role: 'user', content: 'hi' }], ...(stream && { stream: true }) };
  return { operation, raw: Buffer.from(JSON.stringify(body)), body, model: 'm', stream, clientWantsUsage: false, requestId: 'rid' };
}

function translator(adapter: string, stream = false, b: BackendIR = backend(adapter)): ResponseTranslator {
  return adapterFor(adapter)!.translator(request(stream), b);
}

/** A held (`body`) answer: its chunks in, what the client gets out (status, headers, body). */
function relay(t: ResponseTranslator, status: number, text: string, headers: Record<string, string> = { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)) }) {
  expect(t.classify(status, headers)).toBe('body');
  const bytes = Buffer.from(text);
  const parts: Buffer[] = [];
  // Two chunks, cut inside the credential when it is there.
  const cut = Math.max(1, text.indexOf(KEY) + 5);
  for (const c of [bytes.subarray(0, cut), bytes.subarray(cut)]) {
    const out = t.body(c);
    if (out) parts.push(out);
  }
  const rest = t.bodyEnd();
  if (rest) parts.push(rest);
  // As the proxy does: the headers are asked for when the first bytes for the client exist.
  const out = { status: t.status?.(status) ?? status, headers: t.headers(headers, 'body'), body: Buffer.concat(parts).toString() };
  // A body that changed length goes out without the upstream's content-length.
  if (out.body !== text) expect(out.headers['content-length']).toBeUndefined();
  return out;
}

function streamOut(t: ResponseTranslator, chunks: (string | Buffer)[]): string {
  expect(t.classify(200, { 'content-type': 'text/event-stream' })).toBe('stream');
  let out = '';
  for (const c of chunks) out += t.stream(typeof c === 'string' ? Buffer.from(c) : c)?.toString() ?? '';
  return out + (t.streamRest()?.toString() ?? '');
}

describe('upstream error messages never carry the backend credential', () => {
  it('credentialSecrets: the value, and the long string members of a JSON key pair', () => {
    expect(credentialSecrets(undefined)).toEqual([]);
    expect(credentialSecrets('sk-abc-0123456789')).toEqual(['sk-abc-0123456789']);
    const pair = JSON.stringify({ accessKeyId: 'AKIAEXAMPLE0001', secretAccessKey: 'secret/key/0123456789', sessionToken: 'short' });
    expect(credentialSecrets(pair)).toEqual([pair, 'AKIAEXAMPLE0001', 'secret/key/0123456789']);
    expect(credentialSecrets('{not json')).toEqual(['{not json']);
    expect(credentialSecrets(` \n${pair}`)).toEqual([` \n${pair}`, 'AKIAEXAMPLE0001', 'secret/key/0123456789']);
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

  it('an error message cut at its length limit keeps no part of the credential (every adapter that cuts at 500 characters)', () => {
    // The credential starts at character 490 of the message: cut at 500, ten of its characters were left.
    const message = `${'x'.repeat(490)}${KEY} is not a valid key`;
    const bodies: Record<string, string> = {
      openai: JSON.stringify({ error: { message } }),
      gemini: JSON.stringify({ error: { code: 401, message, status: 'UNAUTHENTICATED' } }),
      anthropic: JSON.stringify({ type: 'error', error: { type: 'authentication_error', message } }),
      cohere: JSON.stringify({ message }),
      bedrock: JSON.stringify({ message }),
    };
    for (const [name, body] of Object.entries(bodies)) {
      const m = translator(name).errorMessage(Buffer.from(body));
      expect(m, name).not.toContain(KEY.slice(0, 10));
      expect(m, name).toContain('<redacted>');
    }
  });

  it('a credential JSON-escaped by the upstream (\\/ in a PHP or Java encoder\'s answer) is found too', () => {
    const key = 'key/with/slashes+0123456789';
    const t = translator('openai', false, backend('openai', key));
    const escaped = JSON.stringify({ error: { message: `Incorrect API key provided: ${key}` } }).replaceAll('/', '\\/');
    const out = relay(t, 400, escaped);
    expect(out.body).not.toContain('with\\/slashes');
    expect(JSON.parse(out.body)).toEqual({ error: { message: 'Incorrect API key provided: <redacted>' } });
    expect(translator('openai', false, backend('openai', key)).errorMessage(Buffer.from(escaped))).toBe('Incorrect API key provided: <redacted>');
  });

  it('gemini: a refused key (400 API_KEY_INVALID) repeated in the message becomes a 502 without it, as do other translated 4xx', () => {
    const body = JSON.stringify({ error: { code: 400, message: `API key not valid: ${KEY}. Please pass a valid API key.`, status: 'INVALID_ARGUMENT', details: [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'API_KEY_INVALID' }] } });
    for (const stream of [false, true]) {
      const out = relay(translator('gemini', stream), 400, body);
      expect(out.status).toBe(502);
      expect(out.body).not.toContain(KEY);
      expect(JSON.parse(out.body).error).toMatchObject({ code: 'upstream_auth_failed', message: 'the backend refused the gateway\'s credential: API key not valid: <redacted>. Please pass a valid API key.' });
    }
    // A non-JSON 4xx that DashScope's translation quotes (cut at 500 characters) keeps no part of the key.
    const ds = relay(translator('dashscope', false, backend('dashscope', KEY, { api: 'native' })), 400, `${'x'.repeat(490)}${KEY}`);
    expect(ds.body).not.toContain(KEY.slice(0, 10));
  });

  it('hunyuan native: an error answered with HTTP 200 (AuthFailure repeating the SecretId) reaches the client without it', () => {
    const b = backend('hunyuan', JSON.stringify(PAIR), { api: 'native' });
    const body = JSON.stringify({ Response: { Error: { Code: 'AuthFailure.SecretIdNotFound', Message: `The SecretId ${PAIR.secretId} is not found.` }, RequestId: 'r' } });
    for (const stream of [false, true]) {
      const out = relay(translator('hunyuan', stream, b), 200, body);
      expect(out.status).toBe(502);
      expect(out.body).not.toContain(PAIR.secretId);
      expect(JSON.parse(out.body).error).toMatchObject({ code: 'upstream_auth_failed', message: expect.stringContaining('The SecretId <redacted> is not found.') });
    }
  });

  it('a successful translated body that repeats the credential is scrubbed too (it is held whole anyway)', () => {
    const out = relay(translator('cohere'), 200, JSON.stringify({ id: 'x', finish_reason: 'COMPLETE', message: { role: 'assistant', content: [{ type: 'text', text: `your key is ${KEY}` }] }, usage: {} }));
    expect(out.body).not.toContain(KEY);
    expect(JSON.parse(out.body).choices[0].message.content).toBe('your key is <redacted>');
  });

  it('an error event inside a stream, after it started, is scrubbed: OpenAI relay, Hunyuan and DashScope native, Anthropic', () => {
    const first = 'data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"Hel"},"finish_reason":null}]}\n\n';
    const openai = streamOut(translator('openai', true), [first, `data: {"error":{"message":"Incorrect API key provided: ${KEY.slice(0, 8)}`, `${KEY.slice(8)}","code":"invalid_api_key"}}\n\n`]);
    expect(openai).toContain('"content":"Hel"');
    expect(openai).toContain('Incorrect API key provided: <redacted>');
    expect(openai).not.toContain(KEY);

    const pair = backend('hunyuan', JSON.stringify(PAIR), { api: 'native' });
    const hy = streamOut(translator('hunyuan', true, pair), [
      'data: {"Id":"h","Choices":[{"Delta":{"Role":"assistant","Content":"Hel"},"FinishReason":""}]}\n\n',
      `data: {"Response":{"Error":{"Code":"AuthFailure.SignatureFailure","Message":"signature of ${PAIR.secretId} does not match"}}}\n\n`,
    ]);
    expect(hy).toContain('"content":"Hel"');
    expect(hy).toContain('signature of <redacted> does not match');
    expect(hy).not.toContain(PAIR.secretId);

    const ds = streamOut(translator('dashscope', true, backend('dashscope', KEY, { api: 'native' })), [
      'data: {"output":{"choices":[{"message":{"role":"assistant","content":"Hel"},"finish_reason":"null"}]},"request_id":"d"}\n\n',
      `event:error\ndata: {"code":"InvalidApiKey","message":"Invalid API-key provided: ${KEY}","request_id":"d"}\n\n`,
    ]);
    expect(ds).toContain('"content":"Hel"');
    expect(ds).toContain('Invalid API-key provided: <redacted>');
    expect(ds).not.toContain(KEY);

    // A successful event repeating the credential (one search an output, measured: see the commit message).
    const an = streamOut(translator('anthropic', true), [
      'event: message_start\ndata: {"type":"message_start","message":{"id":"m","model":"c","usage":{"input_tokens":1}}}\n\n',
      `event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"key ${KEY}"}}\n\n`,
    ]);
    expect(an).toContain('"content":"key <redacted>"');
  });

  it('the secrets are computed once per backend; a backend without a credential gets the translator as it is', () => {
    const b = backend('openai');
    expect(secretsOf(b)).toBe(secretsOf(b));
    expect(secretsOf(b).texts).toEqual([KEY]);
    const pair = backend('hunyuan', JSON.stringify(PAIR), { api: 'native' });
    // Longest first; the escaped forms of the JSON credential and of the `/` in the secret key.
    expect(secretsOf(pair).texts).toEqual(expect.arrayContaining([JSON.stringify(PAIR), PAIR.secretId, PAIR.secretKey, PAIR.secretKey.replaceAll('/', '\\/')]));
    const lengths = secretsOf(pair).texts.map((t) => t.length);
    expect(lengths).toEqual([...lengths].sort((x, y) => y - x));
    const none = adapterFor('openai')!.translator(request(), { ...backend('openai'), credential: undefined } as unknown as BackendIR);
    expect(none.constructor.name).toBe('PassThrough');
  });

  it('the one-pass search of a stream event finds every form of every secret wherever it is, as Buffer#indexOf does', () => {
    let seed = 7;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n);
    const alphabet = 'abcdefsk-proj0123456789AKID/+"\\{}:, <>&';
    const text = (n: number) => Array.from({ length: n }, () => alphabet[rnd(alphabet.length)]).join('');
    const credentials = [KEY, JSON.stringify(PAIR), 'a"quote\\back<slash>&amp/0123', 'short', text(12), text(40)];
    for (const credential of credentials) {
      const s = new Secrets(credential);
      for (let i = 0; i < 400; i++) {
        let t = text(rnd(600));
        if (rnd(2) === 0) {
          const f = s.texts[rnd(s.texts.length)]!;
          const at = rnd(t.length + 1);
          t = t.slice(0, at) + (rnd(3) === 0 ? f.slice(0, -1) : f) + t.slice(at);
        }
        const b = Buffer.from(t);
        expect(s.has(b), `${credential} in ${t}`).toBe(s.texts.some((f) => b.includes(Buffer.from(f))));
        expect(s.scrub(b).toString()).toBe(redact(t, s.texts));
      }
    }
  });
});
