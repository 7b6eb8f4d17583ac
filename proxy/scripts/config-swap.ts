// A config swap under load (issue 14): the proxy binary serves a large standalone config (1,000
// routes, 10,000 API keys by default, plus the route and key the load uses) at a steady rate,
// open loop (latency counted from when each request was due, so a stalled proxy cannot hide it).
// First a phase without changes, then the same length with the config file rewritten every few
// seconds (one route's models change: a full reload each time). Prints failures and latency
// percentiles of both phases, and of the second around each reload. Not a test:
// `node proxy/scripts/config-swap.ts [rate/s] [seconds per phase] [routes] [keys] [seconds between swaps]`.
import { spawn } from 'node:child_process';
import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { Pool } from 'undici';
import { PROXY_BIN } from '../test/harness.ts';
import { largeConfigDocs, toYamlStream } from './large-config.ts';

const RATE = Number(process.argv[2] ?? 500);
const PHASE_S = Number(process.argv[3] ?? 20);
const ROUTES = Number(process.argv[4] ?? 1000);
const KEYS = Number(process.argv[5] ?? 10_000);
const EVERY_S = Number(process.argv[6] ?? 4);
const KEY = 'sk-swap-load-0000000000000000';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const upstream = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"id":"x","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}');
  });
});
await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
const upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/v1`;

const dir = mkdtempSync(join(tmpdir(), 'jairouter-swap-'));
const file = join(dir, 'config.yaml');
const base = largeConfigDocs(ROUTES, KEYS);
const own = [
  { apiVersion: 'jairouter.io/v1alpha1', kind: 'ModelRoute', metadata: { name: 'load', namespace: 'ai' }, spec: { models: ['load'], backends: [{ name: 'up', adapter: 'openai', url: upstreamUrl }] } },
  { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'load-keys', namespace: 'ai' }, stringData: { k: KEY } },
  { apiVersion: 'jairouter.io/v1alpha1', kind: 'Tenant', metadata: { name: 'load', namespace: 'ai' }, spec: { apiKeys: { secretRefs: [{ name: 'load-keys' }] } } },
];
/** The config with route-0 serving one more model name per generation. Made before the load
 * starts: producing 1 MB of YAML takes this process's event loop for half a second, which would
 * delay the requests it is due to send and count against the proxy. */
const texts = Array.from({ length: Math.ceil(PHASE_S / EVERY_S) + 1 }, (_, generation) => {
  const docs = structuredClone(base);
  ((docs[1]!['spec'] as { models: string[] }).models).push(`swap-${generation}`);
  return toYamlStream([...docs, ...own]);
});
/** Written atomically, as a ConfigMap mount or an editor's rename does. */
const write = (generation: number) => {
  writeFileSync(`${file}.tmp`, texts[generation]!);
  renameSync(`${file}.tmp`, file);
};
write(0);

// PROXY_CPU=1 pins the proxy (and so its compile child) to that core, as bench/run.sh does; the
// caller pins this script elsewhere (taskset -c 0 node proxy/scripts/config-swap.ts).
const proxyArgv = [process.execPath, PROXY_BIN, '--config', file, '--listen', '127.0.0.1:0', '--admin-listen', '127.0.0.1:0'];
if (process.env.PROXY_NODE_ARGS) proxyArgv.splice(1, 0, ...process.env.PROXY_NODE_ARGS.split(' ').filter(Boolean));
if (process.env.PROXY_CPU) proxyArgv.unshift('taskset', '-c', process.env.PROXY_CPU);
const proc = spawn(proxyArgv[0]!, proxyArgv.slice(1), {
  stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, NODE_OPTIONS: process.env.PROXY_NODE_OPTIONS ?? '--max-semi-space-size=4' },
});
const applied: number[] = [];
const { api, admin } = await new Promise<{ api: string; admin: string }>((resolve) => {
  createInterface({ input: proc.stdout! }).on('line', (l) => {
    if (l.includes('"proxy listening"')) resolve({ api: JSON.parse(l).listen as string, admin: JSON.parse(l).admin as string });
    if (l.includes('"config applied"')) applied.push(performance.now());
    // With PROXY_NODE_OPTIONS="... --trace-gc": the pauses over 10 ms, as they happen.
    if (l.startsWith('[') && /Mark-Compact|Scavenge/.test(l)) {
      const pause = Number(/, ([\d.]+) \/ [\d.]+ ms/.exec(l)?.[1]);
      if (pause > 10) console.log(`gc pause ${pause} ms: ${l.slice(l.indexOf(']') + 1, l.indexOf(']') + 110).trim()}`);
    }
  });
});
const pool = new Pool(api, { connections: 64, keepAliveTimeout: 30_000 });
const body = JSON.stringify({ model: 'load', messages: [{ role: 'user', content: 'hi' }] });

interface Sample { due: number; ms: number; ok: boolean }
async function phase(seconds: number, onTick?: (elapsedS: number) => void): Promise<Sample[]> {
  const samples: Sample[] = [];
  const pending: Promise<void>[] = [];
  const t0 = performance.now();
  let sent = 0;
  const total = RATE * seconds;
  let lastWhole = -1;
  while (sent < total) {
    const now = performance.now();
    const whole = Math.floor((now - t0) / 1000);
    if (whole !== lastWhole) {
      lastWhole = whole;
      onTick?.(whole);
    }
    const due = Math.min(total, Math.floor(((now - t0) / 1000) * RATE));
    for (; sent < due; sent++) {
      const dueAt = t0 + (sent * 1000) / RATE;
      pending.push(
        pool.request({ method: 'POST', path: '/v1/chat/completions', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' }, body })
          .then(async (r) => {
            await r.body.dump();
            samples.push({ due: dueAt, ms: performance.now() - dueAt, ok: r.statusCode === 200 });
          }, () => void samples.push({ due: dueAt, ms: performance.now() - dueAt, ok: false })),
      );
    }
    await sleep(1);
  }
  await Promise.all(pending);
  return samples;
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.max(0, Math.ceil((p / 100) * s.length) - 1)] ?? NaN;
};
const line = (name: string, xs: Sample[]) => {
  const ms = xs.map((x) => x.ms);
  return `${name}: ${xs.length} requests, ${xs.filter((x) => !x.ok).length} failed; p50 ${pct(ms, 50).toFixed(2)} ms, p99 ${pct(ms, 99).toFixed(2)} ms, p99.9 ${pct(ms, 99.9).toFixed(2)} ms, max ${Math.max(...ms).toFixed(1)} ms`;
};

/** The proxy's event-loop delay since the last call (prom-client resets it on each scrape), in ms. */
const loopDelay = async () => {
  const text = await (await fetch(`${admin}/metrics`)).text();
  const v = (name: string) => Number(new RegExp(`^jairouter_process_nodejs_eventloop_lag_${name}_seconds (\\S+)`, 'm').exec(text)?.[1]) * 1000;
  return `event-loop delay p99 ${v('p99').toFixed(1)} ms, max ${v('max').toFixed(1)} ms`;
};

// This process's own event-loop delay: a late load generator sends late, which counts as latency
// here. On a small box the compile child can slow the generator as much as the proxy.
const genLoop = monitorEventLoopDelay({ resolution: 1 });
genLoop.enable();
const ownDelay = () => {
  const r = `generator's own loop delay p99 ${(genLoop.percentile(99) / 1e6).toFixed(1)} ms, max ${(genLoop.max / 1e6).toFixed(1)} ms`;
  genLoop.reset();
  return r;
};

await phase(3); // warm-up
await loopDelay();
ownDelay();
const quiet = await phase(PHASE_S);
const quietLoop = `${await loopDelay()}; the ${ownDelay()}`;
const appliedBefore = applied.length;
let generation = 0;
const swapping = await phase(PHASE_S, (s) => {
  if (s > 0 && s % EVERY_S === 0) write(++generation);
});
const swappingLoop = `${await loopDelay()}; the ${ownDelay()}`;
await sleep(3000);
const applies = applied.slice(appliedBefore);
console.log(`${ROUTES} routes, ${KEYS} API keys; ${RATE} req/s open loop, ${PHASE_S} s per phase; ${generation} rewrites of the config file, ${applies.length} applied`);
console.log(`${line('no change', quiet)}; the proxy's ${quietLoop}`);
console.log(`${line(`a reload every ${EVERY_S} s`, swapping)}; the proxy's ${swappingLoop}`);
// The requests due within 1 s after each apply was logged (the log line comes after the swap).
const near = swapping.filter((x) => applies.some((a) => x.due >= a - 1000 && x.due <= a + 200));
console.log(line('due in the second before each apply', near));
// Where around the applies the slow requests are: p99 by when they were due, relative to the apply.
const offsets: string[] = [];
for (let from = -3000; from < 1000; from += 500) {
  const xs = swapping.filter((x) => applies.some((a) => x.due - a >= from && x.due - a < from + 500));
  if (xs.length) offsets.push(`${from / 1000}..${(from + 500) / 1000} s: ${pct(xs.map((x) => x.ms), 99).toFixed(1)}`);
}
console.log(`p99 ms by when a request was due relative to the nearest apply: ${offsets.join('; ')}`);
const q99 = pct(quiet.map((x) => x.ms), 99);
console.log(`p99 with reloads / without: ${(pct(swapping.map((x) => x.ms), 99) / q99).toFixed(2)}x; p99 of the second before each apply / without: ${(pct(near.map((x) => x.ms), 99) / q99).toFixed(2)}x`);
await pool.close();
proc.kill('SIGTERM');
await new Promise((r) => proc.once('exit', r));
upstream.close();
