// The operator's distribution side (in-process, fake TokenReview and in-memory stores) with real
// proxy processes subscribed to it: a pushed snapshot is served, the proxy keeps serving when
// the operator stops, and a proxy restarted while the operator is down serves the snapshot
// file. The proxy is run as its binary, so the operator never imports proxy code.
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withVersion, type ProxyConfig } from '@jairouter/crds';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPublisher, MemoryCertStore, MemorySnapshotStore, type DistributionPublisher } from './index.ts';
import { children, FakeReviewer, readyz, startProxy, stopProxy, until, type Proxy } from './testing.ts';

const API_KEY = 'sk-tenant-0123456789';
const dir = mkdtempSync(join(tmpdir(), 'jairouter-dist-'));

/** A config with one route for `model` to the fake backend and one tenant holding API_KEY. */
function config(model: string, backendUrl: string): ProxyConfig {
  return withVersion({
    schemaVersion: 4, limits: [],
    routes: [
      {
        id: 'ai/chat', namespace: 'ai', name: 'chat', generation: 1, models: [model],
        backends: [{ name: 'b', adapter: 'openai', endpoints: [{ url: backendUrl }], weight: 1, priority: 0, capabilities: {}, pricing: { inputPerMillion: 0, outputPerMillion: 0 }, options: {} }],
        loadBalancer: { strategy: 'RoundRobin' },
        retry: { attempts: 1, retryOn: ['5xx'], backoffBaseMs: 10, backoffMaxMs: 10 },
        timeouts: { connectMs: 2000, firstByteMs: 5000, requestMs: 10000 },
        healthCheck: { passive: { consecutiveFailures: 5, ejectionTimeMs: 1000, maxEjectionPercent: 50 } },
        fallbackModels: [],
      },
    ],
    tenants: [
      {
        id: 'ai/acme', namespace: 'ai', name: 'acme', generation: 1,
        apiKeys: [{ id: 'acme-keys/k', sha256: createHash('sha256').update(API_KEY).digest('hex'), roles: [] }],
        jwtIssuers: [],
        access: { models: ['*'], roles: [] }, suspended: false,
      },
    ],
  });
}

async function chat(p: Proxy, model: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const r = await fetch(`${p.api}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }),
  });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}

describe('proxy processes subscribed to the operator', () => {
  let backend: Server;
  let backendUrl: string;
  let pub: DistributionPublisher | null;
  const snapshots = new MemorySnapshotStore();
  let operatorUrl: string;
  const caFile = join(dir, 'ca.crt');
  const tokenFile = join(dir, 'token');
  const snapshotFile = join(dir, 'snapshot.json');

  beforeAll(async () => {
    backend = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        const model = (JSON.parse(body) as { model: string }).model;
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({
          id: 'c1', object: 'chat.completion', created: 1, model,
          choices: [{ index: 0, message: { role: 'assistant', content: `hello from ${model}` }, finish_reason: 'stop' }],
          usage: { prompt_tokens: 1, completion_tokens: 3, total_tokens: 4 },
        }));
      });
    });
    await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
    backendUrl = `http://127.0.0.1:${(backend.address() as AddressInfo).port}/v1`;
    pub = await createPublisher({
      listen: '127.0.0.1:0',
      log: pino({ level: 'silent' }),
      tokenReviewer: new FakeReviewer(),
      certStore: new MemoryCertStore(),
      snapshotStore: snapshots,
    });
    operatorUrl = `https://localhost:${pub.address().port}`;
    writeFileSync(caFile, pub.caCert());
    writeFileSync(tokenFile, 'good-proxy-token\n');
  });

  afterAll(async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    await pub?.close();
    backend?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves a pushed snapshot, follows the next one, keeps serving when the operator stops, and restarts from the snapshot file', async () => {
    const v1 = config('model-a', backendUrl);
    await pub!.publish(v1, { leader: true });
    const args = ['--operator', operatorUrl, '--operator-ca', caFile, '--token-file', tokenFile, '--snapshot-file', snapshotFile, '--proxy-name', 'proxy-a'];
    const proxy = await startProxy(args);
    expect(await readyz(proxy)).toEqual({ status: 200, body: { ready: true, configVersion: v1.version } });
    expect(await chat(proxy, 'model-a')).toMatchObject({ status: 200, body: { choices: [{ message: { content: 'hello from model-a' } }] } });
    await until(() => pub!.servedVersions().get('proxy-a') === v1.version);

    const v2 = config('model-b', backendUrl);
    await pub!.publish(v2, { leader: true });
    await until(() => pub!.servedVersions().get('proxy-a') === v2.version);
    expect((await readyz(proxy)).body.configVersion).toBe(v2.version);
    expect((await chat(proxy, 'model-b')).status).toBe(200);
    expect((await chat(proxy, 'model-a')).status).toBe(404);

    // The operator goes away: the proxy keeps serving what it has.
    await pub!.close();
    pub = null;
    await new Promise((r) => setTimeout(r, 300));
    expect(await readyz(proxy)).toEqual({ status: 200, body: { ready: true, configVersion: v2.version } });
    expect((await chat(proxy, 'model-b')).status).toBe(200);
    await stopProxy(proxy);

    // A new proxy while the operator is down: it starts from the snapshot Secret's content.
    writeFileSync(snapshotFile, snapshots.json!);
    const t0 = Date.now();
    const restarted = await startProxy(args);
    expect(Date.now() - t0).toBeLessThan(8000);
    expect(await readyz(restarted)).toEqual({ status: 200, body: { ready: true, configVersion: v2.version } });
    expect(await chat(restarted, 'model-b')).toMatchObject({ status: 200, body: { choices: [{ message: { content: 'hello from model-b' } }] } });
    expect(restarted.lines.some((l) => l.msg === 'serving the snapshot file until the operator answers')).toBe(true);
    // It does not log the token.
    expect(JSON.stringify(restarted.lines)).not.toContain('good-proxy-token');
    await stopProxy(restarted);
  }, 60_000);

  it('with neither snapshot file nor operator, listens but is not ready until the operator comes back', async () => {
    const certs = new MemoryCertStore();
    const first = await createPublisher({ listen: '127.0.0.1:0', log: pino({ level: 'silent' }), tokenReviewer: new FakeReviewer(), certStore: certs, snapshotStore: new MemorySnapshotStore() });
    const port = first.address().port;
    writeFileSync(caFile, first.caCert());
    await first.close();
    const proxy = await startProxy(['--operator', `https://127.0.0.1:${port}`, '--operator-ca', caFile, '--token-file', tokenFile, '--snapshot-file', join(dir, 'absent.json'), '--proxy-name', 'proxy-b']);
    expect(await readyz(proxy)).toEqual({ status: 503, body: { ready: false, configVersion: '' } });
    expect((await chat(proxy, 'model-c')).status).toBe(401);
    // The operator comes back on its address (same CA, from the Secret) and pushes a config.
    const again = await createPublisher({ listen: `127.0.0.1:${port}`, log: pino({ level: 'silent' }), tokenReviewer: new FakeReviewer(), certStore: certs, snapshotStore: new MemorySnapshotStore() });
    try {
      const v = config('model-c', backendUrl);
      await again.publish(v, { leader: false });
      // The proxy's backoff has grown while the operator was away (capped at 30 s, with jitter).
      await until(() => again.servedVersions().get('proxy-b') === v.version, 40_000);
      expect(await readyz(proxy)).toEqual({ status: 200, body: { ready: true, configVersion: v.version } });
      expect((await chat(proxy, 'model-c')).status).toBe(200);
    } finally {
      await stopProxy(proxy);
      await again.close();
    }
  }, 90_000);
});
