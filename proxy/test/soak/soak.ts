// The endurance run of issue 14: many requests through the proxy binary on its full path (API key,
// two Local rate-limit rules and a token quota, routing, metrics, the request log written to a
// pipe), mixed JSON and SSE, some clients leaving mid-stream, some upstream answers failing and
// retried on the other backend. Samples the proxy's RSS and open file descriptors as it goes.
// soak.test.ts runs a short one in `make test`; `make soak` a million requests.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Agent, request } from 'undici';
import { PROXY_BIN } from '../harness.ts';

export interface SoakOptions {
  requests: number;
  concurrency: number;
  /** Share of requests that stream. */
  sseShare: number;
  /** Share of streams the client leaves after the first event. */
  abortShare: number;
  /** Every Nth upstream answer is a 503 (retried by the proxy on the other backend). */
  errorEvery: number;
  /** RSS and fd samples over the run. */
  samples: number;
  /** Progress lines on stderr. */
  verbose?: boolean;
  /** NODE_OPTIONS of the proxy process (as the image sets it), e.g. --max-semi-space-size=4. */
  nodeOptions?: string;
}

export interface Sample {
  done: number;
  rssMb: number;
  fds: number;
}

export interface SoakResult {
  requests: number;
  ok: number;
  aborted: number;
  /** Answers other than 200 for requests the client did not leave, and connection failures. */
  failed: number;
  upstreamErrors: number;
  seconds: number;
  samples: Sample[];
  /** The proxy exited (crash, unhandled rejection) before the end. */
  exited: string | null;
  stderr: string;
}

const KEY = 'sk-soak-000000000000000000';
const REPLY = JSON.stringify({
  id: 'chatcmpl-soak', object: 'chat.completion', created: 1700000000, model: 'soak',
  choices: [{ index: 0, message: { role: 'assistant', content: 'A short answer from the soak upstream.' }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 20, completion_tokens: 8, total_tokens: 28 },
});
const chunk = (i: number, last: boolean) => `data: ${JSON.stringify({ id: 'chatcmpl-soak', object: 'chat.completion.chunk', created: 1700000000, model: 'soak', choices: [{ index: 0, delta: { content: `t${i} ` }, finish_reason: last ? 'stop' : null }], ...(last && { usage: { prompt_tokens: 20, completion_tokens: 8, total_tokens: 28 } }) })}\n\n`;

/** The upstream: JSON or an 8-event stream, a 503 for every errorEvery-th request. */
function upstream(errorEvery: number, counter: { n: number; errors: number }): Server {
  return createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c));
    req.on('end', () => {
      if (++counter.n % errorEvery === 0) {
        counter.errors++;
        res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":{"message":"overloaded","type":"server_error"}}');
        return;
      }
      if (!body.includes('"stream":true')) {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(REPLY) }).end(REPLY);
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      let i = 0;
      const next = () => {
        if (res.destroyed) return;
        if (i === 8) {
          res.end('data: [DONE]\n\n');
          return;
        }
        res.write(chunk(i, i === 7));
        i++;
        setImmediate(next);
      };
      next();
    });
  });
}

function config(a: number, b: number): string {
  return `apiVersion: jairouter.io/v1alpha1
kind: ModelRoute
metadata: {name: soak, namespace: soak}
spec:
  models: [soak]
  loadBalancer: {strategy: RoundRobin}
  retry: {attempts: 2, retryOn: [5xx], backoff: {base: 1ms, max: 5ms}}
  healthCheck: {passive: {consecutiveFailures: 1000}}
  backends:
    - {name: a, adapter: openai, url: "http://127.0.0.1:${a}/v1"}
    - {name: b, adapter: openai, url: "http://127.0.0.1:${b}/v1"}
---
apiVersion: v1
kind: Secret
metadata: {name: soak-keys, namespace: soak}
stringData: {k: ${KEY}}
---
apiVersion: jairouter.io/v1alpha1
kind: Tenant
metadata: {name: soak, namespace: soak}
spec:
  apiKeys: {secretRefs: [{name: soak-keys}]}
  quotas: {tokensPerDay: 1000000000000}
---
apiVersion: jairouter.io/v1alpha1
kind: RateLimitPolicy
metadata: {name: soak, namespace: soak}
spec:
  targetRefs: [{kind: Tenant, name: soak}]
  rules:
    - {name: requests, algorithm: TokenBucket, limit: {requests: 1000000000, per: 1m}, scope: Local}
    - {name: tokens, algorithm: SlidingWindow, limit: {tokens: 1000000000000, per: 1m}, scope: Local}
`;
}

const listen = (s: Server) => new Promise<number>((r) => s.listen(0, '127.0.0.1', () => r((s.address() as AddressInfo).port)));

function sample(pid: number, done: number): Sample {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rss = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
  return { done, rssMb: Math.round(rss * 10) / 10, fds: readdirSync(`/proc/${pid}/fd`).length };
}

export async function soak(o: SoakOptions): Promise<SoakResult> {
  const counter = { n: 0, errors: 0 };
  const servers = [upstream(o.errorEvery, counter), upstream(o.errorEvery, counter)];
  const [a, b] = await Promise.all(servers.map(listen));
  const dir = mkdtempSync(join(tmpdir(), 'jairouter-soak-'));
  writeFileSync(join(dir, 'soak.yaml'), config(a!, b!));
  const env = { ...process.env, NODE_OPTIONS: o.nodeOptions ?? '' };
  const proc = spawn(process.execPath, [PROXY_BIN, '--config', join(dir, 'soak.yaml'), '--listen', '127.0.0.1:0', '--admin-listen', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let stderr = '';
  proc.stderr.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-8000)));
  let exited: string | null = null;
  proc.once('exit', (code, signal) => (exited = `exit ${code ?? signal}`));
  // The request log goes to a pipe, as in a container; read and dropped.
  const base = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: proc.stdout });
    const timer = setTimeout(() => reject(new Error(`proxy did not start: ${stderr}`)), 20_000);
    lines.on('line', (l) => {
      if (!l.includes('"proxy listening"')) return;
      clearTimeout(timer);
      resolve(JSON.parse(l).listen as string);
      lines.removeAllListeners('line');
      lines.on('line', () => {});
    });
  });
  const agent = new Agent({ connections: o.concurrency, keepAliveTimeout: 30_000 });
  const url = `${base}/v1/chat/completions`;
  const result: SoakResult = { requests: 0, ok: 0, aborted: 0, failed: 0, upstreamErrors: 0, seconds: 0, samples: [], exited: null, stderr: '' };
  const every = Math.max(1, Math.floor(o.requests / o.samples));
  let next = 0;
  let done = 0;
  const t0 = performance.now();
  const one = async (n: number): Promise<void> => {
    // Deterministic mix from the request number (no randomness to make runs differ).
    const sse = (n * 7919) % 1000 < o.sseShare * 1000;
    const leave = sse && (n * 104729) % 1000 < o.abortShare * 1000;
    const body = JSON.stringify({ model: 'soak', messages: [{ role: 'user', content: `question ${n}` }], ...(sse && { stream: true, stream_options: { include_usage: true } }) });
    const ac = new AbortController();
    try {
      const r = await request(url, { method: 'POST', dispatcher: agent, signal: ac.signal, headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' }, body });
      if (leave) {
        for await (const _ of r.body) break;
        ac.abort();
        result.aborted++;
        return;
      }
      await r.body.dump({ limit: 1 << 20 });
      if (r.statusCode === 200) result.ok++;
      else result.failed++;
    } catch (e) {
      if (leave && ac.signal.aborted) result.aborted++;
      else result.failed++;
    } finally {
      done++;
      if (done % every === 0) {
        result.samples.push(sample(proc.pid!, done));
        if (o.verbose) process.stderr.write(`soak: ${done}/${o.requests} ${JSON.stringify(result.samples.at(-1))}\n`);
      }
    }
  };
  const worker = async () => {
    while (next < o.requests && exited === null) await one(next++);
  };
  await Promise.all(Array.from({ length: o.concurrency }, worker));
  result.requests = done;
  result.seconds = (performance.now() - t0) / 1000;
  result.upstreamErrors = counter.errors;
  result.exited = exited;
  result.stderr = stderr;
  await agent.close();
  proc.kill('SIGTERM');
  await new Promise((r) => (exited !== null ? r(null) : proc.once('exit', r)));
  for (const s of servers) {
    s.closeAllConnections();
    s.close();
  }
  return result;
}
