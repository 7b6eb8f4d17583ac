// Where the slow requests spend their time (issue 14's tail): the proxy binary, every request
// traced (always_on) into a real Jaeger, a light load like bench/run.sh's r200 (20 connections,
// each pausing 100 ms after every answer; JSON chat completions to bench/mock-upstream.mjs). Then the traces: for the slowest 1 % and for the median ones, how long each phase
// took. Phases: before `authenticate` starts (reading the request), each stage span, the
// upstream attempt (the CLIENT span), and what follows it until the server span ends (writing
// the answer). Not a test: `node proxy/scripts/slow-requests.ts [seconds] [connections] [pause ms]`.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Pool } from 'undici';
import { startJaeger, type JaegerSpan } from '@jairouter/testkit/observability';
import { PROXY_BIN, REPO_ROOT } from '../test/harness.ts';
import { oneRouteYaml } from './large-config.ts';

const SECONDS = Number(process.argv[2] ?? 20);
const CONNS = Number(process.argv[3] ?? 20);
const PAUSE_MS = Number(process.argv[4] ?? 100);
const KEY = 'sk-slow-requests-000000000000';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// The bench's mock upstream, in its own process (pinned with MOCK_CPU), as in bench/run.sh.
const mockPort = await new Promise<number>((resolve) => {
  const probe = createServer().listen(0, '127.0.0.1', () => {
    const p = (probe.address() as AddressInfo).port;
    probe.close(() => resolve(p));
  });
});
const mockArgv = [process.execPath, join(REPO_ROOT, 'bench', 'mock-upstream.mjs')];
if (process.env.MOCK_CPU) mockArgv.unshift('taskset', '-c', process.env.MOCK_CPU);
const mock = spawn(mockArgv[0]!, mockArgv.slice(1), { stdio: 'ignore', env: { ...process.env, PORT: String(mockPort) } });
for (let i = 0; i < 100; i++) {
  if (await fetch(`http://127.0.0.1:${mockPort}/stats`).then(() => true, () => false)) break;
  await sleep(100);
}
const jaeger = await startJaeger();
const dir = mkdtempSync(join(tmpdir(), 'jairouter-slow-'));
writeFileSync(join(dir, 'c.yaml'), oneRouteYaml([`http://127.0.0.1:${mockPort}/v1`], KEY));
const argv = [process.execPath, PROXY_BIN, '--config', join(dir, 'c.yaml'), '--listen', '127.0.0.1:0', '--admin-listen', '127.0.0.1:0'];
if (process.env.PROXY_CPU) argv.unshift('taskset', '-c', process.env.PROXY_CPU);
const proc = spawn(argv[0]!, argv.slice(1), {
  stdio: ['ignore', 'pipe', 'inherit'],
  env: {
    ...process.env, NODE_OPTIONS: process.env.PROXY_NODE_OPTIONS ?? '--max-semi-space-size=4',
    // Small, frequent exports: a batch of thousands of spans is encoded on the proxy's loop in one
    // go, a stall that would land in the very traces measured. SAMPLE (default 1) samples fewer.
    OTEL_EXPORTER_OTLP_ENDPOINT: jaeger.otlpHttpUrl, OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: process.env.SAMPLE ?? '1',
    OTEL_BSP_SCHEDULE_DELAY: '200', OTEL_BSP_MAX_QUEUE_SIZE: '20000', OTEL_SERVICE_NAME: 'slow-requests',
  },
});
const [api, admin] = await new Promise<[string, string]>((resolve) => {
  createInterface({ input: proc.stdout! }).on('line', (l) => {
    if (l.includes('"proxy listening"')) resolve([JSON.parse(l).listen as string, JSON.parse(l).admin as string]);
  });
});
/** The proxy's event-loop delay since the last scrape (prom-client resets it), and its GC time. */
const proxyLoop = async () => {
  const text = await (await fetch(`${admin}/metrics`)).text();
  const v = (name: string) => Number(new RegExp(`^jairouter_process_${name} (\\S+)`, 'm').exec(text)?.[1]);
  return `event-loop delay p99 ${(v('nodejs_eventloop_lag_p99_seconds') * 1000).toFixed(1)} ms, max ${(v('nodejs_eventloop_lag_max_seconds') * 1000).toFixed(1)} ms`;
};
const pool = new Pool(api, { connections: CONNS });
const body = JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }] });
const client: number[] = [];
const run = async (seconds: number, record: boolean) => {
  const until = performance.now() + seconds * 1000;
  await Promise.all(Array.from({ length: CONNS }, async () => {
    while (performance.now() < until) {
      const t0 = performance.now();
      const r = await pool.request({ method: 'POST', path: '/v1/chat/completions', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' }, body });
      await r.body.dump();
      if (record) client.push(performance.now() - t0);
      await sleep(PAUSE_MS);
    }
  }));
};
await run(3, false);
await proxyLoop();
const startedUs = Date.now() * 1000;
// Meanwhile a probe straight to the mock (one connection, 10 ms pause): when it sees the same
// spikes, they come from the mock's side (its core), not from the proxy.
const direct: number[] = [];
const mockPool = new Pool(`http://127.0.0.1:${mockPort}`, { connections: 1 });
let probing = true;
const probe = (async () => {
  while (probing) {
    const t0 = performance.now();
    const r = await mockPool.request({ method: 'POST', path: '/v1/chat/completions', headers: { 'content-type': 'application/json' }, body });
    await r.body.dump();
    direct.push(performance.now() - t0);
    await sleep(10);
  }
})();
await run(SECONDS, true);
probing = false;
await probe;
const loopDuring = await proxyLoop();
await mockPool.close();
await sleep(2000); // the batch exporter sends every 200 ms here

const res = await fetch(`${jaeger.queryUrl}/api/traces?service=slow-requests&limit=100000&start=${startedUs}`);
const traces = ((await res.json()) as { data: { spans: JaegerSpan[] }[] }).data;
interface Phases { total: number; [phase: string]: number }
const rows: Phases[] = [];
for (const t of traces) {
  const root = t.spans.find((s) => s.references.length === 0);
  if (!root) continue;
  const kids = t.spans.filter((s) => s !== root).sort((a, b) => a.startTime - b.startTime);
  const row: Phases = { total: root.duration / 1000 };
  let cursor = root.startTime;
  let i = 0;
  for (const k of kids) {
    const name = k.operationName.startsWith('chat') ? 'upstream attempt' : k.operationName;
    row[`gap ${i++} before ${name}`] = (k.startTime - cursor) / 1000;
    row[name] = (row[name] ?? 0) + k.duration / 1000;
    if (name === 'upstream attempt') {
      // The attempt's events (tracing.ts attemptEnded): a connection, then the response headers.
      const at = (e: string) => (k as JaegerSpan & { logs?: { timestamp: number; fields: { key: string; value: unknown }[] }[] }).logs
        ?.find((l) => l.fields.some((f) => f.key === 'event' && f.value === e))?.timestamp;
      const req = at('jairouter.upstream.request_start');
      const head = at('jairouter.upstream.response_start');
      if (req !== undefined && head !== undefined) {
        row['  attempt: waiting for a connection'] = (req - k.startTime) / 1000;
        row['  attempt: request sent -> response headers'] = (head - req) / 1000;
        row['  attempt: headers -> end (body, answer written)'] = (k.startTime + k.duration - head) / 1000;
      }
    }
    cursor = Math.max(cursor, k.startTime + k.duration);
  }
  row['after the last span'] = (root.startTime + root.duration - cursor) / 1000;
  rows.push(row);
}
rows.sort((a, b) => a.total - b.total);
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.max(0, Math.ceil((p / 100) * xs.length) - 1)] ?? NaN;
const mean = (rs: Phases[], k: string) => rs.reduce((s, r) => s + (r[k] ?? 0), 0) / rs.length;
const slow = rows.slice(Math.floor(rows.length * 0.99));
const mid = rows.slice(Math.floor(rows.length * 0.45), Math.ceil(rows.length * 0.55));
const keys = [...new Set(rows.flatMap((r) => Object.keys(r)))].filter((k) => k !== 'total');
console.log(`${client.length} requests in ${SECONDS} s (${CONNS} connections, ${PAUSE_MS} ms pause): client latency p50 ${pct(client, 50).toFixed(2)} ms, p99 ${pct(client, 99).toFixed(2)} ms, p99.9 ${pct(client, 99.9).toFixed(2)} ms; ${rows.length} traces, the proxy's server span p50 ${pct(rows.map((r) => r.total), 50).toFixed(2)} ms, p99 ${pct(rows.map((r) => r.total), 99).toFixed(2)} ms`);
console.log(`the proxy's ${loopDuring}`);
console.log(`probe straight to the mock meanwhile: ${direct.length} requests, p50 ${pct(direct, 50).toFixed(2)} ms, p99 ${pct(direct, 99).toFixed(2)} ms, p99.9 ${pct(direct, 99.9).toFixed(2)} ms, max ${Math.max(...direct).toFixed(1)} ms`);
console.log(`| phase | median requests (${mid.length}), mean ms | slowest 1 % (${slow.length}), mean ms |`);
console.log('|---|---|---|');
console.log(`| server span, whole | ${mean(mid, 'total').toFixed(3)} | ${mean(slow, 'total').toFixed(3)} |`);
for (const k of keys) console.log(`| ${k} | ${mean(mid, k).toFixed(3)} | ${mean(slow, k).toFixed(3)} |`);
// The five slowest, span by span (offset from the server span's start, duration, the tags that say what happened).
const byTotal = traces
  .map((t) => ({ t, root: t.spans.find((x) => x.references.length === 0) }))
  .filter((x) => x.root)
  .sort((a, b) => b.root!.duration - a.root!.duration)
  .slice(0, 5);
for (const { t, root } of byTotal) {
  console.log(`trace ${t.traceID}: ${(root!.duration / 1000).toFixed(2)} ms`);
  for (const sp of [...t.spans].sort((a, b) => a.startTime - b.startTime)) {
    const tags = sp.tags.filter((g) => !/^(otel\.|span\.kind|internal)/.test(g.key)).map((g) => `${g.key}=${String(g.value)}`).join(' ');
    console.log(`  +${((sp.startTime - root!.startTime) / 1000).toFixed(2)} ms ${sp.operationName} ${(sp.duration / 1000).toFixed(2)} ms ${tags.slice(0, 300)}`);
  }
}
await pool.close();
proc.kill('SIGTERM');
await new Promise((r) => proc.once('exit', r));
await jaeger.stop();
mock.kill();
