// RateLimitPolicy rules and Tenant quotas and budgets on the request path (scope Local, and
// Cluster without Redis, which one replica holds in full), driven with the official openai SDK:
// 429s it reads as RateLimitError, the x-ratelimit-* headers it exposes, token reservations
// settled with the real usage, fallback models, and counters kept across config changes.
import { RateLimitError } from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startFakeOpenAI, type FakeBackend } from '@jairouter/testkit/fake-openai';
import { modelRoute, tenantWithKeys, toYaml, type Doc } from './config.ts';
import { startInProcess, type InProcessProxy } from './in-process.ts';

let backend: FakeBackend;
let proxy: InProcessProxy | null = null;

beforeAll(async () => {
  backend = await startFakeOpenAI({ name: 'limited' });
});
afterEach(async () => {
  await proxy?.stop();
  proxy = null;
});
afterAll(async () => {
  await backend?.close();
});

const route = (name: string, extra: Record<string, unknown> = {}) =>
  modelRoute(name, { models: [name], backends: [{ name: 'limited', url: backend.url }], ...extra });
const policy = (name: string, targetRefs: { kind: string; name: string }[], rules: Record<string, unknown>[]): Doc => ({
  apiVersion: 'jairouter.io/v1alpha1', kind: 'RateLimitPolicy', metadata: { name, namespace: 'ai' }, spec: { targetRefs, rules },
});

async function start(...docs: (Doc | Doc[])[]): Promise<InProcessProxy> {
  proxy = await startInProcess(toYaml(...docs));
  return proxy;
}

/** One chat call with the SDK; the raw response, or the error the SDK threw. */
async function call(p: InProcessProxy, key: string, model: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}) {
  try {
    const { response } = await p.client(key).chat.completions
      .create({ model, messages: [{ role: 'user', content: 'hello there' }], ...extra }, { headers })
      .withResponse();
    return { status: response.status, headers: response.headers, error: null as RateLimitError | null };
  } catch (e) {
    if (e instanceof RateLimitError) return { status: 429, headers: e.headers, error: e };
    throw e;
  }
}

const served = () => backend.inferenceRequests().length;

describe('RateLimitPolicy', () => {
  it('TokenBucket 3 per minute on a tenant: three pass with falling x-ratelimit-remaining-requests, the fourth is a RateLimitError with Retry-After and never reaches the backend', async () => {
    const p = await start(route('chat'), tenantWithKeys('acme', { a: 'sk-limits-acme-0001' }),
      policy('fair', [{ kind: 'Tenant', name: 'acme' }], [{ name: 'per-tenant', limit: { requests: 3, per: '1m' } }]));
    const before = served();
    const remaining: (string | null)[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await call(p, 'sk-limits-acme-0001', 'chat');
      expect(r.status).toBe(200);
      remaining.push(r.headers.get('x-ratelimit-remaining-requests'));
      expect(r.headers.get('x-ratelimit-limit-requests')).toBe('3');
    }
    expect(remaining).toEqual(['2', '1', '0']);
    const refused = await call(p, 'sk-limits-acme-0001', 'chat');
    expect(refused.error).toBeInstanceOf(RateLimitError);
    expect(refused.error!.code).toBe('rate_limit_exceeded');
    expect(refused.error!.message).toContain('RateLimitPolicy ai/fair rule per-tenant');
    // One token of a 3-per-minute bucket comes back every 20 s.
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(19);
    expect(retryAfter).toBeLessThanOrEqual(20);
    expect(refused.headers.get('x-ratelimit-remaining-requests')).toBe('0');
    expect(refused.headers.get('x-ratelimit-reset-requests')).toMatch(/^\d+(\.\d+)?s$/);
    expect(served() - before).toBe(3);
    const line = p.logs.findLast((l) => l.msg === 'request' && l.status === 429)!;
    expect(line.detail).toBe('limited by RateLimitPolicy ai/fair rule per-tenant');
    expect(await (await fetch(`${p.adminUrl}/metrics`)).text()).toContain('jairouter_rate_limited_total{limit="ai/fair/per-tenant"} 1');
  });

  it('key [apiKey] counts each key on its own; key [tenant] counts them together', async () => {
    const p = await start(route('chat'), tenantWithKeys('acme', { a: 'sk-limits-key-a-0001', b: 'sk-limits-key-b-0002' }),
      policy('per-key', [{ kind: 'Tenant', name: 'acme' }], [{ name: 'each-key', key: ['apiKey'], limit: { requests: 2, per: '1m' } }]),
      policy('per-tenant', [{ kind: 'Tenant', name: 'acme' }], [{ name: 'all-keys', limit: { requests: 3, per: '1m' } }]));
    const statuses: number[] = [];
    for (const k of ['a', 'a', 'a', 'b', 'b']) statuses.push((await call(p, `sk-limits-key-${k}-000${k === 'a' ? 1 : 2}`, 'chat')).status);
    // a: 2 pass, the third is refused by each-key (and not counted by all-keys); b: one passes, the next is the tenant's fourth.
    expect(statuses).toEqual([200, 200, 429, 200, 429]);
  });

  it('key [header:x-team] gives each value of the header its own counter', async () => {
    const p = await start(route('chat'), tenantWithKeys('acme', { a: 'sk-limits-team-0001' }),
      policy('teams', [{ kind: 'ModelRoute', name: 'chat' }], [{ name: 'per-team', key: ['header:x-team'], algorithm: 'FixedWindow', limit: { requests: 1, per: '1h' } }]));
    const k = 'sk-limits-team-0001';
    expect((await call(p, k, 'chat', {}, { 'x-team': 'red' })).status).toBe(200);
    expect((await call(p, k, 'chat', {}, { 'x-team': 'blue' })).status).toBe(200);
    expect((await call(p, k, 'chat', {}, { 'x-team': 'red' })).status).toBe(429);
  });

  it('a rule that targets both the route and the tenant counts a request once', async () => {
    const p = await start(route('chat'), tenantWithKeys('acme', { a: 'sk-limits-both-0001' }),
      policy('both', [{ kind: 'ModelRoute', name: 'chat' }, { kind: 'Tenant', name: 'acme' }], [{ name: 'r', limit: { requests: 2, per: '1m' } }]));
    expect((await call(p, 'sk-limits-both-0001', 'chat')).headers.get('x-ratelimit-remaining-requests')).toBe('1');
  });

  it('a route limited by our own limiter falls back to its fallback.models route', async () => {
    const p = await start(route('premium', { fallback: { models: ['standard'] } }), route('standard'),
      tenantWithKeys('acme', { a: 'sk-limits-fallback-0001' }),
      policy('premium-cap', [{ kind: 'ModelRoute', name: 'premium' }], [{ name: 'cap', limit: { requests: 1, per: '1h' } }]));
    const k = 'sk-limits-fallback-0001';
    const first = await call(p, k, 'premium');
    const second = await call(p, k, 'premium');
    expect([first.status, second.status]).toEqual([200, 200]);
    expect(first.headers.get('x-jairouter-route')).toBe('ai/premium');
    expect(second.headers.get('x-jairouter-route')).toBe('ai/standard');
  });

  it('counters survive a config change that leaves the rule as it was', async () => {
    const docs = [route('chat'), tenantWithKeys('acme', { a: 'sk-limits-swap-0001' }),
      policy('fair', [{ kind: 'Tenant', name: 'acme' }], [{ name: 'r', limit: { requests: 2, per: '1h' } }])];
    const p = await start(...docs);
    for (let i = 0; i < 2; i++) expect((await call(p, 'sk-limits-swap-0001', 'chat')).status).toBe(200);
    p.apply(toYaml(...docs, route('another')));
    expect((await call(p, 'sk-limits-swap-0001', 'chat')).status).toBe(429);
    // A changed rule starts over.
    p.apply(toYaml(route('chat'), tenantWithKeys('acme', { a: 'sk-limits-swap-0001' }),
      policy('fair', [{ kind: 'Tenant', name: 'acme' }], [{ name: 'r', limit: { requests: 3, per: '1h' } }])));
    expect((await call(p, 'sk-limits-swap-0001', 'chat')).status).toBe(200);
  });

  it('LeakyBucket queues up to burst requests behind the one being admitted and refuses the next', async () => {
    const p = await start(route('chat'), tenantWithKeys('acme', { a: 'sk-limits-leaky-0001' }),
      policy('smooth', [{ kind: 'Tenant', name: 'acme' }], [{ name: 'drip', algorithm: 'LeakyBucket', burst: 1, limit: { requests: 20, per: '1s' } }]));
    const results = await Promise.all([0, 1, 2].map(() => call(p, 'sk-limits-leaky-0001', 'chat')));
    expect(results.map((r) => r.status).sort()).toEqual([200, 200, 429]);
  });

  it('the Anthropic ingress gets its 429 in Anthropic\'s error format', async () => {
    const p = await start(route('claude'), tenantWithKeys('acme', { a: 'sk-limits-anthropic-0001' }),
      policy('cap', [{ kind: 'Tenant', name: 'acme' }], [{ name: 'r', limit: { requests: 1, per: '1h' } }]));
    const send = () => fetch(`${p.baseUrl}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': 'sk-limits-anthropic-0001', 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'claude', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect((await send()).status).toBe(200);
    const refused = await send();
    expect(refused.status).toBe(429);
    expect(await refused.json()).toMatchObject({ type: 'error', error: { type: 'rate_limit_error' } });
  });
});

describe('token limits reserve, then settle with the real usage', () => {
  const tokenPolicy = (tokens: number) => policy('tokens', [{ kind: 'Tenant', name: 'acme' }], [{ name: 'tpm', limit: { tokens, per: '1h' } }]);

  it('a request reserves its prompt estimate plus max_tokens; what it did not use comes back', async () => {
    const p = await start(route('chat'), tenantWithKeys('acme', { a: 'sk-limits-tokens-0001' }), tokenPolicy(1000));
    const k = 'sk-limits-tokens-0001';
    // Reserves ~3 + 600: admitted. The fake answers with a few tokens, so ~990 are left after.
    const first = await call(p, k, 'chat', { max_tokens: 600 });
    expect(first.status).toBe(200);
    expect(Number(first.headers.get('x-ratelimit-remaining-tokens'))).toBeLessThan(400);
    // Had the reservation stood, this one (another 600) would not fit.
    const second = await call(p, k, 'chat', { max_tokens: 600 });
    expect(second.status).toBe(200);
    expect(Number(second.headers.get('x-ratelimit-remaining-tokens'))).toBeGreaterThan(300);
  });

  it('a request that names no max_tokens reserves --default-max-tokens (1024), more than a 1000-token limit holds', async () => {
    const p = await start(route('chat'), tenantWithKeys('acme', { a: 'sk-limits-default-0001' }), tokenPolicy(1000));
    const r = await call(p, 'sk-limits-default-0001', 'chat');
    expect(r.status).toBe(429);
    expect(r.error!.code).toBe('tokens_rate_limit_exceeded');
    expect(r.error!.message).toContain('max_tokens');
  });

  it('a tenant quota tokensPerMinute limits its tokens; requestsPerMinute its requests', async () => {
    const p = await start(route('chat'), tenantWithKeys('acme', { a: 'sk-limits-quota-0001' }, { quotas: { requestsPerMinute: 2, tokensPerMinute: 100000 } }));
    const k = 'sk-limits-quota-0001';
    const ok = await call(p, k, 'chat', { max_tokens: 10 });
    expect(ok.headers.get('x-ratelimit-limit-requests')).toBe('2');
    expect(ok.headers.get('x-ratelimit-limit-tokens')).toBe('100000');
    expect((await call(p, k, 'chat', { max_tokens: 10 })).status).toBe(200);
    const refused = await call(p, k, 'chat', { max_tokens: 10 });
    expect(refused.status).toBe(429);
    expect(refused.error!.message).toContain('Tenant ai/acme quota requestsPerMinute');
  });
});

describe('budgets', () => {
  it('a tenant is charged each request\'s cost at the serving backend\'s prices and gets 429 insufficient_quota once the budget is spent', async () => {
    // $1,000,000 per million tokens: a token costs $1; the budget is $60 a day.
    const pricey = modelRoute('pricey', { models: ['pricey'], backends: [{ name: 'limited', url: backend.url, pricing: { inputPerMillion: 1_000_000, outputPerMillion: 1_000_000 } }] });
    const p = await start(pricey, tenantWithKeys('acme', { a: 'sk-limits-budget-0001' }, { quotas: { budget: { limit: 60, period: 'day' } } }));
    const k = 'sk-limits-budget-0001';
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) statuses.push((await call(p, k, 'pricey', { max_tokens: 30 })).status);
    // Each request reserves ~$33 (prompt + max_tokens) but costs its real usage (a dozen tokens or
    // so): had reservations stood, only one would fit in $60; settled, a few pass, then none.
    const passed = statuses.indexOf(429);
    expect(passed).toBeGreaterThanOrEqual(2);
    expect(statuses.slice(passed).every((s) => s === 429)).toBe(true);
    const refused = await call(p, k, 'pricey', { max_tokens: 30 });
    expect(refused.error!.code).toBe('budget_exceeded');
    // Renews at the next UTC midnight.
    const retryAfter = Number(refused.headers.get('retry-after'));
    const midnight = Math.ceil((Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate() + 1) - Date.now()) / 1000);
    expect(Math.abs(retryAfter - midnight)).toBeLessThanOrEqual(2);
  });
});
