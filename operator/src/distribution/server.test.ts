import { X509Certificate } from 'node:crypto';
import { connect } from 'node:tls';
import { withVersion, type ProxyConfig } from '@jairouter/crds';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createPublisher, MemoryCertStore, MemorySnapshotStore, type DistributionPublisher } from './index.ts';
import { call, client, FakeReviewer, subscribe, until } from './testing.ts';

function config(n: number): ProxyConfig {
  return withVersion({
    schemaVersion: 4, limits: [],
    routes: [],
    tenants: [{ id: `t/t${n}`, namespace: 't', name: `t${n}`, generation: n, apiKeys: [], jwtIssuers: [], access: { models: ['*'], roles: [] }, suspended: false }],
  });
}

let pub: DistributionPublisher;
let reviewer: FakeReviewer;
let certs: MemoryCertStore;
let snapshots: MemorySnapshotStore;
let base: string;
let agent: ReturnType<typeof client>;
let registry: Registry;

beforeEach(async () => {
  reviewer = new FakeReviewer();
  certs = new MemoryCertStore();
  snapshots = new MemorySnapshotStore();
  registry = new Registry();
  pub = await createPublisher({
    registry,
    listen: '127.0.0.1:0',
    log: pino({ level: 'silent' }),
    heartbeatMs: 100,
    tokenReviewer: reviewer,
    certStore: certs,
    snapshotStore: snapshots,
  });
  base = `https://localhost:${pub.address().port}`;
  agent = client(pub.caCert());
});

afterEach(async () => {
  await agent.close();
  await pub.close();
});

describe('snapshot server: auth and errors', () => {
  it.each([
    [{ proxy: 'p1' }, 401, 'unauthenticated'],
    [{ proxy: 'p1', token: 'nope' }, 401, 'unauthenticated'],
    [{ proxy: 'p1', token: 'other' }, 403, 'forbidden'],
    [{ proxy: 'p1', token: 'pod-p2' }, 403, 'forbidden'],
    [{ token: 'good' }, 400, 'bad_request'],
    [{ proxy: 'Not A Pod', token: 'good' }, 400, 'bad_request'],
  ])('%j -> %i %s', async (opts, status, error) => {
    const r = await call(agent, base, '/v1/snapshots', opts);
    expect(r.status).toBe(status);
    expect(r.json).toMatchObject({ error });
    expect((r.json as { message: string }).message).not.toContain('nope');
  });

  it('404 and 405 with JSON bodies', async () => {
    expect(await call(agent, base, '/v2/x', { token: 'good', proxy: 'p' })).toMatchObject({ status: 404, json: { error: 'not_found' } });
    expect(await call(agent, base, '/v1/served', { token: 'good', proxy: 'p' })).toMatchObject({ status: 405, json: { error: 'method_not_allowed' } });
  });

  it('caches a positive TokenReview, not a negative one', async () => {
    for (let i = 0; i < 3; i++) await call(agent, base, '/v1/served', { method: 'POST', token: 'good-1', proxy: 'p', body: { proxy: 'p', version: 'v' } });
    expect(reviewer.calls).toBe(1);
    for (let i = 0; i < 2; i++) await call(agent, base, '/v1/served', { method: 'POST', token: 'bad', proxy: 'p', body: { proxy: 'p', version: 'v' } });
    expect(reviewer.calls).toBe(3);
  });

  it('a bound token is accepted for its own pod', async () => {
    const s = await subscribe(agent, base, 'p2', 'pod-p2');
    expect(s.status).toBe(200);
    s.close();
  });
});

describe('metrics: config propagation', () => {
  const count = async () => {
    const m = (await registry.getSingleMetric('jairouter_operator_config_propagation_seconds')!.get()).values;
    return m.find((v) => (v as { metricName?: string }).metricName === 'jairouter_operator_config_propagation_seconds_count')?.value ?? 0;
  };
  const served = (proxy: string, version: string) => call(agent, base, '/v1/served', { method: 'POST', token: 'good', proxy, body: { proxy, version } });

  it('one observation per proxy and version, from the version written on its stream to the proxy reporting it served', async () => {
    await pub.publish(config(1), { leader: false });
    const a = await subscribe(agent, base, 'proxy-a', 'good');
    await a.next((l) => l.type === 'snapshot');
    expect(await count()).toBe(0);
    expect((await served('proxy-a', config(1).version)).status).toBe(204);
    expect(await count()).toBe(1);
    // Reporting the same version again, or a version never sent, observes nothing.
    await served('proxy-a', config(1).version);
    await served('proxy-a', 'sha256:from-the-snapshot-file');
    expect(await count()).toBe(1);
    // A proxy that subscribes already serving the current version was sent nothing: nothing to observe.
    const b = await subscribe(agent, base, 'proxy-b', 'good', config(1).version);
    await until(() => pub.servedVersions().has('proxy-b'));
    expect(await count()).toBe(1);
    // A new version: each proxy's report is one observation; a version superseded before it was reported is none.
    await pub.publish(config(2), { leader: false });
    await pub.publish(config(3), { leader: false });
    await a.next((l) => l.type === 'snapshot' && (l.config as ProxyConfig).version === config(3).version);
    await b.next((l) => l.type === 'snapshot' && (l.config as ProxyConfig).version === config(3).version);
    await served('proxy-a', config(2).version);
    expect(await count()).toBe(1);
    await served('proxy-a', config(3).version);
    await served('proxy-b', config(3).version);
    expect(await count()).toBe(3);
    const text = await registry.metrics();
    expect(text).toContain('# TYPE jairouter_operator_config_propagation_seconds histogram');
    expect(text).toMatch(/jairouter_operator_config_propagation_seconds_bucket\{le="\+Inf"\} 3/);
    a.close();
    b.close();
  });

  it('exposes when the CA and the serving certificate in use expire (both far ahead for a fresh bundle)', async () => {
    const text = await registry.metrics();
    const at = (which: string) => Number(new RegExp(`^jairouter_operator_certificate_expiry_timestamp_seconds\\{certificate="${which}"\\} (\\S+)$`, 'm').exec(text)?.[1]);
    expect(at('ca')).toBeGreaterThan(Date.now() / 1000 + 400 * 86_400);
    expect(at('serving')).toBeGreaterThan(Date.now() / 1000 + 30 * 86_400);
  });

  it('a proxy reopening its stream with have=<the version sent> counts as its report', async () => {
    await pub.publish(config(1), { leader: false });
    const a = await subscribe(agent, base, 'proxy-a', 'good');
    await a.next((l) => l.type === 'snapshot');
    a.close();
    await until(() => pub.openStreams === 0);
    const again = await subscribe(agent, base, 'proxy-a', 'good', config(1).version);
    await until(() => pub.servedVersions().get('proxy-a') === config(1).version);
    expect(await count()).toBe(1);
    again.close();
  });
});

describe('snapshot server: the stream', () => {
  it('sends the current snapshot at once when the proxy has another version, then every new one', async () => {
    await pub.publish(config(1), { leader: false });
    const s = await subscribe(agent, base, 'p1', 'good', 'sha256:old');
    expect(s.status).toBe(200);
    expect(s.headers['content-type']).toBe('application/x-ndjson');
    const first = await s.next((l) => l.type === 'snapshot');
    expect(first.config).toEqual(config(1));
    await pub.publish(config(2), { leader: false });
    const second = await s.next((l) => l.type === 'snapshot' && (l.config as ProxyConfig).version === config(2).version);
    expect(second.config).toEqual(config(2));
    s.close();
  });

  it('sends nothing but heartbeats when the proxy has the current version', async () => {
    await pub.publish(config(1), { leader: false });
    const s = await subscribe(agent, base, 'p1', 'good', config(1).version);
    await s.next((l) => l.type === 'heartbeat');
    await s.next((l) => l.type === 'heartbeat' && s.lines.filter((x) => x.type === 'heartbeat').length >= 2);
    expect(s.lines.some((l) => l.type === 'snapshot')).toBe(false);
    s.close();
  });

  it('a stream opened before the first compile gets the first snapshot when it is published', async () => {
    const s = await subscribe(agent, base, 'p1', 'good');
    await s.next((l) => l.type === 'heartbeat');
    await pub.publish(config(3), { leader: false });
    expect((await s.next((l) => l.type === 'snapshot')).config).toEqual(config(3));
    s.close();
  });

  it('records served versions while the stream is open and drops the proxy when it closes', async () => {
    let changes = 0;
    pub.onServedChange(() => changes++);
    await pub.publish(config(1), { leader: false });
    const a = await subscribe(agent, base, 'proxy-a', 'good');
    // A report from a proxy without a stream on this replica is refused with 409 and not counted.
    const orphan = await call(agent, base, '/v1/served', { method: 'POST', token: 'good', proxy: 'proxy-b', body: { proxy: 'proxy-b', version: 'x' } });
    expect(orphan.status).toBe(409);
    expect(pub.servedVersions().has('proxy-b')).toBe(false);
    const r = await call(agent, base, '/v1/served', { method: 'POST', token: 'good', proxy: 'proxy-a', body: { proxy: 'proxy-a', version: config(1).version } });
    expect(r.status).toBe(204);
    expect(pub.servedVersions().get('proxy-a')).toBe(config(1).version);
    expect(changes).toBe(1);
    // Resuming with `have` counts as a report.
    const b = await subscribe(agent, base, 'proxy-b', 'good', config(1).version);
    await until(() => pub.servedVersions().get('proxy-b') === config(1).version);
    a.close();
    await until(() => !pub.servedVersions().has('proxy-a'));
    expect(changes).toBe(3);
    b.close();
    await until(() => pub.servedVersions().size === 0);
  });

  it('rejects reports that do not parse or name another proxy', async () => {
    const s = await subscribe(agent, base, 'p1', 'good');
    expect((await call(agent, base, '/v1/served', { method: 'POST', token: 'good', proxy: 'p1', body: { proxy: 'p2', version: 'v' } })).status).toBe(400);
    expect((await call(agent, base, '/v1/served', { method: 'POST', token: 'good', proxy: 'p1', body: { version: 'v' } })).status).toBe(400);
    expect((await call(agent, base, '/v1/served', { method: 'POST', token: 'good', proxy: 'p1', body: 'x' })).status).toBe(400);
    expect(pub.servedVersions().size).toBe(0);
    s.close();
  });
});

describe('snapshot server: usage reports', () => {
  const usage = (proxy: string, requests: number) => ({
    proxy, minute: '2026-12-04T00:05', day: '2026-12-04', redis: 'none',
    tenants: { 'ai/acme': { requestsMinute: requests, tokensMinute: 0, requestsDay: requests, tokensDay: 0, throttledDay: 0 } }, limits: {},
  });

  it('keeps the latest report of each proxy, from any proxy (no stream needed), and refuses one that does not parse or names another proxy', async () => {
    const post = (proxy: string, body: unknown) => call(agent, base, '/v1/usage', { method: 'POST', token: 'good', proxy, body });
    expect((await post('p1', usage('p1', 3))).status).toBe(204);
    expect((await post('p1', usage('p1', 5))).status).toBe(204);
    expect((await post('p2', usage('p2', 1))).status).toBe(204);
    expect([...pub.usageReports()].map(([p, u]) => [p, u.report.tenants['ai/acme']!.requestsDay])).toEqual([['p1', 5], ['p2', 1]]);
    expect((await post('p1', usage('p2', 9))).status).toBe(400);
    expect((await post('p1', { ...usage('p1', 9), redis: 'maybe' })).status).toBe(400);
    expect((await post('p1', { ...usage('p1', 9), tenants: { 'ai/acme': { requestsMinute: -1 } } })).status).toBe(400);
    expect(pub.usageReports().get('p1')!.report.tenants['ai/acme']!.requestsDay).toBe(5);
    // Without a token it is refused like every other path.
    expect((await call(agent, base, '/v1/usage', { method: 'POST', proxy: 'p1', body: usage('p1', 1) })).status).toBe(401);
  });
});

describe('snapshot server: a proxy that does not read', () => {
  it('gets its stream closed instead of the operator buffering every version for it', async () => {
    const sock = connect({ host: '127.0.0.1', port: pub.address().port, ca: pub.caCert(), servername: 'localhost' });
    await new Promise((r) => sock.once('secureConnect', r));
    sock.write('GET /v1/snapshots HTTP/1.1\r\nhost: localhost\r\nauthorization: Bearer good\r\nx-jairouter-proxy: stuck\r\n\r\n');
    sock.pause();
    await until(() => pub.servedVersions().size === 0 && pub.openStreams === 1);
    const big = 'x'.repeat(1 << 20);
    for (let i = 0; i < 64 && pub.openStreams > 0; i++) {
      const c = config(i);
      await pub.publish({ ...c, tenants: [{ ...c.tenants[0]!, name: big + i }] }, { leader: false });
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(pub.openStreams).toBe(0);
    sock.destroy();
  });
});

describe('publisher: snapshot Secret and TLS', () => {
  it('only the leader writes the snapshot, once per version', async () => {
    await pub.publish(config(1), { leader: false });
    expect(snapshots.writes).toBe(0);
    await pub.publish(config(1), { leader: true });
    await pub.publish(config(1), { leader: true });
    expect(snapshots.writes).toBe(1);
    expect(JSON.parse(snapshots.json!)).toEqual(config(1));
    await pub.publish(config(2), { leader: true });
    expect(snapshots.writes).toBe(2);
  });

  it('a failed write rejects, and the next publish of that version retries it', async () => {
    const orig = snapshots.write.bind(snapshots);
    snapshots.write = async () => {
      throw new Error('apiserver down');
    };
    await expect(pub.publish(config(1), { leader: true })).rejects.toThrow('apiserver down');
    snapshots.write = orig;
    await pub.publish(config(1), { leader: true });
    expect(snapshots.writes).toBe(1);
  });

  it('creates a CA and a serving cert for the service names, and publishes the CA', async () => {
    expect(certs.ca).toBe(pub.caCert());
    const cert = new X509Certificate(certs.bundle!.cert);
    expect(cert.subjectAltName).toContain('DNS:jairouter-operator.jairouter-system.svc');
    expect(cert.subjectAltName).toContain('IP Address:127.0.0.1');
    expect(cert.verify(new X509Certificate(certs.ca!).publicKey)).toBe(true);
    expect(cert.ca).toBe(false);
    expect(new X509Certificate(certs.ca!).ca).toBe(true);
    expect(cert.checkHost('jairouter-operator.jairouter-system.svc.cluster.local')).toBeDefined();
    // 127.0.0.1 verifies as well as localhost.
    const r = await call(agent, `https://127.0.0.1:${pub.address().port}`, '/v1/snapshots', { proxy: 'p' });
    expect(r.status).toBe(401);
  });

  it('a second replica on the same store reuses the certificate', async () => {
    const other = await createPublisher({
      listen: '127.0.0.1:0',
      log: pino({ level: 'silent' }),
      tokenReviewer: reviewer,
      certStore: certs,
      snapshotStore: snapshots,
    });
    expect(other.caCert()).toBe(pub.caCert());
    expect(certs.revision).toBe(1);
    await other.close();
  });

  it('refuses clients that do not trust the CA', async () => {
    const stranger = client('');
    await expect(call(stranger, base, '/v1/snapshots', {})).rejects.toThrow();
    await stranger.close();
  });
});

describe('metrics', () => {
  it('counts requests by path and code, pushes, and open streams', async () => {
    await pub.publish(config(1), { leader: false });
    await call(agent, base, '/v1/snapshots', { proxy: 'p1' });
    await call(agent, base, '/nope', { proxy: 'p1', token: 'good' });
    const s = await subscribe(agent, base, 'p1', 'good');
    await s.next((l) => l.type === 'snapshot');
    const text = await registry.metrics();
    expect(text).toContain('jairouter_operator_snapshot_requests_total{path="/v1/snapshots",code="401"} 1');
    expect(text).toContain('jairouter_operator_snapshot_requests_total{path="other",code="404"} 1');
    expect(text).toContain('jairouter_operator_snapshot_requests_total{path="/v1/snapshots",code="200"} 1');
    expect(text).toContain('jairouter_operator_snapshot_pushes_total 1');
    expect(text).toContain('jairouter_operator_snapshot_streams 1');
    s.close();
  });
});
