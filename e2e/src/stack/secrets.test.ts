// Issue 10: key ids (the Secret entry names) appear in logs, metrics and audit records, never the
// keys. The whole product on the local control plane (an operator, two proxies sharing a Redis
// behind a password, everything at --log-level debug with --audit-log) is driven through every
// path where a secret exists: tenant API keys (one applied, one minted by `jairouter-operator
// keys create`, later revoked), a second tenant's keys, a key a younger Tenant holds too, an
// RS256 token, a key set wrongly publishing the private key and an HMAC secret (and a token
// signed with it), provider credentials of eight adapters read from a Secret, backends whose
// provider refuses the gateway's credential (one repeats it in its answers, in the OpenAI,
// Gemini, Hunyuan and DashScope native error shapes, Hunyuan's errors with HTTP 200 and error
// events after a stream started included), near-misses of every key, an address locked out
// after failed authentications, a RateLimitPolicy refusal. Then
// everything written during the suite is collected (every log line of every process, both audit
// trails, /metrics of every process, every custom resource with its status, every Event, the
// keys CLI's output, every answer the clients got, headers included) and searched for every
// secret, as is and base64-encoded.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setupTimeoutMs, skipK8s, useControlPlane } from '@jairouter/testkit/control-plane/testing';
import { OPERATOR_BIN, type LogLine, type ProxyProcess } from '@jairouter/testkit/processes';
import { startAnthropicProvider } from '@jairouter/testkit/providers/anthropic';
import { startAzureOpenAIProvider } from '@jairouter/testkit/providers/azure';
import { BEDROCK_TEST_CREDENTIALS, startBedrockProvider } from '@jairouter/testkit/providers/bedrock';
import { startCohereProvider } from '@jairouter/testkit/providers/cohere';
import { startDashScopeNativeProvider } from '@jairouter/testkit/providers/dashscope-native';
import { startGeminiProvider } from '@jairouter/testkit/providers/gemini';
import { HUNYUAN_TEST_KEY, startHunyuanNativeProvider } from '@jairouter/testkit/providers/hunyuan-native';
import { startOpenAIProvider } from '@jairouter/testkit/providers/openai';
import type { ProviderFake } from '@jairouter/testkit/providers/scenario';
import { startRedis, type RedisServer } from '@jairouter/testkit/redis';
import { GROUP_VERSION, Stack, waitFor, type Obj } from './stack.ts';
import { chatBody, describeLeaks, errorCode, hsToken as hsTokenWith, lastCharChanged, RecordingClient, scan, signedToken, startEchoingProvider, type Secret, type SignedToken, type Text } from './secrets-scan.ts';

const TRUE3 = { Accepted: 'True', ResolvedRefs: 'True', Programmed: 'True' };
/** Tenant keys applied in Secrets, by key id. */
const KEYS = {
  'team-keys/ci': 'sk-team-ci-LeakCheck-4f9a1c7e2b6d',
  'other-keys/batch': 'sk-other-batch-LeakCheck-81d3e6a0c5',
  'other-keys/notebook': 'sk-other-notebook-LeakCheck-2c7b9e4f13',
  'limited-keys/probe': 'sk-limited-probe-LeakCheck-6a0d5b8e92',
} as const;
const REDIS_PASSWORD = 'redis-pass-LeakCheck-93e1b7c4d2';
/** Credentials the providers refuse, or that are not of the adapter's form, by route. */
const BAD_CREDENTIALS = {
  rejecting: 'sk-proj-LeakCheck-refused-upstream-5e8a2d',
  'bedrock-wrong': JSON.stringify({ accessKeyId: 'AKIAFAKEBEDROCK00001', secretAccessKey: 'wrong/bedrock/secret/LeakCheck/8c2e5a1f' }),
  'hunyuan-garbled': 'hunyuan-garbled-LeakCheck-0a1b2c3d',
  echoing: 'sk-proj-LeakCheck-echoed-by-upstream-2f6b9d',
  'echoing-gemini': 'AIzaSy-LeakCheck-echoed-gemini-4b7e1d93',
  'echoing-hunyuan': JSON.stringify({ secretId: 'AKIDLeakCheckEchoedHunyuan01', secretKey: 'LeakCheck-echoed-hunyuan-secret-9f2c' }),
  'echoing-dashscope': 'sk-LeakCheck-echoed-dashscope-6c1a8e57',
} as const;
/** The echoing fake's routes beyond the OpenAI one: adapters that turn the provider's error into their own text. */
const ECHOING_ROUTES: Record<string, object> = {
  'echoing-gemini': { adapter: 'gemini', model: 'gemini-2.5-flash' },
  'echoing-hunyuan': { adapter: 'hunyuan', model: 'hunyuan-turbos-latest', options: { api: 'native' } },
  'echoing-dashscope': { adapter: 'dashscope', model: 'qwen-plus', options: { api: 'native' } },
};
/** A key value a younger Tenant also holds (refused there: DuplicateAPIKey), and that Tenant's own key. */
const COPYCAT_OWN = 'sk-copycat-own-LeakCheck-5d7f9b1e3a';
/** An HMAC secret, published (wrongly) in a key set and used to sign an HS256 token. */
const HS_SECRET = 'hs256-shared-secret-LeakCheck-c4e6a8b0d2';
const ISSUER = 'https://idp.leakcheck.test/realms/e2e';
const TOKEN_USER = 'leakcheck-user@example.test';

type Header = 'bearer' | 'x-api-key';
interface Run {
  code: number | null;
  out: string;
  err: string;
}

describe.skipIf(skipK8s)('no key or credential in anything the stack writes (issue 10)', () => {
  const cp = useControlPlane();
  let stack: Stack;
  let redis: RedisServer;
  let jwt: SignedToken;
  let minted = '';
  let echo: Awaited<ReturnType<typeof startEchoingProvider>>;
  const fakes: Record<string, ProviderFake> = {};
  /** Backend fields beyond name, url and credentialsRef, per provider route (model m-<name>). */
  const ROUTES: Record<string, object> = {
    openai: { adapter: 'openai' },
    anthropic: { adapter: 'anthropic', model: 'claude-sonnet-4-5' },
    azure: { adapter: 'azure-openai', model: 'gpt4o-prod', options: { apiVersion: '2024-10-21' } },
    bedrock: { adapter: 'bedrock', model: 'cohere.embed-v4:0', options: { region: 'us-east-1' } },
    gemini: { adapter: 'gemini', model: 'gemini-2.5-flash' },
    cohere: { adapter: 'cohere', model: 'command-a-03-2025' },
    dashscope: { adapter: 'dashscope', model: 'qwen-plus', options: { api: 'native' } },
    hunyuan: { adapter: 'hunyuan', model: 'hunyuan-turbos-latest', options: { api: 'native' } },
  };
  const client = new RecordingClient();
  /** What the keys CLI printed, but the key line of `keys create` (by design). */
  const cliOutput: Text[] = [];
  /** Every near-miss sent, so a logged one is caught too. */
  const nearMisses: Secret[] = [];
  let sent = 0;

  const keysCli = (...args: string[]) =>
    new Promise<Run>((resolve) => {
      execFile(process.execPath, [OPERATOR_BIN, 'keys', ...args, '--namespace', stack.ns, '--kubeconfig', cp().kubeconfig], { encoding: 'utf8', timeout: 30_000 }, (error, stdout, stderr) =>
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, out: stdout, err: stderr }),
      );
    });
  const send = (p: ProxyProcess, label: string, c: Parameters<RecordingClient['send']>[2]) => {
    sent++;
    return client.send(p, label, c);
  };
  const proxy = (i: number) => stack.proxies[i % 2]!;
  const hsToken = () => hsTokenWith(HS_SECRET, { issuer: `${ISSUER}-leaky`, sub: TOKEN_USER, kid: 'hs' });

  beforeAll(async () => {
    jwt = signedToken({ issuer: ISSUER, audience: 'jairouter', sub: TOKEN_USER, kid: 'leakcheck-1' });
    redis = await startRedis({ args: ['--requirepass', REDIS_PASSWORD] });
    fakes['openai'] = await startOpenAIProvider({ name: 'openai', credential: 'sk-proj-LeakCheck-openai-0b6f3e9d7a1c' });
    fakes['anthropic'] = await startAnthropicProvider({ name: 'anthropic', credential: 'sk-ant-api03-LeakCheck-7d2e91c4b8' });
    fakes['azure'] = await startAzureOpenAIProvider({ name: 'azure', credential: 'azure-LeakCheck-3f8c0a6e2d9b4175' });
    fakes['bedrock'] = await startBedrockProvider({ name: 'bedrock' });
    fakes['gemini'] = await startGeminiProvider({ name: 'gemini', credential: 'AIzaSy-LeakCheck-gemini-5c1e8f3a90' });
    fakes['cohere'] = await startCohereProvider({ name: 'cohere', credential: 'cohere-LeakCheck-9a4d2f7e1b63' });
    fakes['dashscope'] = await startDashScopeNativeProvider({ name: 'dashscope', credential: 'sk-dashscope-LeakCheck-e07c5a2d94' });
    fakes['hunyuan'] = await startHunyuanNativeProvider({ name: 'hunyuan' });
    echo = await startEchoingProvider();
    fakes['echoing'] = { name: 'echoing', url: echo.url, credential: '', requests: [], close: echo.close };
    for (const name of Object.keys(ECHOING_ROUTES)) fakes[name] = { name, url: echo.origin, credential: '', requests: [], close: async () => {} };
    fakes['rejecting'] = await startOpenAIProvider({ name: 'rejecting', credential: 'sk-proj-LeakCheck-what-upstream-expects-71b0' });

    stack = new Stack(cp());
    const redisUrl = `redis://:${REDIS_PASSWORD}@127.0.0.1:${redis.port}`;
    await stack.start({
      prefix: 'secrets', operators: 1, proxies: 2,
      operatorArgs: (pod) => ['--audit-log', join(stack.dir, `audit-${pod}.jsonl`), '--log-level', 'debug'],
      proxyArgs: (name) => ['--audit-log', join(stack.dir, `audit-${name}.jsonl`), '--redis-url', redisUrl, '--log-level', 'debug'],
    });
    const credentials: Record<string, string> = { ...BAD_CREDENTIALS };
    for (const name of Object.keys(ROUTES)) credentials[name] = fakes[name]!.credential;
    const route = (name: string, extra: object, fake = name): Obj => ({
      apiVersion: GROUP_VERSION, kind: 'ModelRoute', metadata: { name: `r-${name}` },
      spec: { models: [`m-${name}`], backends: [{ name, url: fakes[fake]!.url, credentialsRef: { name: 'provider-creds', key: name }, ...extra }], retry: { attempts: 0 } },
    });
    const tenant = (name: string, spec: object): Obj => ({ apiVersion: GROUP_VERSION, kind: 'Tenant', metadata: { name }, spec });
    const keySecret = (name: string, entries: Record<string, string>): Obj => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name }, type: 'Opaque', stringData: entries });
    const entries = (secret: string) => Object.fromEntries(Object.entries(KEYS).filter(([id]) => id.startsWith(`${secret}/`)).map(([id, k]) => [id.split('/')[1]!, k]));
    const objects: Obj[] = [
      keySecret('provider-creds', credentials),
      ...Object.entries(ROUTES).map(([name, extra]) => route(name, extra)),
      route('rejecting', { adapter: 'openai' }),
      route('bedrock-wrong', ROUTES['bedrock']!, 'bedrock'),
      route('hunyuan-garbled', ROUTES['hunyuan']!, 'hunyuan'),
      route('echoing', { adapter: 'openai' }),
      ...Object.entries(ECHOING_ROUTES).map(([name, extra]) => route(name, extra)),
      ...['team-keys', 'other-keys', 'limited-keys'].map((s) => keySecret(s, entries(s))),
      keySecret('sso-jwks', { 'jwks.json': jwt.jwks }),
      // Private RSA members and an HMAC key where only public keys belong: refused (JwksInvalid).
      keySecret('leaky-jwks', { 'jwks.json': JSON.stringify({ keys: [jwt.privateJwk, { kty: 'oct', kid: 'hs', alg: 'HS256', k: Buffer.from(HS_SECRET).toString('base64url') }] }) }),
      keySecret('zz-copycat-keys', { copied: KEYS['team-keys/ci'], own: COPYCAT_OWN }),
      tenant('team', { apiKeys: { secretRefs: [{ name: 'team-keys' }] } }),
      tenant('other', { apiKeys: { secretRefs: [{ name: 'other-keys' }] } }),
      tenant('limited', { apiKeys: { secretRefs: [{ name: 'limited-keys' }] } }),
      tenant('sso', { jwt: { issuers: [{ issuer: ISSUER, audiences: ['jairouter'], jwksSecretRef: { name: 'sso-jwks', key: 'jwks.json' } }] } }),
      tenant('leaky-sso', { jwt: { issuers: [{ issuer: `${ISSUER}-leaky`, jwksSecretRef: { name: 'leaky-jwks', key: 'jwks.json' } }] } }),
      // Younger than team (and after it by name, should they share a creation second).
      tenant('zz-copycat', { apiKeys: { secretRefs: [{ name: 'zz-copycat-keys' }] } }),
      {
        apiVersion: GROUP_VERSION, kind: 'RateLimitPolicy', metadata: { name: 'tight' },
        spec: { targetRefs: [{ kind: 'Tenant', name: 'limited' }], rules: [{ name: 'two-an-hour', algorithm: 'FixedWindow', limit: { requests: 2, per: '1h' }, scope: 'Cluster' }] },
      },
    ];
    for (const o of objects) await stack.apply(o);
    for (const name of [...Object.keys(ROUTES), ...Object.keys(BAD_CREDENTIALS)]) await stack.waitForConditions('ModelRoute', `r-${name}`, TRUE3, 30_000);
    for (const name of ['team', 'other', 'limited', 'sso']) await stack.waitForConditions('Tenant', name, TRUE3, 30_000);
    for (const name of ['leaky-sso', 'zz-copycat']) await stack.waitForConditions('Tenant', name, { Accepted: 'True', ResolvedRefs: 'False' }, 30_000);
    await stack.waitForConditions('RateLimitPolicy', 'tight', TRUE3, 30_000);

    // A key minted by the CLI into the Tenant's first key Secret: stdout is that key alone.
    const created = await keysCli('create', '--tenant', 'team', '--name', 'minted');
    expect(created.code, created.err).toBe(0);
    minted = created.out.trim();
    expect(created.out).toBe(`${minted}\n`);
    expect(minted).toMatch(/^sk-jr-[0-9A-Za-z]{43}$/);
    cliOutput.push({ source: 'keys create stderr', text: created.err });
    for (const p of stack.proxies) {
      await waitFor(`${p.name} accepts the minted key`, async () => (await send(p, 'minted key, waiting for it', { key: minted, body: chatBody('m-openai') })).status === 200, 30_000);
      await waitFor(`${p.name} reaches Redis`, async () => /^jairouter_ratelimit_redis_up 1$/m.test(await (await fetch(`${p.adminUrl}/metrics`)).text()), 20_000);
    }
  }, setupTimeoutMs());

  afterAll(async () => {
    await stack?.stop();
    await redis?.stop();
    await Promise.all(Object.values(fakes).map((f) => f.close()));
  }, 30_000);

  /** Every identity that may call: key id (or the token's user) and its secret. */
  const callers = (): [string, string][] => [...Object.entries(KEYS).filter(([id]) => id !== 'limited-keys/probe'), ['team-keys/minted', minted], [TOKEN_USER, jwt.token]];

  it('every key and the token get answers from every provider route, JSON and streamed, through both proxies, as Bearer and as x-api-key', async () => {
    let n = 0;
    for (const [id, key] of callers()) {
      for (const name of Object.keys(ROUTES)) {
        for (const stream of [false, true]) {
          const header: Header = (n >> 1) % 2 === 0 ? 'bearer' : 'x-api-key';
          const a = await send(proxy(n++), `${id} m-${name} ${stream ? 'stream' : 'json'} ${header}`, { key, header, body: chatBody(`m-${name}`, stream) });
          expect(a.status, `${id} -> m-${name} (${stream ? 'stream' : 'json'}, ${header}): ${a.body.slice(0, 300)}`).toBe(200);
          // Not [DONE]: the DashScope and Hunyuan native translations end without it.
          if (stream) expect(a.body).toContain('"finish_reason":"stop"');
        }
      }
      const models = await send(proxy(n++), `${id} /v1/models`, { key, path: '/v1/models' });
      expect(models.status).toBe(200);
      expect(models.body).toContain('m-openai');
    }
    // The Anthropic ingress, with the key as Anthropic clients send it.
    for (const [i, stream] of [false, true].entries()) {
      const a = await send(proxy(i), `team-keys/ci /v1/messages ${stream}`, {
        path: '/v1/messages', key: KEYS['team-keys/ci'], header: 'x-api-key',
        body: { model: 'm-anthropic', max_tokens: 64, messages: [{ role: 'user', content: 'ping' }], ...(stream && { stream: true }) },
      });
      expect(a.status, a.body.slice(0, 300)).toBe(200);
    }
    // The provider fakes saw each credential (so the secrets were in play): Bearer, x-api-key,
    // api-key, x-goog-api-key, a SigV4 or TC3 signature naming the access key.
    const expectedInHeaders: Record<string, string> = {
      ...Object.fromEntries(Object.keys(ROUTES).map((name) => [name, fakes[name]!.credential])),
      bedrock: `Credential=${BEDROCK_TEST_CREDENTIALS.accessKeyId}/`,
      hunyuan: `Credential=${HUNYUAN_TEST_KEY.secretId}/`,
    };
    for (const [name, piece] of Object.entries(expectedInHeaders)) {
      expect(fakes[name]!.requests.some((r) => JSON.stringify(r.headers).includes(piece)), `${name} fake saw ${piece}`).toBe(true);
    }
  }, 120_000);

  it('near-misses of every key and of the token, in either header, get 401; ten failures from one address lock it out, a right key included', async () => {
    const keys: [string, string][] = [...callers().filter(([id]) => id !== TOKEN_USER), ['limited-keys/probe', KEYS['limited-keys/probe']]];
    let addr = 10;
    for (const [id, key] of keys) {
      const from = `127.0.0.${addr++}`;
      const variants: [string, string][] = [['last char changed', lastCharChanged(key)], ['with a suffix', `${key}Zz9`], ['with a prefix', `x${key}`], ['truncated', key.slice(0, -2)]];
      for (const [i, [how, wrong]] of variants.entries()) {
        nearMisses.push({ label: `near-miss of ${id} (${how})`, value: wrong });
        for (const header of ['bearer', 'x-api-key'] as const) {
          const a = await send(proxy(i), `near-miss of ${id} (${how}) ${header}`, { key: wrong, header, from, body: chatBody('m-openai') });
          expect([a.status, errorCode(a.body)], `${id} ${how} ${header}`).toEqual([401, 'invalid_api_key']);
        }
      }
    }
    const [head, payload, signature] = jwt.token.split('.') as [string, string, string];
    // Not the last character of the signature: its low bits are padding, so changing it may leave the signature as it was.
    const tampered: [string, string][] = [['signature changed', `${head}.${payload}.${lastCharChanged(signature, 100)}`], ['payload changed', `${head}.${lastCharChanged(payload, 20)}.${signature}`]];
    for (const [i, [how, wrong]] of tampered.entries()) {
      nearMisses.push({ label: `near-miss of the token (${how})`, value: wrong });
      for (const header of ['bearer', 'x-api-key'] as const) {
        const a = await send(proxy(i), `token ${how} ${header}`, { key: wrong, header, from: '127.0.0.40', body: chatBody('m-openai') });
        expect([a.status, errorCode(a.body)], `token ${how} ${header}`).toEqual([401, 'invalid_token']);
      }
    }
    const ci = KEYS['team-keys/ci'];
    for (let i = 0; i < 10; i++) await send(proxy(0), `guess ${i}`, { key: lastCharChanged(ci), from: '127.0.0.41', body: chatBody('m-openai') });
    const locked = await send(proxy(0), 'a right key from a locked-out address', { key: ci, from: '127.0.0.41', body: chatBody('m-openai') });
    expect([locked.status, errorCode(locked.body)]).toEqual([429, 'too_many_authentication_failures']);
  }, 60_000);

  it('backends whose provider refuses the gateway\'s credential give 502 upstream_auth_failed, one repeating it gets it back redacted; a credential not of the adapter\'s form is refused before sending', async () => {
    for (const name of ['rejecting', 'bedrock-wrong', 'echoing']) {
      for (const [i, stream] of [false, true].entries()) {
        const a = await send(proxy(i), `m-${name} ${stream ? 'stream' : 'json'}`, { key: KEYS['other-keys/batch'], body: chatBody(`m-${name}`, stream) });
        expect(a.status, a.body.slice(0, 300)).toBe(502);
        expect(a.body).toContain('upstream_auth_failed');
      }
    }
    expect(fakes['rejecting']!.requests.some((r) => r.headers.authorization === `Bearer ${BAD_CREDENTIALS.rejecting}`)).toBe(true);
    // An upstream that repeats the credential it refused, in its message and a header: a 4xx is
    // relayed, a 5xx or 429 message quoted; the credential comes back <redacted> either way.
    for (const [i, [status, answered]] of [[400, 400], [404, 404], [500, 502], [429, 429]].entries()) {
      const a = await send(proxy(i), `m-echoing ECHO ${status}`, { key: KEYS['other-keys/batch'], body: chatBody('m-echoing', false, `ECHO ${status}`) });
      expect([a.status, a.body.includes('Incorrect API key provided: <redacted>')], a.body.slice(0, 300)).toEqual([answered, true]);
    }
    expect(echo.seen).toContain(BAD_CREDENTIALS.echoing);
    // ...and after a stream started: its error event repeats the credential, the client gets it redacted.
    const midStream = await send(proxy(0), 'm-echoing ECHO STREAM', { key: KEYS['other-keys/batch'], body: chatBody('m-echoing', true, 'ECHO STREAM') });
    expect.soft([midStream.status, midStream.body.includes('"content":"Hel"'), midStream.body.includes('Incorrect API key provided: <redacted>')], midStream.body.slice(0, 600)).toEqual([200, true, true]);
    // Adapters that put the provider's words in their own answer: Gemini's 400 API_KEY_INVALID
    // (a 502), Hunyuan's AuthFailure with HTTP 200 (a 502; in a stream, its second event),
    // DashScope's InvalidApiKey (a 400; in a stream, an error event).
    const hunyuanEcho = JSON.parse(BAD_CREDENTIALS['echoing-hunyuan']) as { secretId: string };
    const echoes: [route: string, stream: boolean, status: number, text: string][] = [
      ['echoing-gemini', false, 502, 'API key not valid: <redacted>.'],
      ['echoing-gemini', true, 502, 'API key not valid: <redacted>.'],
      ['echoing-hunyuan', false, 502, 'The SecretId <redacted> is not found.'],
      ['echoing-hunyuan', true, 200, 'The SecretId <redacted> is not found.'],
      ['echoing-dashscope', false, 400, 'Invalid API-key provided: <redacted>'],
      ['echoing-dashscope', true, 200, 'Invalid API-key provided: <redacted>'],
    ];
    for (const [i, [route, stream, status, text]] of echoes.entries()) {
      const a = await send(proxy(i), `m-${route} ${stream ? 'stream' : 'json'}`, { key: KEYS['other-keys/batch'], body: chatBody(`m-${route}`, stream) });
      expect.soft([a.status, a.body.includes(text)], `${route} ${stream}: ${a.body.slice(0, 600)}`).toEqual([status, true]);
      if (stream && status === 200) expect.soft(a.body, route).toContain('"content":"Hel"');
    }
    for (const seen of [BAD_CREDENTIALS['echoing-gemini'], hunyuanEcho.secretId, BAD_CREDENTIALS['echoing-dashscope']]) expect(echo.seen).toContain(seen);
    const garbled = await send(proxy(0), 'm-hunyuan-garbled', { key: KEYS['other-keys/batch'], body: chatBody('m-hunyuan-garbled') });
    expect(garbled.status, garbled.body.slice(0, 300)).toBeGreaterThanOrEqual(400);
  });

  it('a key another Tenant holds already stays its owner\'s; a token signed with an HMAC secret is refused', async () => {
    const own = await send(proxy(1), 'zz-copycat own key', { key: COPYCAT_OWN, body: chatBody('m-openai') });
    expect(own.status, own.body.slice(0, 300)).toBe(200);
    const copycat = await stack.get('Tenant', 'zz-copycat');
    expect(JSON.stringify(copycat['status'])).toContain('zz-copycat-keys/copied');
    const hs = hsToken();
    nearMisses.push({ label: 'HS256 token signed with the published HMAC secret', value: hs });
    const a = await send(proxy(0), 'HS256 token', { key: hs, from: '127.0.0.42', body: chatBody('m-openai') });
    expect([a.status, errorCode(a.body)]).toEqual([401, 'invalid_token']);
  });

  it('a RateLimitPolicy of 2 an hour, counted in Redis: the third request is refused with 429', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await send(proxy(i), `limited ${i}`, { key: KEYS['limited-keys/probe'], body: chatBody('m-openai') })).status);
    expect(statuses).toEqual([200, 200, 429]);
  });

  it('keys list shows ids only; keys revoke of the minted key makes both proxies refuse it', async () => {
    const list = await keysCli('list', '--tenant', 'team');
    expect(list.code, list.err).toBe(0);
    expect(list.out).toMatch(/^ci\s+team-keys\s/m);
    expect(list.out).toMatch(/^minted\s+team-keys\s/m);
    const revoke = await keysCli('revoke', '--tenant', 'team', '--name', 'minted');
    expect(revoke.code, revoke.err).toBe(0);
    const after = await keysCli('list', '--tenant', 'team');
    expect(after.out).not.toMatch(/^minted\s/m);
    cliOutput.push(...[['list', list], ['revoke', revoke], ['list after revoke', after]].flatMap(([what, r]) => [
      { source: `keys ${what} stdout`, text: (r as Run).out }, { source: `keys ${what} stderr`, text: (r as Run).err },
    ]));
    for (const [i, p] of stack.proxies.entries()) {
      const a = await waitFor(`${p.name} refuses the revoked key`, async () => {
        const r = await send(p, 'revoked minted key', { key: minted, from: `127.0.0.${50 + i}`, body: chatBody('m-openai') });
        return r.status === 401 ? r : undefined;
      }, 30_000);
      expect(errorCode(a.body)).toBe('invalid_api_key');
    }
  }, 60_000);

  it('no log line, audit record, metric, status, Event, CLI output or answer holds a key or credential; the key ids are there', async () => {
    const started = Date.now();
    // The proxies' counts reach the statuses before they are read.
    await waitFor('Tenant team status.usage', async () => ((await stack.get('Tenant', 'team'))['status']?.usage?.requestsToday ?? 0) > 0, 45_000);
    await waitFor('RateLimitPolicy tight status', async () => ((await stack.get('RateLimitPolicy', 'tight'))['status']?.throttledToday ?? 0) >= 1, 45_000);

    const logText = (lines: LogLine[]) => lines.map(({ seenAt: _, ...l }) => JSON.stringify(l)).join('\n');
    const processes = [...stack.operators, ...stack.proxies];
    const logs: Text[] = processes.map((p) => ({ source: `${p.label} log`, text: logText(p.lines) }));
    const auditFiles = [...stack.operators.map((o) => `audit-${o.label.split(' ')[1]}.jsonl`), ...stack.proxies.map((p) => `audit-${p.name}.jsonl`)];
    const audits: Text[] = auditFiles.map((f) => ({ source: f, text: existsSync(join(stack.dir, f)) ? readFileSync(join(stack.dir, f), 'utf8') : '' }));
    const metrics: Text[] = [];
    for (const p of processes) metrics.push({ source: `${p.label} /metrics`, text: await (await fetch(`${p.adminUrl}/metrics`)).text() });
    const kube = async (source: string, args: string[]): Promise<Text> => {
      const r = await stack.kubectl(args);
      expect(r.code, r.stderr).toBe(0);
      return { source, text: r.stdout };
    };
    const resources = [
      await kube('custom resources (YAML)', ['get', 'modelroutes,tenants,ratelimitpolicies', '-n', stack.ns, '-o', 'yaml']),
      await kube('custom resources (table)', ['get', 'modelroutes,tenants,ratelimitpolicies', '-n', stack.ns, '-o', 'wide']),
    ];
    const events = [await kube(`Events in ${stack.ns}`, ['get', 'events', '-n', stack.ns, '-o', 'yaml']), await kube(`Events in ${stack.sys}`, ['get', 'events', '-n', stack.sys, '-o', 'yaml'])];
    const texts = [...logs, ...audits, ...metrics, ...resources, ...events, ...cliOutput, ...client.answers];

    const secrets: Secret[] = [
      ...Object.entries(KEYS).map(([id, value]) => ({ label: `tenant key ${id}`, value })),
      { label: 'tenant key team-keys/minted (keys create)', value: minted },
      { label: `token of ${TOKEN_USER}`, value: jwt.token },
      ...jwt.privateParts,
      ...Object.keys(ROUTES).filter((n) => n !== 'bedrock' && n !== 'hunyuan').map((n) => ({ label: `${n} credential`, value: fakes[n]!.credential })),
      { label: 'bedrock credential (JSON)', value: fakes['bedrock']!.credential },
      { label: 'bedrock access key id', value: BEDROCK_TEST_CREDENTIALS.accessKeyId },
      { label: 'bedrock secret access key', value: BEDROCK_TEST_CREDENTIALS.secretAccessKey },
      { label: 'hunyuan credential (JSON)', value: fakes['hunyuan']!.credential },
      { label: 'hunyuan secretId', value: HUNYUAN_TEST_KEY.secretId },
      { label: 'hunyuan secretKey', value: HUNYUAN_TEST_KEY.secretKey },
      ...Object.entries(BAD_CREDENTIALS).map(([name, value]) => ({ label: `credential of r-${name} (refused)`, value })),
      { label: 'bedrock-wrong secret access key', value: 'wrong/bedrock/secret/LeakCheck/8c2e5a1f' },
      ...Object.entries(JSON.parse(BAD_CREDENTIALS['echoing-hunyuan']) as Record<string, string>).map(([k, value]) => ({ label: `echoing-hunyuan ${k}`, value })),
      { label: 'tenant key zz-copycat-keys/own', value: COPYCAT_OWN },
      { label: 'HMAC secret in leaky-jwks', value: HS_SECRET },
      { label: 'Redis password', value: REDIS_PASSWORD },
      { label: 'the proxies\' ServiceAccount token', value: readFileSync(stack.tokenFile, 'utf8').trim() },
      ...nearMisses,
    ];

    const lineCount = (ts: Text[]) => ts.reduce((n, t) => n + t.text.split('\n').filter(Boolean).length, 0);
    const leaks = scan(secrets, texts);
    console.info(
      `secrets scan: ${secrets.length} secrets (x3 forms) in ${texts.length} texts: ${lineCount(logs)} log lines, ${lineCount(audits)} audit records, ` +
      `${lineCount(metrics)} metric lines, ${lineCount(resources)} + ${lineCount(events)} lines of custom resources and Events, ` +
      `${lineCount(cliOutput)} CLI lines, ${client.answers.length} answers (${sent} requests); ${leaks.length} leaks; collect + scan ${Date.now() - started} ms`,
    );
    // Not vacuous: the scan finds a credential where it must be (what the fakes received)...
    const received: Text = { source: 'openai fake requests', text: JSON.stringify(fakes['openai']!.requests.map((r) => r.headers)) };
    expect(scan(secrets, [received]).map((l) => l.label)).toContain('openai credential');
    expect(leaks.length, `secrets leaked:\n${describeLeaks(leaks)}`).toBe(0);
    // ...there is a lot to scan...
    const proxyAudit = audits.filter((a) => a.source.includes('proxy')).flatMap((a) => a.text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { keyId: string; subject: string }));
    expect(lineCount(logs)).toBeGreaterThan(sent);
    expect(proxyAudit.length).toBeGreaterThanOrEqual(sent - 5);
    expect(lineCount(audits.filter((a) => a.source.includes('op-')))).toBeGreaterThan(0);
    for (const m of metrics) expect(m.text, m.source).toMatch(/^jairouter_\w+/m);
    expect(resources[0]!.text).toContain('requestsToday');
    expect(client.answers.length).toBe(sent);
    // ...and the key ids and the token's user are where the keys are not.
    const ids = [...Object.keys(KEYS), 'team-keys/minted', 'zz-copycat-keys/own'];
    const audited = new Set(proxyAudit.map((r) => r.keyId));
    for (const id of ids) expect(audited, `audit keyId ${id}`).toContain(id);
    expect(proxyAudit.some((r) => r.subject === TOKEN_USER)).toBe(true);
    const proxyLogs = logs.filter((l) => l.source.startsWith('proxy')).map((l) => l.text).join('\n');
    for (const id of ids) expect(proxyLogs, `proxy logs name ${id}`).toContain(`"${id}"`);
  }, 120_000);
});
