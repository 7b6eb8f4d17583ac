// Test helpers shared by the distribution tests: a fake TokenReview and an HTTPS client that
// trusts the operator's CA.
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'undici';
import type { TokenReviewer, TokenReviewResult } from './auth.ts';

/** Tokens are `good-<pod>` (the proxies' account), `other` (another account), anything else invalid. */
export class FakeReviewer implements TokenReviewer {
  calls = 0;
  account = 'system:serviceaccount:jairouter-system:jairouter-proxy';
  async review(token: string): Promise<TokenReviewResult> {
    this.calls++;
    if (token.startsWith('good')) return { authenticated: true, username: this.account };
    if (token.startsWith('pod-')) return { authenticated: true, username: this.account, podName: token.slice(4) };
    if (token === 'other') return { authenticated: true, username: 'system:serviceaccount:default:default' };
    return { authenticated: false, error: 'invalid bearer token' };
  }
}

export function client(ca: string): Agent {
  return new Agent({ connect: { ca } });
}

export async function call(
  agent: Agent,
  base: string,
  path: string,
  opts: { method?: 'GET' | 'POST'; token?: string; proxy?: string; body?: unknown } = {},
): Promise<{ status: number; json: unknown }> {
  const headers: Record<string, string> = {};
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.proxy) headers['x-jairouter-proxy'] = opts.proxy;
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  const r = await request(base + path, {
    dispatcher: agent,
    method: opts.method ?? 'GET',
    headers,
    ...(opts.body !== undefined && { body: JSON.stringify(opts.body) }),
  });
  const text = await r.body.text();
  return { status: r.statusCode, json: text ? JSON.parse(text) : null };
}

/** Opens a snapshot stream and collects its lines. */
export async function subscribe(agent: Agent, base: string, proxy: string, token: string, have = '') {
  const ac = new AbortController();
  const r = await request(`${base}/v1/snapshots?have=${encodeURIComponent(have)}`, {
    dispatcher: agent,
    headers: { authorization: `Bearer ${token}`, 'x-jairouter-proxy': proxy },
    signal: ac.signal,
  });
  const lines: Record<string, unknown>[] = [];
  const waiters: (() => void)[] = [];
  let buf = '';
  void (async () => {
    try {
      for await (const chunk of r.body) {
        buf += chunk.toString();
        let i;
        while ((i = buf.indexOf('\n')) >= 0) {
          lines.push(JSON.parse(buf.slice(0, i)) as Record<string, unknown>);
          buf = buf.slice(i + 1);
          for (const w of waiters.splice(0)) w();
        }
      }
    } catch {
      // aborted
    }
  })();
  async function next(pred: (l: Record<string, unknown>) => boolean, timeoutMs = 5000): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs;
    let seen = 0;
    for (;;) {
      for (; seen < lines.length; seen++) if (pred(lines[seen]!)) return lines[seen]!;
      if (Date.now() > deadline) throw new Error(`no matching line; got ${JSON.stringify(lines)}`);
      await new Promise<void>((res) => {
        waiters.push(res);
        setTimeout(res, 50);
      });
    }
  }
  return { status: r.statusCode, headers: r.headers, lines, next, close: () => ac.abort() };
}

export async function until(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

const PROXY_BIN = resolve(fileURLToPath(import.meta.url), '../../../../proxy/bin/jairouter-proxy.js');

/** Proxy processes (the real bin) on ephemeral ports; `children` lets afterAll kill leftovers. */
export interface Proxy {
  child: ChildProcess;
  api: string;
  admin: string;
  lines: Record<string, unknown>[];
}

export const children: ChildProcess[] = [];

export async function startProxy(args: string[]): Promise<Proxy> {
  const child = spawn(process.execPath, [PROXY_BIN, '--listen', '127.0.0.1:0', '--admin-listen', '127.0.0.1:0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  const lines: Record<string, unknown>[] = [];
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += String(d)));
  createInterface({ input: child.stdout! }).on('line', (l) => {
    try {
      lines.push(JSON.parse(l) as Record<string, unknown>);
    } catch {
      // not a log line
    }
  });
  await until(() => {
    if (child.exitCode !== null) throw new Error(`proxy exited: ${stderr}`);
    return lines.some((l) => l.msg === 'proxy listening');
  }, 20_000);
  const l = lines.find((x) => x.msg === 'proxy listening')!;
  return { child, api: String(l.listen), admin: String(l.admin), lines };
}

export async function stopProxy(p: Proxy): Promise<void> {
  if (p.child.exitCode !== null) return;
  const exited = new Promise((r) => p.child.once('exit', r));
  p.child.kill('SIGTERM');
  await exited;
}

export async function readyz(p: Proxy): Promise<{ status: number; body: { ready: boolean; configVersion: string } }> {
  const r = await fetch(`${p.admin}/readyz`);
  return { status: r.status, body: (await r.json()) as { ready: boolean; configVersion: string } };
}

