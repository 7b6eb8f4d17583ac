// Spec fields that no other process-level test showed at work, each through the proxy
// binary against fake backends; and the fields compile() refuses, seen from a client.
// crds/src/api/field-coverage.test.ts names these tests as the proof that a field is enforced.
import { createServer, type Server, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { OPENAI_COMPATIBLE_OPTIONS } from '@jairouter/crds';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chatReply, startFakeOpenAI, type FakeBackend, type FakeMode } from '@jairouter/testkit/fake-openai';
import { FAST_RETRY, PROVIDER_KEY, PROVIDER_REF, modelRoute, providerSecret, tenantWithKeys, toYaml, type BackendSpec, type Doc } from './config.ts';
import { startProxy, type LogLine, type ProxyHandle } from './harness.ts';

const KEY = 'sk-spec-fields-main-0001';
const LIMITED_KEY = 'sk-spec-fields-limited-0002';
const PAUSED_KEY = 'sk-spec-fields-paused-0003';
const user = (content: string) => [{ role: 'user' as const, content }];

let proxy: ProxyHandle;
const fakes: FakeBackend[] = [];
let silent: Server;
const silentSockets = new Set<Socket>();
let silentConnections = 0;

async function fake(name: string, mode: FakeMode = 'ok', opts: Parameters<FakeBackend['setMode']>[1] = {}): Promise<FakeBackend> {
  const f = await startFakeOpenAI({ name });
  f.setMode(mode, opts);
  fakes.push(f);
  return f;
}

/** A backend with prices; BackendSpec (shared test config) has no pricing field. */
function priced(name: string, url: string, inputPerMillion: number, outputPerMillion: number): BackendSpec {
  return Object.assign({ name, url }, { pricing: { inputPerMillion, outputPerMillion } });
}

let w3: FakeBackend, w1: FakeBackend, h1: FakeBackend, h2: FakeBackend, priceA: FakeBackend, priceB: FakeBackend;
let failing: FakeBackend, dead: FakeBackend, backup: FakeBackend, hanging: FakeBackend, busy: FakeBackend, spare: FakeBackend;
let probed: FakeBackend, optioned: FakeBackend;

beforeAll(async () => {
  [w3, w1, h1, h2, priceA, priceB, backup, spare, optioned] = await Promise.all([
    fake('w3'), fake('w1'), fake('h1'), fake('h2'), fake('price-a'), fake('price-b'), fake('backup'), fake('spare'), fake('optioned'),
  ]);
  failing = await fake('failing', 'error500');
  dead = await fake('dead');
  await dead.kill();
  hanging = await fake('hanging', 'hang');
  // A non-streaming reply from slowStream comes after 3 x chunkDelayMs.
  busy = await fake('busy', 'slowStream', { chunkDelayMs: 400 });
  probed = await fake('probed');
  // Accepts TCP and never answers: a TLS handshake to it never completes.
  silent = createServer((s) => {
    silentConnections++;
    silentSockets.add(s);
    s.on('close', () => silentSockets.delete(s));
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const silentPort = (silent.address() as { port: number }).port;

  const docs: (Doc | Doc[])[] = [
    providerSecret(),
    modelRoute('sf-weighted', {
      models: ['sf-weighted'],
      backends: [{ name: 'w3', url: w3.url, weight: 3 }, { name: 'w1', url: w1.url, weight: 1 }],
      loadBalancer: { strategy: 'WeightedRoundRobin' },
    }),
    modelRoute('sf-hash', {
      models: ['sf-hash'],
      backends: [{ name: 'h1', url: h1.url }, { name: 'h2', url: h2.url }],
      loadBalancer: { strategy: 'ConsistentHash', hashKey: 'header:x-session-id' },
    }),
    // Ranked by input + output price: pricey-output (11) loses to balanced (4) ...
    modelRoute('sf-cost-output', {
      models: ['sf-cost-output'],
      backends: [priced('pricey-output', priceA.url, 1, 10), priced('balanced', priceB.url, 2, 2)],
      loadBalancer: { strategy: 'Cost' },
    }),
    // ... and pricey-input (6) loses to cheap (4): neither price alone gives both answers.
    modelRoute('sf-cost-input', {
      models: ['sf-cost-input'],
      backends: [priced('pricey-input', priceA.url, 5, 1), priced('cheap', priceB.url, 1, 3)],
      loadBalancer: { strategy: 'Cost' },
    }),
    modelRoute('sf-retry-on', {
      models: ['sf-retry-on'],
      backends: [{ name: 'failing', url: failing.url }],
      retry: { attempts: 2, retryOn: ['connect-failure'], ...FAST_RETRY },
    }),
    modelRoute('sf-fallback-primary', {
      models: ['sf-fallback-primary'],
      backends: [{ name: 'dead', url: dead.url }],
      retry: { attempts: 0 },
      fallback: { models: ['sf-fallback-backup'] },
    }),
    modelRoute('sf-fallback-backup', { models: ['sf-fallback-backup'], backends: [{ name: 'backup', url: backup.url }] }),
    modelRoute('sf-connect', {
      models: ['sf-connect'],
      backends: [{ name: 'silent', url: `https://127.0.0.1:${silentPort}/v1` }],
      retry: { attempts: 0 },
      timeouts: { connect: '300ms', firstByte: '30s', request: '60s' },
    }),
    modelRoute('sf-request', {
      models: ['sf-request'],
      backends: [{ name: 'hanging', url: hanging.url }],
      retry: { attempts: 0 },
      timeouts: { firstByte: '30s', request: '400ms' },
    }),
    modelRoute('sf-max-concurrency', {
      models: ['sf-max-concurrency'],
      backends: [{ name: 'busy', url: busy.url, priority: 0, maxConcurrency: 1 }, { name: 'spare', url: spare.url, priority: 1 }],
    }),
    modelRoute('sf-probe', {
      models: ['sf-probe'],
      backends: [{ name: 'probed', url: probed.url }],
      healthCheck: { active: { path: '/models', interval: '100ms', timeout: '300ms', unhealthyThreshold: 2, healthyThreshold: 1 } },
    }),
    modelRoute('sf-options', {
      models: ['sf-options'],
      backends: [{
        name: 'optioned', url: optioned.url, credentialsRef: PROVIDER_REF,
        options: { authHeader: 'api-key', authPrefix: 'Key ', organization: 'org-acme', project: 'proj-chat', 'header.X-Team': 'ml', 'header.X-Priority': 3 },
      }],
    }),
    tenantWithKeys('main', { k: KEY }),
    tenantWithKeys('limited', { k: LIMITED_KEY }, { access: { models: ['sf-weighted'] } }),
    tenantWithKeys('paused', { k: PAUSED_KEY }, { suspended: true }),
    // Refused by compile(): not served at all.
    modelRoute('sf-path-prefix', { models: ['sf-path-prefix'], backends: [{ name: 'backup', url: backup.url, options: { pathPrefix: '/v2' } }] }),
  ];
  proxy = await startProxy({ configs: toYaml(...docs) });
});

afterAll(async () => {
  await proxy?.stop();
  for (const s of silentSockets) s.destroy();
  await new Promise((resolve) => silent?.close(resolve));
  await Promise.all(fakes.map((f) => f.close()));
});

async function chat(model: string, key = KEY, headers: Record<string, string> = {}) {
  const res = await fetch(`${proxy.baseUrl}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ model, messages: user(`to ${model}`) }),
  });
  const text = await res.text();
  return { status: res.status, backend: res.headers.get('x-jairouter-backend'), text };
}

const tally = (names: (string | null)[]) => names.reduce<Record<string, number>>((acc, n) => ({ ...acc, [String(n)]: (acc[String(n)] ?? 0) + 1 }), {});

describe('ModelRoute fields at work', () => {
  it('WeightedRoundRobin gives each backend its weight\'s share (weight 3 and 1: 6 and 2 of 8)', async () => {
    const backends: (string | null)[] = [];
    for (let i = 0; i < 8; i++) backends.push((await chat('sf-weighted')).backend);
    expect(tally(backends)).toEqual({ w3: 6, w1: 2 });
  });

  it('ConsistentHash keeps each value of the hashKey header on one backend and spreads the values', async () => {
    const chosen = new Map<string, string | null>();
    for (let s = 0; s < 16; s++) {
      const session = `session-${s}`;
      const first = (await chat('sf-hash', KEY, { 'x-session-id': session })).backend;
      for (let i = 0; i < 2; i++) expect((await chat('sf-hash', KEY, { 'x-session-id': session })).backend).toBe(first);
      chosen.set(session, first);
    }
    expect(new Set(chosen.values())).toEqual(new Set(['h1', 'h2']));
  });

  it('Cost sends every request to the backend with the lowest input plus output price', async () => {
    for (let i = 0; i < 4; i++) {
      expect((await chat('sf-cost-output')).backend).toBe('balanced');
      expect((await chat('sf-cost-input')).backend).toBe('cheap');
    }
  });

  it('a failure not listed in retry.retryOn is not retried', async () => {
    const before = failing.inferenceRequests().length;
    const r = await chat('sf-retry-on');
    expect(r.status).toBe(502);
    // attempts: 2 would have made it 3 requests had 5xx been listed.
    expect(failing.inferenceRequests().length - before).toBe(1);
  });

  it('fallback.models: when every backend of the route failed, the route serving the fallback model answers', async () => {
    for (let i = 0; i < 3; i++) {
      const r = await chat('sf-fallback-primary');
      expect(r.status).toBe(200);
      expect(r.backend).toBe('backup');
      expect(JSON.parse(r.text).choices[0].message.content).toBe(chatReply('backup', user('to sf-fallback-primary')));
    }
  });

  it('timeouts.connect gives up on a backend whose TLS handshake never completes', async () => {
    const connectionsBefore = silentConnections;
    const t0 = Date.now();
    const r = await chat('sf-connect');
    const elapsed = Date.now() - t0;
    expect([502, 504]).toContain(r.status);
    // 300ms, not the 5 s default nor the 30 s firstByte; generous for a loaded machine.
    expect(elapsed).toBeGreaterThanOrEqual(250);
    expect(elapsed).toBeLessThan(2500);
    expect(silentConnections).toBeGreaterThan(connectionsBefore);
  });

  it('timeouts.request ends the exchange when it runs out, before firstByte would', async () => {
    const t0 = Date.now();
    const r = await chat('sf-request');
    const elapsed = Date.now() - t0;
    expect(r.status).toBe(504);
    expect(elapsed).toBeGreaterThanOrEqual(350);
    expect(elapsed).toBeLessThan(2500);
  });

  it('maxConcurrency: a backend at its cap is skipped while its request runs, and used again after', async () => {
    const first = chat('sf-max-concurrency');
    await busy.waitForRequest(() => true, 5000);
    for (let i = 0; i < 3; i++) expect((await chat('sf-max-concurrency')).backend).toBe('spare');
    expect((await first).backend).toBe('busy');
    expect((await chat('sf-max-concurrency')).backend).toBe('busy');
  });

  it('healthCheck.active probes every interval and fails a probe that outlasts its timeout', async () => {
    const probes = () => probed.requests.filter((r) => r.method === 'GET' && r.path === '/v1/models').length;
    await probed.waitForRequest((r) => r.path === '/v1/models', 5000);
    const before = probes();
    await sleep(1000);
    // Every 100ms: about 10 in a second; the 10 s default would send none.
    expect(probes() - before).toBeGreaterThanOrEqual(4);
    const t0 = Date.now();
    probed.setMode('hang', { affectHealth: true });
    await proxy.waitForLog((l: LogLine) => l.msg === 'active health changed' && l.backend === 'probed' && l.up === false, 5000);
    // Two probes timing out after 300ms each; the 2 s default would take over 2 s.
    expect(Date.now() - t0).toBeLessThan(1800);
    probed.setMode('ok');
  });

  it('sends every option the adapter reads upstream: authHeader, authPrefix, organization, project, header.<Name>', async () => {
    // The keys compile() lets through: when one is added there, it must be shown here.
    expect(OPENAI_COMPATIBLE_OPTIONS.map((o) => o.key)).toEqual(['authHeader', 'authPrefix', 'organization', 'project', 'header.<Name>']);
    expect((await chat('sf-options')).status).toBe(200);
    const h = optioned.inferenceRequests().at(-1)!.headers;
    expect(h['api-key']).toBe(`Key ${PROVIDER_KEY}`);
    expect(h['authorization']).toBeUndefined();
    expect(h['openai-organization']).toBe('org-acme');
    expect(h['openai-project']).toBe('proj-chat');
    expect(h['x-team']).toBe('ml');
    expect(h['x-priority']).toBe('3');
  });
});

describe('Tenant fields at work', () => {
  it('a key reaches only the models in access.models', async () => {
    expect((await chat('sf-weighted', LIMITED_KEY)).status).toBe(200);
    const before = h1.inferenceRequests().length + h2.inferenceRequests().length;
    const denied = await chat('sf-hash', LIMITED_KEY);
    // 404 as for a model that does not exist, so that other tenants' model names do not show.
    expect(denied.status).toBe(404);
    expect(JSON.parse(denied.text).error.code).toBe('model_not_found');
    expect(h1.inferenceRequests().length + h2.inferenceRequests().length).toBe(before);
  });

  it('a suspended tenant gets 403 tenant_suspended and reaches no backend', async () => {
    const before = w3.inferenceRequests().length + w1.inferenceRequests().length;
    const r = await chat('sf-weighted', PAUSED_KEY);
    expect(r.status).toBe(403);
    expect(JSON.parse(r.text).error.code).toBe('tenant_suspended');
    expect(w3.inferenceRequests().length + w1.inferenceRequests().length).toBe(before);
  });
});

describe('fields compile() refuses are not served with a silent hole', () => {
  const rejected = (kind: string, name: string, reason: string) =>
    proxy.waitForLog((l) => l.msg === 'object rejected' && l.kind === kind && l.name === name && l.reason === reason, 5000);

  it('a route with an option its adapter does not read is refused, not served with the option ignored', async () => {
    const line = await rejected('ModelRoute', 'sf-path-prefix', 'UnsupportedOption');
    expect(line.message).toContain('options.pathPrefix');
    expect((await chat('sf-path-prefix')).status).toBe(404);
  });
});
