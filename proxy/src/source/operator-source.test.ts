// OperatorSource against a fake operator: a small HTTPS server speaking the snapshot protocol
// with a certificate from a throwaway CA (openssl CLI), so no operator or Kubernetes is needed.
import { execFileSync } from 'node:child_process';
import { getEventListeners } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withVersion, type ProxyConfig } from '@jairouter/crds';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@jairouter/testkit/wait-for';
import { parseOptions, type ProxyOptions } from '../config.ts';
import { OperatorSource, type OperatorSourceOptions } from './operator-source.ts';

const dir = mkdtempSync(join(tmpdir(), 'jairouter-opsrc-'));
const file = (n: string) => join(dir, n);
let serverTls: { key: string; cert: string };

beforeAll(() => {
  const sh = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  sh('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=test-ca');
  sh('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'other-ca.key', '-out', 'other-ca.crt', '-days', '2', '-subj', '/CN=other-ca');
  sh('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'tls.key', '-out', 'tls.crt', '-days', '2', '-subj', '/CN=localhost',
    '-CA', 'ca.crt', '-CAkey', 'ca.key', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1');
  serverTls = { key: readFileSync(file('tls.key'), 'utf8'), cert: readFileSync(file('tls.crt'), 'utf8') };
  writeFileSync(file('token'), 'token-1\n');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function config(n: number): ProxyConfig {
  return withVersion({
    schemaVersion: 4, limits: [],
    routes: [],
    tenants: [{ id: `t/t${n}`, namespace: 't', name: `t${n}`, generation: n, apiKeys: [], jwtIssuers: [], access: { models: ['*'], roles: [] }, suspended: false }],
  });
}

interface Sub {
  have: string;
  token: string;
  proxy: string;
  res: ServerResponse;
}

/** A fake operator: records subscriptions and reports; the test drives what it sends. */
class FakeOperator {
  server: Server;
  subs: Sub[] = [];
  reports: unknown[] = [];
  current: ProxyConfig | null = null;
  status = 200;
  /** Answer reports 409 no_stream, as a replica that holds no stream of the proxy does. */
  noStream = false;
  constructor() {
    this.server = createServer(serverTls, (req, res) => this.handle(req, res));
  }
  async listen(port = 0): Promise<string> {
    await new Promise<void>((r) => this.server.listen(port, '127.0.0.1', r));
    return `https://localhost:${(this.server.address() as AddressInfo).port}`;
  }
  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }
  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url!, 'https://x');
    const token = (req.headers.authorization ?? '').replace(/^Bearer /, '');
    const proxy = String(req.headers['x-jairouter-proxy']);
    if (this.status !== 200) {
      res.writeHead(this.status, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'forbidden', message: 'not the proxy account' }));
      return;
    }
    if (url.pathname === '/v1/served') {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        this.reports.push({ token, ...JSON.parse(body) });
        if (this.noStream) res.writeHead(409, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'no_stream', message: 'no stream here' }));
        else res.writeHead(204).end();
      });
      return;
    }
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    res.flushHeaders();
    const have = url.searchParams.get('have') ?? '';
    this.subs.push({ have, token, proxy, res });
    if (this.current && this.current.version !== have) this.send(res, { type: 'snapshot', config: this.current });
  }
  send(res: ServerResponse, msg: unknown): void {
    res.write(JSON.stringify(msg) + '\n');
  }
  push(c: ProxyConfig | Record<string, unknown>): void {
    if ('version' in c && typeof c.version === 'string' && 'schemaVersion' in c) this.current = c as ProxyConfig;
    for (const s of this.subs) if (!s.res.writableEnded) this.send(s.res, { type: 'snapshot', config: c });
  }
  dropAll(): void {
    for (const s of this.subs) s.res.destroy();
  }
  async close(): Promise<void> {
    this.dropAll();
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }
}

const until = (cond: () => boolean, timeoutMs = 5000) => waitFor('the condition', cond, timeoutMs, 20);

const log = pino({ level: 'silent' });
let op: FakeOperator;

/** Starts a fake operator as `op` (closed after each test); resolves with its URL. */
async function startOperator(port?: number): Promise<string> {
  op = new FakeOperator();
  return op.listen(port);
}
let sources: OperatorSource[] = [];

function source(url: string, extra: Partial<OperatorSourceOptions> = {}): OperatorSource {
  const s = new OperatorSource({
    url,
    caFile: file('ca.crt'),
    tokenFile: file('token'),
    proxyName: 'proxy-1',
    log,
    firstConfigTimeoutMs: 3000,
    backoffBaseMs: 20,
    backoffMaxMs: 100,
    ...extra,
  });
  sources.push(s);
  return s;
}

afterEach(async () => {
  for (const s of sources) s.stop();
  sources = [];
  await op?.close();
});

describe('OperatorSource', () => {
  it('starts with the first pushed snapshot, applies later ones and reports each', async () => {
    const url = await startOperator();
    op.current = config(1);
    const applied: ProxyConfig[] = [];
    const s = source(url);
    const first = await s.start((c) => void applied.push(c));
    expect(first).toEqual(config(1));
    expect(s.hasConfig()).toBe(true);
    expect(op.subs[0]).toMatchObject({ have: '', token: 'token-1', proxy: 'proxy-1' });
    await until(() => op.reports.length === 1);
    expect(op.reports[0]).toEqual({ token: 'token-1', proxy: 'proxy-1', version: config(1).version });
    op.push(config(2));
    await until(() => applied.length === 1);
    expect(applied[0]).toEqual(config(2));
    await until(() => op.reports.length === 2);
    // The same version again is not applied twice.
    op.push(config(2));
    op.send(op.subs[0]!.res, { type: 'heartbeat' });
    op.send(op.subs[0]!.res, { type: 'from-the-future', x: 1 });
    await new Promise((r) => setTimeout(r, 100));
    expect(applied.length).toBe(1);
  });

  it('refuses a snapshot whose content does not match its version, keeping the last good one', async () => {
    const url = await startOperator();
    op.current = config(1);
    const applied: ProxyConfig[] = [];
    const s = source(url);
    await s.start((c) => void applied.push(c));
    op.push({ ...config(2), version: config(3).version });
    op.push({ ...config(2), schemaVersion: 5 });
    op.push(config(4));
    await until(() => applied.length === 1);
    expect(applied[0]).toEqual(config(4));
  });

  it('serves the snapshot file at once while the operator is down, then resumes from its version', async () => {
    writeFileSync(file('snap.json'), JSON.stringify(config(5)));
    // An address where the operator is down.
    const url = await startOperator();
    const port = op.port;
    await op.close();
    const applied: ProxyConfig[] = [];
    const s = source(url, { snapshotFile: file('snap.json') });
    const t0 = Date.now();
    expect(await s.start((c) => void applied.push(c))).toEqual(config(5));
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(s.hasConfig()).toBe(true);
    // The operator comes back on the same port: the proxy resumes with have=<file version>.
    await startOperator(port);
    op.current = config(5);
    await until(() => op.subs.length > 0);
    expect(op.subs[0]!.have).toBe(config(5).version);
    op.push(config(6));
    await until(() => applied.length === 1);
    expect(applied[0]).toEqual(config(6));
  });

  it('ignores a corrupt snapshot file and waits for the operator', async () => {
    writeFileSync(file('bad.json'), JSON.stringify({ ...config(5), routes: 'x' }));
    const url = await startOperator();
    op.current = config(7);
    const s = source(url, { snapshotFile: file('bad.json') });
    expect(await s.start(() => {})).toEqual(config(7));
  });

  it('with neither file nor operator, gives an empty placeholder after the timeout and is not ready until a snapshot comes', async () => {
    const url = await startOperator();
    op.status = 403;
    const applied: ProxyConfig[] = [];
    const s = source(url, { firstConfigTimeoutMs: 300, snapshotFile: file('missing.json') });
    const first = await s.start((c) => void applied.push(c));
    expect(first).toMatchObject({ routes: [], tenants: [], version: '' });
    expect(s.hasConfig()).toBe(false);
    op.status = 200;
    op.current = config(8);
    await until(() => applied.length === 1);
    expect(s.hasConfig()).toBe(true);
    expect(applied[0]).toEqual(config(8));
  });

  it('a report answered 409 no_stream (it reached another replica) reopens the stream with have=<version> at once', async () => {
    const url = await startOperator();
    op.current = config(1);
    op.noStream = true;
    const s = source(url, { backoffBaseMs: 60_000, backoffMaxMs: 60_000 });
    await s.start(() => {});
    await until(() => op.subs.length === 2);
    // No backoff (it is 60 s here): the reopened stream is the report.
    expect(op.subs[1]).toMatchObject({ have: config(1).version, proxy: 'proxy-1' });
  });

  it('reconnects after the stream drops, re-reading the token and resuming from the version held', async () => {
    const url = await startOperator();
    op.current = config(1);
    const s = source(url);
    await s.start(() => {});
    writeFileSync(file('token'), 'token-2\n');
    op.dropAll();
    await until(() => op.subs.length === 2);
    expect(op.subs[1]).toMatchObject({ have: config(1).version, token: 'token-2' });
    writeFileSync(file('token'), 'token-1\n');
  });

  it('reconnects when the stream goes silent', async () => {
    const url = await startOperator();
    op.current = config(1);
    const s = source(url, { idleTimeoutMs: 300 });
    await s.start(() => {});
    await until(() => op.subs.length >= 2, 3000);
    expect(op.subs[1]!.have).toBe(config(1).version);
  });

  it('a long outage with many retries piles up no abort listeners', async () => {
    const url = await startOperator();
    op.status = 403;
    let attempts = 0;
    op.server.on('request', () => attempts++);
    const s = source(url, { firstConfigTimeoutMs: 100, backoffBaseMs: 1, backoffMaxMs: 2 });
    await s.start(() => {});
    await until(() => attempts >= 40, 10_000);
    // White-box: the source's abort signal (stop() wakes the backoff sleep through it).
    const signal = (s as unknown as { abort: AbortController }).abort.signal;
    expect(getEventListeners(signal, 'abort').length).toBeLessThanOrEqual(3);
  });

  it('does not accept an operator whose certificate is not from the given CA', async () => {
    const url = await startOperator();
    op.current = config(1);
    const s = source(url, { caFile: file('other-ca.crt'), firstConfigTimeoutMs: 500 });
    expect((await s.start(() => {})).version).toBe('');
    expect(op.subs.length).toBe(0);
  });

  it('an apply that throws keeps the last good config and does not report', async () => {
    const url = await startOperator();
    op.current = config(1);
    const s = source(url);
    await s.start(() => {
      throw new Error('cannot build');
    });
    await until(() => op.reports.length === 1);
    op.push(config(2));
    await new Promise((r) => setTimeout(r, 200));
    expect(op.reports.length).toBe(1);
    op.dropAll();
    await until(() => op.subs.length === 2);
    expect(op.subs[1]!.have).toBe(config(1).version);
  });
});

// Keep the token value out of anything logged: the source logs through pino; check the text.
describe('OperatorSource logging', () => {
  it('never logs the token', async () => {
    const lines: string[] = [];
    const capture = pino({ level: 'trace' }, { write: (l: string) => lines.push(l) });
    writeFileSync(file('token'), 'sekret-token-value\n');
    const url = await startOperator();
    op.status = 401;
    const s = source(url, { log: capture, firstConfigTimeoutMs: 300 });
    await s.start(() => {});
    op.status = 200;
    op.current = config(1);
    await until(() => s.hasConfig());
    s.stop();
    writeFileSync(file('token'), 'token-1\n');
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.join('')).not.toContain('sekret');
  });
});

describe('--operator flags', () => {
  const parse = (args: string[], env: NodeJS.ProcessEnv = {}) => parseOptions(args, env) as ProxyOptions;

  it('--operator replaces --config and takes its files and name', () => {
    const o = parse(['--operator', 'https://op.jairouter-system.svc:8443/', '--operator-ca', '/ca.crt', '--token-file', '/t/token', '--snapshot-file', '/snap/snapshot.json'], { POD_NAME: 'proxy-abc' });
    expect(o.configPaths).toEqual([]);
    expect(o.operator).toEqual({
      url: 'https://op.jairouter-system.svc:8443',
      caFile: '/ca.crt',
      tokenFile: '/t/token',
      snapshotFile: '/snap/snapshot.json',
      proxyName: 'proxy-abc',
    });
    expect(parse(['--operator', 'https://h:1', '--operator-ca', 'c', '--token-file', 't', '--proxy-name', 'p'], { POD_NAME: 'x' }).operator).toMatchObject({ tokenFile: 't', proxyName: 'p' });
  });

  it('without --operator nothing changes', () => {
    expect(parse(['--config', 'a.yaml']).operator).toBeUndefined();
  });

  it.each([
    [['--operator', 'http://h:1', '--operator-ca', 'c', '--token-file', 't'], 'must be https://'],
    [['--operator', 'nope', '--operator-ca', 'c', '--token-file', 't'], 'expected https://HOST:PORT'],
    [['--operator', 'https://h:1', '--token-file', 't'], '--operator-ca'],
    [['--operator', 'https://h:1', '--operator-ca', 'c'], '--token-file'],
    [['--operator', 'https://h:1', '--operator-ca', 'c', '--token-file', 't', '--config', 'a.yaml'], 'exclude each other'],
    [['--config', 'a.yaml', '--snapshot-file', 's'], '--snapshot-file needs --operator'],
    [[], '--config is required'],
  ])('%j fails with "%s"', (args, message) => {
    expect(() => parseOptions(args, {})).toThrow(message);
  });
});
