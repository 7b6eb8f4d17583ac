// Clusters whose egress goes through an HTTP proxy: with HTTPS_PROXY / HTTP_PROXY set, upstream
// requests and active health probes go through it (absolute-form requests for http:// targets,
// CONNECT tunnels for https://), and NO_PROXY exempts hosts, as curl and most HTTP clients do.
// The proxy here is a minimal forward proxy of the test's own that records what it carried.
import { createServer, request, type Server } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeOpenAI, type FakeBackend } from '@jairouter/testkit/fake-openai';
import { modelRoute, tenantWithKeys, toYaml } from './config.ts';
import { startProxy } from './harness.ts';

const KEY = 'sk-egress-0000000001';
let backend: FakeBackend;
let egress: Server;
let egressUrl = '';
/** `host:port` of every request or tunnel the egress proxy carried. */
const tunnels: string[] = [];

beforeAll(async () => {
  backend = await startFakeOpenAI({ name: 'outside' });
  egress = createServer((req, res) => {
    // Absolute-form request (http:// targets): forward it.
    const target = new URL(req.url ?? '');
    tunnels.push(target.host);
    const up = request(target, { method: req.method, headers: req.headers }, (u) => {
      res.writeHead(u.statusCode ?? 502, u.headers);
      u.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  egress.on('connect', (req, client, head) => {
    tunnels.push(req.url ?? '');
    const [host, port] = (req.url ?? '').split(':');
    const upstream = connect(Number(port), host!, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length) upstream.write(head);
      upstream.pipe(client).pipe(upstream);
    });
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  });
  await new Promise<void>((r) => egress.listen(0, '127.0.0.1', r));
  egressUrl = `http://127.0.0.1:${(egress.address() as { port: number }).port}`;
});

afterAll(async () => {
  egress?.closeAllConnections();
  await new Promise((r) => egress?.close(r));
  await backend?.close();
});

const config = () =>
  toYaml(
    modelRoute('outside', {
      models: ['outside'],
      backends: [{ name: 'outside', url: backend.url }],
      healthCheck: { active: { path: '/models', interval: '1h', timeout: '2s', unhealthyThreshold: 2, healthyThreshold: 2 } },
    }),
    tenantWithKeys('t', { k: KEY }),
  );

/**
 * Starts a proxy with `env`, sends one chat request through it and waits for a health probe;
 * resolves with what the egress proxy carried meanwhile.
 */
async function chatAndProbe(env: NodeJS.ProcessEnv, content: string): Promise<string[]> {
  // The machine's own proxy settings must not leak into the test (undefined: not passed on).
  const clean = { HTTP_PROXY: undefined, HTTPS_PROXY: undefined, http_proxy: undefined, https_proxy: undefined, NO_PROXY: undefined, no_proxy: undefined };
  const p = await startProxy({ configs: config(), env: { ...clean, ...env } });
  try {
    tunnels.length = 0;
    backend.clearRequests();
    const r = await p.client(KEY).chat.completions.create({ model: 'outside', messages: [{ role: 'user', content }] });
    expect(r.choices[0]?.message.content).toContain('outside');
    await backend.waitForRequest((x) => x.path === '/v1/models');
    return [...tunnels];
  } finally {
    await p.stop();
  }
}

describe('egress through HTTP(S)_PROXY', () => {
  it('upstream requests and health probes go through the proxy set in HTTP_PROXY', async () => {
    const carried = await chatAndProbe({ HTTP_PROXY: egressUrl }, 'via the egress proxy');
    const target = new URL(backend.url).host;
    expect(carried.length).toBeGreaterThanOrEqual(2); // the chat request and the probe
    expect(new Set(carried)).toEqual(new Set([target]));
  });

  // A host name or IP, and a CIDR range (Pod IPs of serviceRef backends cannot be listed one by one).
  for (const noProxy of ['127.0.0.1', 'example.com, 127.0.0.0/8']) {
    it(`NO_PROXY=${JSON.stringify(noProxy)} exempts the backend: requests and probes go direct`, async () => {
      expect(await chatAndProbe({ HTTP_PROXY: egressUrl, NO_PROXY: noProxy }, 'direct')).toEqual([]);
    });
  }
});
