// What secrets.test.ts needs besides the stack: a client that records every answer it gets
// (status, headers, body) and can pick its source address (the proxy locks an address out after
// 10 failed authentications), signed tokens and their key set, an upstream that repeats the
// credential it refused, and the scan itself: every secret, as is and base64-encoded, looked for
// in every text collected, a leak reported with its source and a little context, the secret
// itself replaced by <LEAK>.
import { createHmac, generateKeyPairSync, sign } from 'node:crypto';
import { createServer, request, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ProxyProcess } from '@jairouter/testkit/processes';

/** One secret value and what it is ("tenant key team-keys/ci", "openai credential"). */
export interface Secret {
  label: string;
  value: string;
}

/** One collected text and where it came from. */
export interface Text {
  source: string;
  text: string;
}

export interface Leak {
  label: string;
  form: string;
  source: string;
  /** Occurrences of this form of this secret in this source. */
  count: number;
  context: string;
}

/** The forms a secret is looked for in: as is, base64 and base64url (padding dropped, so a longer encoded text matches too). */
export function forms(value: string): [form: string, text: string][] {
  const b = Buffer.from(value, 'utf8');
  const out: [string, string][] = [['exact', value], ['base64', b.toString('base64').replace(/=+$/, '')], ['base64url', b.toString('base64url')]];
  return out.filter(([, t], i) => out.findIndex(([, u]) => u === t) === i);
}

/** Every form of every secret in every text; one Leak per secret, form and source (the first occurrence as context). */
export function scan(secrets: readonly Secret[], texts: readonly Text[]): Leak[] {
  const leaks: Leak[] = [];
  for (const s of secrets) {
    if (s.value.length < 12) throw new Error(`secret ${s.label} is too short to scan for without false alarms`);
    for (const [form, needle] of forms(s.value)) {
      for (const t of texts) {
        const at = t.text.indexOf(needle);
        if (at < 0) continue;
        const count = t.text.split(needle).length - 1;
        const line = t.text.slice(0, at).split('\n').length;
        const hide = (x: string) => x.split(needle).join('<LEAK>').replace(/\n/g, '\\n');
        const context = `${hide(t.text.slice(Math.max(0, at - 40), at))}<LEAK>${hide(t.text.slice(at + needle.length, at + needle.length + 40))}`;
        leaks.push({ label: s.label, form, source: `${t.source} (line ${line})`, count, context });
      }
    }
  }
  return leaks;
}

export function describeLeaks(leaks: readonly Leak[]): string {
  return leaks.map((l) => `${l.label} (${l.form}) in ${l.source}, ${l.count}x: ...${l.context}...`).join('\n');
}

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface Call {
  /** Default /v1/chat/completions. */
  path?: string;
  method?: string;
  key?: string;
  /** Where the key goes (default Authorization: Bearer). */
  header?: 'bearer' | 'x-api-key';
  body?: unknown;
  /** The client's source address, 127.x.y.z (default the system's choice). */
  from?: string;
}

/** Plain HTTP through node:http, every answer kept as text for the scan. */
export class RecordingClient {
  readonly answers: Text[] = [];

  async send(proxy: ProxyProcess, label: string, c: Call): Promise<Answer> {
    const headers: Record<string, string> = {};
    if (c.key !== undefined) {
      if (c.header === 'x-api-key') headers['x-api-key'] = c.key;
      else headers['authorization'] = `Bearer ${c.key}`;
    }
    const body = c.body === undefined ? undefined : JSON.stringify(c.body);
    if (body !== undefined) headers['content-type'] = 'application/json';
    const a = await new Promise<Answer & { raw: string[] }>((resolve, reject) => {
      const req = request(`${proxy.baseUrl}${c.path ?? '/v1/chat/completions'}`, { method: c.method ?? (body ? 'POST' : 'GET'), headers, ...(c.from && { localAddress: c.from }), timeout: 20_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('error', reject);
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, raw: res.rawHeaders, body: Buffer.concat(chunks).toString('utf8') }));
      });
      req.on('timeout', () => req.destroy(new Error(`${label}: no answer within 20 s`)));
      req.on('error', reject);
      req.end(body);
    });
    const head = a.raw.reduce((s, v, i) => s + (i % 2 === 0 ? `${v}: ` : `${v}\n`), '');
    this.answers.push({ source: `answer to ${label} via ${proxy.name}`, text: `HTTP ${a.status}\n${head}\n${a.body}` });
    return { status: a.status, headers: a.headers, body: a.body };
  }
}

/** A chat request body; streams ask for usage. */
export function chatBody(model: string, stream = false, say = 'ping'): object {
  return { model, messages: [{ role: 'user', content: say }], ...(stream && { stream: true, stream_options: { include_usage: true } }) };
}

/** The error code of an OpenAI-style error body, or undefined. */
export function errorCode(body: string): string | undefined {
  try {
    return (JSON.parse(body) as { error?: { code?: string } }).error?.code;
  } catch {
    return undefined;
  }
}

export interface SignedToken {
  token: string;
  /** The JWKS document of the public key (no secret). */
  jwks: string;
  /** The private key: its PEM and the JWK's private members. */
  privateParts: Secret[];
  /** The private key as a JWK (what must never be published in a key set). */
  privateJwk: Record<string, unknown>;
}

const part = (x: object) => Buffer.from(JSON.stringify(x)).toString('base64url');
const claims = (o: { issuer: string; sub: string; audience?: string }) => {
  const now = Math.floor(Date.now() / 1000);
  return { iss: o.issuer, ...(o.audience && { aud: o.audience }), sub: o.sub, iat: now, nbf: now - 5, exp: now + 3600 };
};

/** An HS256 token signed with `secret` (the proxy refuses every HMAC algorithm). */
export function hsToken(secret: string, o: { issuer: string; sub: string; kid: string }): string {
  const input = `${part({ alg: 'HS256', typ: 'JWT', kid: o.kid })}.${part(claims(o))}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

/** An RS256 token from `issuer` for `audience` and `sub`, valid for an hour, and its key set. */
export function signedToken(o: { issuer: string; audience: string; sub: string; kid: string }): SignedToken {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...publicKey.export({ format: 'jwk' }), kid: o.kid, alg: 'RS256', use: 'sig' };
  const input = `${part({ alg: 'RS256', typ: 'JWT', kid: o.kid })}.${part(claims(o))}`;
  const token = `${input}.${sign('sha256', Buffer.from(input), privateKey).toString('base64url')}`;
  const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  const pemBody = pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
  const priv = privateKey.export({ format: 'jwk' });
  return {
    privateJwk: { ...priv, kid: o.kid, alg: 'RS256' },
    token,
    jwks: JSON.stringify({ keys: [jwk] }),
    privateParts: [
      { label: 'JWT signing key (PEM body)', value: pemBody },
      { label: 'JWT signing key (first PEM line)', value: pemBody.slice(0, 64) },
      ...(['d', 'p', 'q', 'dp', 'dq', 'qi'] as const).map((m) => ({ label: `JWT signing key (JWK ${m})`, value: String(priv[m]) })),
    ],
  };
}

/** A near-miss of `key`: its last character (or the one at `at`) changed. */
export function lastCharChanged(key: string, at = key.length - 1): string {
  return key.slice(0, at) + (key[at] === 'Q' ? 'R' : 'Q') + key.slice(at + 1);
}

/**
 * A server that refuses every credential and, as some providers and self-hosted servers do,
 * repeats the one it got in its answer, in the wire format of the API it is called with:
 * - OpenAI (`/v1/...`, Bearer): 401 with the key in the message and a header; `ECHO <status>` in
 *   the request gives that status instead; `ECHO STREAM` in a stream request gives a 200 stream
 *   whose second event is an error event repeating the key (an error after the stream started);
 * - Gemini (`:generateContent`, `:streamGenerateContent`, x-goog-api-key): 400 API_KEY_INVALID
 *   with the key in the message;
 * - Hunyuan native (X-TC-Action ChatCompletions, TC3-signed): the SecretId repeated in an
 *   AuthFailure that comes with HTTP 200, as a Response.Error, or as a stream's second event;
 * - DashScope native (text-generation, Bearer): 400 InvalidApiKey with the key, or a stream whose
 *   second event is an `error` event with it.
 */
export async function startEchoingProvider(): Promise<{ url: string; origin: string; seen: string[]; close(): Promise<void> }> {
  const seen: string[] = [];
  const json = (res: ServerResponse, status: number, got: string, body: unknown) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'x-echo-key': got, 'content-length': Buffer.byteLength(text) }).end(text);
  };
  const events = (res: ServerResponse, got: string, list: string[]) => {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'x-echo-key': got });
    for (const e of list) res.write(`${e}\n\n`);
    res.end();
  };
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (d: Buffer) => (raw += d.toString()));
    req.on('end', () => {
      const url = req.url ?? '';
      const bearer = String(req.headers.authorization ?? '').replace(/^Bearer /, '');
      if (/:(stream)?generateContent/i.test(url)) {
        const got = String(req.headers['x-goog-api-key'] ?? '');
        seen.push(got);
        return json(res, 400, got, { error: { code: 400, message: `API key not valid: ${got}. Please pass a valid API key.`, status: 'INVALID_ARGUMENT', details: [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'API_KEY_INVALID', domain: 'googleapis.com' }] } });
      }
      if (req.headers['x-tc-action'] === 'ChatCompletions') {
        const got = /Credential=([^/]+)\//.exec(String(req.headers.authorization ?? ''))?.[1] ?? '';
        seen.push(got);
        const error = { Code: 'AuthFailure.SecretIdNotFound', Message: `The SecretId ${got} is not found.` };
        if (!/"Stream":true/.test(raw)) return json(res, 200, got, { Response: { Error: error, RequestId: 'echo-1' } });
        return events(res, got, [
          'data: {"Id":"echo-1","Created":1,"Choices":[{"Index":0,"Delta":{"Role":"assistant","Content":"Hel"},"FinishReason":""}]}',
          `data: ${JSON.stringify({ Response: { Error: error, RequestId: 'echo-1' } })}`,
        ]);
      }
      if (url.startsWith('/api/v1/services/aigc/text-generation/generation')) {
        seen.push(bearer);
        const error = { code: 'InvalidApiKey', message: `Invalid API-key provided: ${bearer}`, request_id: 'echo-2' };
        if (req.headers['x-dashscope-sse'] !== 'enable') return json(res, 400, bearer, error);
        return events(res, bearer, [
          'data:{"output":{"choices":[{"message":{"role":"assistant","content":"Hel"},"finish_reason":"null"}]},"request_id":"echo-2"}',
          `event:error\ndata:${JSON.stringify(error)}`,
        ]);
      }
      seen.push(bearer);
      const error = { error: { message: `Incorrect API key provided: ${bearer}.`, type: 'invalid_request_error', param: null, code: 'invalid_api_key' } };
      if (raw.includes('ECHO STREAM') && /"stream":true/.test(raw)) {
        return events(res, bearer, ['data: {"id":"chatcmpl-echo","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"Hel"},"finish_reason":null}]}', `data: ${JSON.stringify(error)}`]);
      }
      // `ECHO <status>` in the request: that status instead of 401.
      return json(res, Number(/ECHO (\d{3})/.exec(raw)?.[1] ?? 401), bearer, error);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    origin: `http://127.0.0.1:${port}`,
    seen,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
