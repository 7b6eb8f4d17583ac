// What response masking (Tenant.spec.masking.responses) adds to a stream's time to first token,
// measured end to end: a streaming upstream that writes one ~4-character delta every INTERVAL_MS
// (an LLM's token rate), the proxy binary in front of it, and one tenant per masking set. For
// each tenant, REQUESTS sequential streams; time to first byte, to the first non-empty content
// delta (TTFT), and to the last. `make bench-masking`; a benchmark, not a test.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

const REQUESTS = Number(process.env.REQUESTS ?? 30);
const INTERVAL_MS = Number(process.env.INTERVAL_MS ?? 20);
const ROOT = new URL('..', import.meta.url).pathname;

const TEXTS = {
  // Ordinary prose: what most answers are.
  prose: 'The quarterly report shows steady growth across all regions, with the strongest results in the north. ' +
    'Revenue rose eight percent while costs stayed flat, and the team expects similar figures next quarter.',
  // An answer that opens with an email address: the first word is a match in progress.
  'email first': 'jane.doe@example.com is the contact for this account; write to her for any question about billing or access.',
  // The worst case: a long run of characters every detector's alphabet admits (a token-like id).
  'long token first': 'Q29uZ3JhdHVsYXRpb25zX3lvdV9mb3VuZF90aGVfZWFzdGVyX2VnZ19xdWl0ZV9sb25nX2luZGVlZA is the id; the rest is prose as usual.',
};

const TENANTS = {
  none: null,
  'all five built-ins': ['email', 'phone', 'cn-id', 'credit-card', 'api-key'],
  'credit-card, phone': ['credit-card', 'phone'],
  'custom TCK-[0-9]{6}': [{ name: 'ticket', regex: 'TCK-[0-9]{6}' }],
};

function pieces(text) {
  return text.match(/.{1,4}/gs);
}

/** An OpenAI-compatible upstream streaming the text named by the request's last message. */
function upstream() {
  return new Promise((resolve) => {
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        const msg = JSON.parse(body).messages.at(-1).content;
        const deltas = pieces(TEXTS[msg]);
        const base = { id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm' };
        const chunk = (delta, finish = null) => `data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write(chunk({ role: 'assistant', content: '' }));
        let i = 0;
        const tick = () => {
          if (i < deltas.length) {
            res.write(chunk({ content: deltas[i++] }));
            setTimeout(tick, INTERVAL_MS);
          } else {
            res.end(chunk({}, 'stop') + 'data: [DONE]\n\n');
          }
        };
        setTimeout(tick, INTERVAL_MS);
      });
    });
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

function config(port) {
  const docs = [
    `apiVersion: v1\nkind: Secret\nmetadata: {name: up, namespace: bench}\nstringData: {apiKey: sk-upstream}`,
    `apiVersion: jairouter.io/v1alpha1\nkind: ModelRoute\nmetadata: {name: m, namespace: bench}\nspec:\n  models: [m]\n  backends: [{name: up, adapter: openai, url: "http://127.0.0.1:${port}/v1", credentialsRef: {name: up, key: apiKey}}]`,
  ];
  Object.entries(TENANTS).forEach(([, rules], i) => {
    docs.push(`apiVersion: v1\nkind: Secret\nmetadata: {name: k${i}, namespace: bench}\nstringData: {k: sk-bench-tenant-${i}}`);
    const masking = rules ? `\n  masking: {responses: ${JSON.stringify(rules)}}` : '';
    docs.push(`apiVersion: jairouter.io/v1alpha1\nkind: Tenant\nmetadata: {name: t${i}, namespace: bench}\nspec:\n  apiKeys: {secretRefs: [{name: k${i}}]}${masking}`);
  });
  return docs.join('\n---\n') + '\n';
}

async function startProxy(configFile) {
  const child = spawn(process.execPath, [join(ROOT, 'proxy/bin/jairouter-proxy.js'), '--config', configFile, '--listen', '127.0.0.1:9471', '--admin-listen', '127.0.0.1:9472', '--log-level', 'warn'], { stdio: ['ignore', 'ignore', 'inherit'] });
  for (let i = 0; i < 200; i++) {
    try {
      if ((await fetch('http://127.0.0.1:9472/readyz')).ok) return child;
    } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill();
  throw new Error('the proxy did not become ready');
}

async function one(key, text) {
  const t0 = performance.now();
  const res = await fetch('http://127.0.0.1:9471/v1/chat/completions', {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'm', stream: true, messages: [{ role: 'user', content: text }] }),
  });
  if (!res.ok) throw new Error(`status ${res.status}: ${await res.text()}`);
  let ttfb = 0;
  let ttft = 0;
  let firstText = '';
  let all = '';
  let buf = '';
  const dec = new TextDecoder();
  for await (const chunk of res.body) {
    if (ttfb === 0) ttfb = performance.now() - t0;
    buf += dec.decode(chunk, { stream: true });
    let i;
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const ev = buf.slice(0, i);
      buf = buf.slice(i + 2);
      const data = ev.slice(6);
      if (data === '[DONE]') continue;
      const c = JSON.parse(data).choices[0]?.delta?.content ?? '';
      if (c && ttft === 0) {
        ttft = performance.now() - t0;
        firstText = c;
      }
      all += c;
    }
  }
  return { ttfb, ttft, total: performance.now() - t0, firstText, all };
}

const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))];
const ms = (x) => x.toFixed(1);

const server = await upstream();
const dir = mkdtempSync(join(tmpdir(), 'jairouter-mask-ttft-'));
const file = join(dir, 'config.yaml');
writeFileSync(file, config(server.address().port));
const proxy = await startProxy(file);
try {
  console.log(`response masking and time to first token: ${REQUESTS} streams per row, one ~4-char delta every ${INTERVAL_MS} ms`);
  console.log('| text | masking.responses | TTFT p50 ms | TTFT p95 ms | added p50 ms | first text the client saw | last byte p50 ms |');
  console.log('|---|---|---|---|---|---|---|');
  for (const text of Object.keys(TEXTS)) {
    let base = 0;
    const names = Object.keys(TENANTS);
    for (let i = 0; i < names.length; i++) {
      for (let w = 0; w < 3; w++) await one(`sk-bench-tenant-${i}`, text); // warm-up
      const rs = [];
      for (let r = 0; r < REQUESTS; r++) rs.push(await one(`sk-bench-tenant-${i}`, text));
      const ttft = rs.map((r) => r.ttft);
      const p50 = pct(ttft, 0.5);
      if (i === 0) base = p50;
      console.log(`| ${text} | ${names[i]} | ${ms(p50)} | ${ms(pct(ttft, 0.95))} | ${i === 0 ? '' : ms(p50 - base)} | ${JSON.stringify(rs[0].firstText)} | ${ms(pct(rs.map((r) => r.total), 0.5))} |`);
    }
  }
} finally {
  proxy.kill();
  server.close();
}
