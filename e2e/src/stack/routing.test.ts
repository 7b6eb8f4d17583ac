// The product end to end on the local control plane: custom resources applied with the API ->
// the operator (a process) compiles them and writes status -> two proxy processes subscribed to
// it serve them to an OpenAI SDK client, against fake OpenAI backends. Measures how long a
// change takes from the apply to being served by both proxies.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeOpenAI, type FakeBackend } from '@jairouter/testkit/fake-openai';
import { setupTimeoutMs, skipK8s, useControlPlane } from '@jairouter/testkit/control-plane/testing';
import { apiError, condition, GROUP_VERSION, Stack, waitFor, type Condition, type Obj } from './stack.ts';
import { canMakeTestHosts, makeTestHost, type TestHost } from './test-host.ts';
import { chat, chatStatus, models, percentile } from './traffic.ts';

const KEY = 'sk-e2e-team-0123456789';
const PROVIDER_KEY = 'sk-provider-alpha-42';
const TRUE3 = { Accepted: 'True', ResolvedRefs: 'True', Programmed: 'True' };

function route(name: string, spec: Record<string, unknown>): Obj {
  return { apiVersion: GROUP_VERSION, kind: 'ModelRoute', metadata: { name }, spec };
}

function secret(name: string, stringData: Record<string, string>): Obj {
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name }, type: 'Opaque', stringData };
}

function tenant(name: string, keysSecret: string, allowed: string[] = ['*']): Obj {
  return { apiVersion: GROUP_VERSION, kind: 'Tenant', metadata: { name }, spec: { apiKeys: { secretRefs: [{ name: keysSecret }] }, access: { models: allowed } } };
}

describe.skipIf(skipK8s)('the stack on the local control plane: apply -> status -> proxies serve', () => {
  const cp = useControlPlane();
  let stack: Stack;
  const fakes: FakeBackend[] = [];
  let alpha: FakeBackend;
  let host: TestHost | undefined;
  let beta: FakeBackend;

  const chatRoute = (backend: FakeBackend, models: string[], extra: Record<string, unknown> = {}) =>
    route('chat', {
      models,
      backends: [{ name: 'main', adapter: 'openai', url: backend.url, model: 'upstream-model', credentialsRef: { name: 'provider', key: 'apiKey' }, ...extra }],
    });

  /** Both proxies answer `model` with `backend`'s reply. */
  async function servedBy(model: string, backend: FakeBackend, timeoutMs = 10_000): Promise<void> {
    for (const p of stack.proxies) {
      await waitFor(`${p.name} answers ${model} from ${backend.name}`, async () => (await chat(p, KEY, model)).startsWith(`Hello from ${backend.name}:`), timeoutMs);
    }
  }

  beforeAll(async () => {
    alpha = await startFakeOpenAI({ name: 'alpha' });
    beta = await startFakeOpenAI({ name: 'beta' });
    fakes.push(alpha, beta);
    stack = new Stack(cp());
    await stack.start({ prefix: 'stack', operators: 1, proxies: 2 });
  }, setupTimeoutMs());

  afterAll(async () => {
    await stack?.stop();
    for (const f of fakes) await f.close();
    host?.close();
  }, 30_000);

  it('ModelRoute + Tenant + Secrets: Accepted, ResolvedRefs and Programmed become True, and both proxies serve them', async () => {
    await stack.apply(secret('provider', { apiKey: PROVIDER_KEY }));
    await stack.apply(secret('team-keys', { laptop: KEY }));
    await stack.apply(tenant('team', 'team-keys'));
    await stack.apply(chatRoute(alpha, ['e2e-chat']));

    const r = await stack.waitForConditions('ModelRoute', 'chat', TRUE3);
    expect(r['status'].backends).toEqual([{ name: 'main', endpoints: 1 }]);
    const t = await stack.waitForConditions('Tenant', 'team', TRUE3);
    expect(t['status'].keys).toBe(1);

    for (const p of stack.proxies) {
      expect(await chat(p, KEY, 'e2e-chat', 'hello there')).toBe('Hello from alpha: you said "hello there"');
      expect(await models(p, KEY)).toContain('e2e-chat');
      expect(await chatStatus(p, 'sk-not-a-key', 'e2e-chat')).toBe(401);
    }
    // The provider credential from the Secret reached the backend; the backend model was rewritten.
    const last = alpha.inferenceRequests().at(-1)!;
    expect(last.authorization).toBe(`Bearer ${PROVIDER_KEY}`);
    expect((last.body as { model: string }).model).toBe('upstream-model');

    // kubectl shows the printer columns.
    const get = await stack.kubectl(['get', 'modelroutes', '-n', stack.ns]);
    expect(get.code, get.stderr).toBe(0);
    expect(get.stdout).toMatch(/^NAME\s+MODELS\s+STRATEGY\s+BACKENDS\s+CAPACITY\s+PROGRAMMED\s+AGE/m);
    expect(get.stdout).toMatch(/^chat\s+.*True/m);
  }, 60_000);

  it('propagation: 50 successive changes, each from the apply to both proxies serving it', async () => {
    const samples: number[] = [];
    for (let i = 0; i < 50; i++) {
      const model = `prop-${i}`;
      const t0 = performance.now();
      await stack.apply(chatRoute(alpha, ['e2e-chat', model]));
      await Promise.all(stack.proxies.map((p) => waitFor(`${p.name} lists ${model}`, async () => (await models(p, KEY)).includes(model), 10_000, 2)));
      samples.push(performance.now() - t0);
    }
    const p50 = percentile(samples, 50);
    const p99 = percentile(samples, 99);
    console.log(`propagation p50=${p50.toFixed(0)}ms p99=${p99.toFixed(0)}ms n=${samples.length} (apply -> served by both of 2 proxies; max ${Math.max(...samples).toFixed(0)}ms)`);
    expect(samples).toHaveLength(50);
    expect(p99).toBeLessThan(5_000);
    // The last change is served for real, and the status caught up with it.
    await servedBy('prop-49', alpha);
    await stack.waitForConditions('ModelRoute', 'chat', TRUE3);
  }, 120_000);

  it('an update and a delete propagate to both proxies', async () => {
    // Update: the route moves to another backend.
    await stack.apply(chatRoute(beta, ['e2e-chat'], { credentialsRef: { name: 'provider', key: 'apiKey' } }));
    await servedBy('e2e-chat', beta);
    const r = await stack.waitForConditions('ModelRoute', 'chat', TRUE3);
    expect(r.metadata?.generation).toBeGreaterThan(50);

    // Delete: a second route and a second tenant come and go.
    await stack.apply(route('extra', { models: ['e2e-extra'], backends: [{ name: 'b', adapter: 'openai', url: alpha.url }] }));
    await stack.apply(secret('guest-keys', { one: 'sk-e2e-guest-987654321' }));
    await stack.apply(tenant('guest', 'guest-keys', ['e2e-extra']));
    await stack.waitForConditions('ModelRoute', 'extra', TRUE3);
    await stack.waitForConditions('Tenant', 'guest', TRUE3);
    for (const p of stack.proxies) {
      await waitFor(`${p.name} serves the guest`, async () => (await chatStatus(p, 'sk-e2e-guest-987654321', 'e2e-extra')) === 200);
      // A model outside the tenant's access list answers as one that does not exist (no enumeration).
      expect(await chatStatus(p, 'sk-e2e-guest-987654321', 'e2e-chat')).toBe(404);
    }

    await stack.delete('ModelRoute', 'extra');
    await stack.delete('Tenant', 'guest');
    for (const p of stack.proxies) {
      await waitFor(`${p.name} forgets e2e-extra`, async () => !(await models(p, KEY)).includes('e2e-extra'));
      expect(await chatStatus(p, KEY, 'e2e-extra')).toBe(404);
      await waitFor(`${p.name} forgets the guest`, async () => (await chatStatus(p, 'sk-e2e-guest-987654321', 'e2e-chat')) === 401);
      expect(await chat(p, KEY, 'e2e-chat')).toMatch(/^Hello from beta:/);
    }
  }, 60_000);

  it('a missing Secret: ResolvedRefs=False on that route only, the others keep being served; creating it resolves the route', async () => {
    await stack.apply(route('needs-secret', {
      models: ['e2e-secret'],
      backends: [{ name: 'b', adapter: 'openai', url: alpha.url, credentialsRef: { name: 'not-yet', key: 'apiKey' } }],
    }));
    const broken = await waitFor('needs-secret ResolvedRefs', async () => {
      const o = await stack.get('ModelRoute', 'needs-secret');
      return condition(o, 'ResolvedRefs')?.observedGeneration === o.metadata?.generation ? o : undefined;
    });
    expect(condition(broken, 'Accepted')?.status).toBe('True');
    expect(condition(broken, 'ResolvedRefs')).toMatchObject({ status: 'False', reason: 'SecretNotFound' });
    expect(condition(broken, 'ResolvedRefs')?.message).toContain('not-yet');
    expect(condition(broken, 'Programmed')?.status).toBe('False');
    // The others are untouched.
    await stack.waitForConditions('ModelRoute', 'chat', TRUE3);
    for (const p of stack.proxies) {
      expect(await chat(p, KEY, 'e2e-chat')).toMatch(/^Hello from beta:/);
      expect(await chatStatus(p, KEY, 'e2e-secret')).toBe(404);
    }

    await stack.apply(secret('not-yet', { apiKey: 'sk-late' }));
    await stack.waitForConditions('ModelRoute', 'needs-secret', TRUE3);
    await servedBy('e2e-secret', alpha);
    expect(alpha.inferenceRequests().at(-1)!.authorization).toBe('Bearer sk-late');
  }, 60_000);

  it('invalid objects are rejected by the API server (422) with the CEL rule\'s message, and change nothing', async () => {
    const invalid: [Obj, string][] = [
      [route('both-url-and-ref', { models: ['x'], backends: [{ name: 'b', adapter: 'vllm', url: 'http://a:8000/v1', serviceRef: { name: 'vllm', port: 8000 } }] }),
        'exactly one of url and serviceRef must be set'],
      [route('hash-key-round-robin', { models: ['x'], backends: [{ name: 'b', adapter: 'openai', url: alpha.url }], loadBalancer: { strategy: 'RoundRobin', hashKey: 'header:x-session' } }),
        'hashKey is only allowed with strategy ConsistentHash'],
      [{ apiVersion: GROUP_VERSION, kind: 'Tenant', metadata: { name: 'two-jwks' }, spec: { jwt: { issuers: [{ issuer: 'https://issuer.example', jwksUri: 'https://issuer.example/jwks', jwksSecretRef: { name: 'jwks', key: 'jwks.json' } }] } } },
        'exactly one of jwksUri and jwksSecretRef must be set'],
    ];
    for (const [obj, message] of invalid) {
      const body = { ...obj, metadata: { ...obj.metadata, namespace: stack.ns } };
      const err = await stack.objects.create(body).then(() => undefined, apiError);
      expect(err, `${obj.kind} ${obj.metadata?.name} was accepted`).toBeDefined();
      expect(err!.code).toBe(422);
      expect(err!.message).toContain(message);
      expect(err!.message).toContain(`${obj.kind}.jairouter.io "${obj.metadata?.name}" is invalid`);
    }
    // What a person sees with kubectl.
    const out = await stack.kubectl(['apply', '-n', stack.ns, '-f', '-'], JSON.stringify(invalid[0]![0]));
    expect(out.code).not.toBe(0);
    expect(out.stderr).toContain('exactly one of url and serviceRef must be set');
    // Nothing was stored, and the proxies still serve what they served.
    const list = await stack.objects.list(GROUP_VERSION, 'ModelRoute', stack.ns);
    expect(list.items.map((o) => o.metadata?.name).sort()).toEqual(['chat', 'needs-secret']);
    for (const p of stack.proxies) expect(await chat(p, KEY, 'e2e-chat')).toMatch(/^Hello from beta:/);
  }, 30_000);

  // Test traffic only goes to this machine's loopback or to test hosts in network namespaces
  // the run made itself; EndpointSlices may not hold loopback addresses, hence the test host.
  it.skipIf(!canMakeTestHosts())('serviceRef backends follow EndpointSlice changes (added endpoints, ready flips, removals)', async () => {
    // Two "Pods" of a Service: demo backends in a network namespace of this run, each behind
    // its own slice whose named port resolves to that backend's port, as a named targetPort does
    // for Pods with different ports.
    host = makeTestHost();
    const ip = host.address;
    const pod1 = { name: 'pod-1', port: 18101 };
    const pod2 = { name: 'pod-2', port: 18102 };
    await host.startBackend(pod1.name, pod1.port);
    await host.startBackend(pod2.name, pod2.port);
    await stack.apply({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'pool' }, spec: { ports: [{ name: 'http', port: 8000, targetPort: 'http' }] } });
    const slice = (name: string, pod: { port: number }, ready: boolean): Obj => ({
      apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
      metadata: { name, labels: { 'kubernetes.io/service-name': 'pool' } },
      addressType: 'IPv4', ports: [{ name: 'http', port: pod.port, protocol: 'TCP' }],
      endpoints: [{ addresses: [ip], conditions: { ready } }],
    });
    await stack.apply(slice('pool-1', pod1, true));
    await stack.apply(route('pooled', { models: ['e2e-pool'], backends: [{ name: 'pool', adapter: 'openai', serviceRef: { name: 'pool', port: 8000 } }] }));
    await stack.waitForConditions('ModelRoute', 'pooled', TRUE3);

    /** Waits until 8 consecutive requests through every proxy were answered by exactly `want`. */
    const trafficGoesTo = async (want: string[]) => {
      for (const p of stack.proxies) {
        await waitFor(`${p.name}: e2e-pool answered by ${want.join(' and ')}`, async () => {
          const seen = new Set<string>();
          for (let i = 0; i < 8; i++) seen.add((await chat(p, KEY, 'e2e-pool')).match(/^Hello from ([\w-]+):/)?.[1] ?? '?');
          return [...seen].sort().join() === want.join();
        }, 15_000);
      }
    };
    const endpointsInStatus = (n: number) =>
      waitFor(`status.backends endpoints=${n}`, async () => (await stack.get('ModelRoute', 'pooled'))['status']?.backends?.[0]?.endpoints === n);

    await trafficGoesTo(['pod-1']);
    await stack.apply(slice('pool-2', pod2, true)); // an endpoint added
    await endpointsInStatus(2);
    await trafficGoesTo(['pod-1', 'pod-2']);
    await stack.apply(slice('pool-1', pod1, false)); // pod-1 not ready
    await endpointsInStatus(1);
    await trafficGoesTo(['pod-2']);
    await stack.apply(slice('pool-1', pod1, true)); // ready again
    await stack.delete('EndpointSlice', 'pool-2', 'discovery.k8s.io/v1'); // pod-2 gone
    await endpointsInStatus(1);
    await trafficGoesTo(['pod-1']);
    // No ready endpoint left: the status says so.
    await stack.apply(slice('pool-1', pod1, false));
    await endpointsInStatus(0);
    const r = await stack.get('ModelRoute', 'pooled');
    console.log(`serviceRef with no ready endpoint: ${JSON.stringify((r['status'].conditions as Condition[]).map((c) => [c.type, c.status, c.reason]))}`);
    for (const p of stack.proxies) {
      await waitFor(`${p.name}: e2e-pool has no backend`, async () => {
        const code = await chatStatus(p, KEY, 'e2e-pool');
        return code !== 200 ? code : undefined;
      });
      console.log(`${p.name}: e2e-pool with no ready endpoint answers ${await chatStatus(p, KEY, 'e2e-pool')}`);
    }
    await stack.apply(slice('pool-2', pod2, true));
    await trafficGoesTo(['pod-2']);
  }, 90_000);
});
