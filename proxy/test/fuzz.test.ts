// Adversarial requests against the proxy binary over real sockets, generated from a seed
// (FUZZ_SEED, default 1) so a failure replays: malformed JSON, wrong types in every field, deep
// and huge bodies, invalid UTF-8, header injection, broken HTTP and request-smuggling shapes.
// Whatever comes, the proxy answers without a 5xx of its own, never crashes, and its memory
// comes back. `make test` runs FUZZ_REQUESTS=1500; `make fuzz` runs 100,000 and prints figures.
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeOpenAI, type FakeBackend } from '@jairouter/testkit/fake-openai';
import { modelRoute, tenantWithKeys, toYaml } from './config.ts';
import { PROXY_BIN, startProxy, type ProxyHandle } from './harness.ts';

const KEY = 'sk-fuzz-tenant-0000001';
const SEED = Number(process.env['FUZZ_SEED'] ?? 1);
const N = Number(process.env['FUZZ_REQUESTS'] ?? 1500);
let backend: FakeBackend;
let proxy: ProxyHandle;
let port = 0;

beforeAll(async () => {
  backend = await startFakeOpenAI({ name: 'fuzzed' });
  proxy = await startProxy({
    configs: toYaml(modelRoute('chat', { models: ['chat', 'gpt-4o-mini'], backends: [{ name: 'fuzzed', url: backend.url }] }), tenantWithKeys('fuzz', { k: KEY })),
    args: ['--max-body-size', '1MiB'],
    // A small old space: whatever V8 would otherwise let grow lazily must be collected, so a leak
    // shows up as a crash (out of memory) instead of hiding in a large heap.
    launch: (proxyArgs) => ({ command: process.execPath, args: ['--max-old-space-size=64', PROXY_BIN, ...proxyArgs] }),
  });
  port = Number(new URL(proxy.baseUrl).port);
});
afterAll(async () => {
  await proxy?.stop();
  await backend?.close();
});

/** Sends raw bytes on a fresh connection; the status of the first response ('' when none came before the close). */
function raw(bytes: Buffer): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    let got = '';
    const done = () => {
      s.destroy();
      resolve(/^HTTP\/1\.1 (\d{3})/.exec(got)?.[1] ?? '');
    };
    s.setTimeout(5000, done);
    s.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      if (/\r\n\r\n/.test(got)) done();
    });
    s.on('error', done);
    s.on('close', done);
    s.end(bytes);
  });
}

const json = fc.jsonValue({ maxDepth: 6 });
const field = fc.oneof(json, fc.string(), fc.integer(), fc.constant(null), fc.array(json, { maxLength: 5 }));
/** A request body: mostly chat-shaped, every field possibly of the wrong type. */
const body = fc.oneof(
  fc.record({ model: fc.oneof(fc.constant('chat'), field), messages: fc.oneof(fc.array(fc.record({ role: field, content: field }), { maxLength: 4 }), field), stream: fc.oneof(fc.boolean(), field), max_tokens: field, tools: field }, { requiredKeys: [] }).map((o) => JSON.stringify(o)),
  json.map((v) => JSON.stringify(v)),
  fc.string({ maxLength: 200 }),
  fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b).toString('latin1')),
  fc.integer({ min: 70, max: 300 }).map((d) => '['.repeat(d) + ']'.repeat(d)),
  fc.constant('{"model":"chat","messages":[{"role":"user","content":"\uD800"}]}'),
);
const path = fc.constantFrom('/v1/chat/completions', '/v1/embeddings', '/v1/completions', '/v1/messages', '/v1/messages/count_tokens', '/v1/models', '/v1/models/chat', '/../etc/passwd', '/v1/chat/completions?x=%ff', '/' + 'a'.repeat(3000));
const method = fc.constantFrom('POST', 'GET', 'PUT', 'DELETE', 'OPTIONS', 'PATCH');
const auth = fc.constantFrom(`Bearer ${KEY}`, 'Bearer ', 'Basic abc', `Bearer ${KEY}\r\nX-Injected: 1`, 'Bearer eyJhbGciOiJub25lIn0.e30.', '');

/** One whole HTTP/1.1 request, sometimes broken on purpose. */
const request = fc.tuple(method, path, auth, body, fc.nat({ max: 9 })).map(([m, p, a, b, shape]) => {
  const payload = Buffer.from(b, 'latin1');
  const head = [`${m} ${p} HTTP/1.1`, 'Host: proxy', 'Connection: close'];
  if (a) head.push(`Authorization: ${a}`);
  switch (shape) {
    case 0: // Content-Length and Transfer-Encoding at once (smuggling)
      head.push(`Content-Length: ${payload.length}`, 'Transfer-Encoding: chunked');
      return Buffer.concat([Buffer.from(head.join('\r\n') + '\r\n\r\n'), payload]);
    case 1: // a Content-Length that lies (longer than the body)
      head.push(`Content-Length: ${payload.length + 50}`);
      return Buffer.concat([Buffer.from(head.join('\r\n') + '\r\n\r\n'), payload]);
    case 2: // chunked, with a chunk size that lies
      head.push('Transfer-Encoding: chunked');
      return Buffer.from(head.join('\r\n') + `\r\n\r\n${(payload.length + 7).toString(16)}\r\n${b}\r\n0\r\n\r\n`, 'latin1');
    case 3: // not HTTP at all
      return Buffer.concat([Buffer.from('GARBAGE \x00\x01\r\n'), payload]);
    case 4: // a header line without a colon, and a bare LF
      head.push('Broken header line', 'Content-Type: application/json\nX-Split: 1');
      return Buffer.concat([Buffer.from(head.join('\r\n') + '\r\n\r\n'), payload]);
    default:
      head.push('Content-Type: application/json', `Content-Length: ${payload.length}`);
      return Buffer.concat([Buffer.from(head.join('\r\n') + '\r\n\r\n'), payload]);
  }
});

/** The proxy process's resident memory, from /proc. */
function rss(): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${proxy.proc.pid}/status`, 'utf8'));
  if (!m) throw new Error('no VmRSS for the proxy process');
  return Number(m[1]) * 1024;
}

describe(`fuzz (seed ${SEED}, ${N} requests)`, () => {
  it('no 5xx of the proxy\'s own, no crash, every answer a well-formed status line or a closed connection, memory back to its level', async () => {
    const samples = fc.sample(request, { seed: SEED, numRuns: N });
    // Warm up to the steady state first: the baseline is a proxy that has served traffic.
    for (const r of samples.slice(0, 200)) await raw(r);
    const before = rss();
    const statuses = new Map<string, number>();
    const started = Date.now();
    for (let i = 0; i < samples.length; i += 20) {
      const batch = await Promise.all(samples.slice(i, i + 20).map((r) => raw(r)));
      for (const s of batch) statuses.set(s, (statuses.get(s) ?? 0) + 1);
      if (process.env['FUZZ_REPORT'] && (i + 20) % 10_000 === 0) console.log(`after ${i + 20}: rss ${Math.round(rss() / 2 ** 20)} MB`);
    }
    const seconds = (Date.now() - started) / 1000;
    const after = rss();
    // The backend is healthy and quick: a 5xx could only be the proxy's own failure.
    const fivexx = [...statuses].filter(([s]) => s.startsWith('5'));
    expect(fivexx, JSON.stringify([...statuses])).toEqual([]);
    expect(proxy.proc.exitCode).toBeNull();
    expect(proxy.logs.filter((l) => String(l.level) === 'error' || /unhandled/i.test(String(l.msg)))).toEqual([]);
    // Memory: within 40 MB of the warmed-up level (V8 keeps some heap; a leak grows with N).
    expect(before).toBeGreaterThan(10 * 1024 * 1024);
    expect(after - before).toBeLessThan(40 * 1024 * 1024);
    // The proxy still answers a real client properly: served, or (this address sent thousands of
    // bad credentials) locked out by the failed-authentication throttle, which is its job.
    const after2 = await fetch(`${proxy.baseUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'chat', messages: [{ role: 'user', content: 'still there?' }] }),
    });
    const answer = (await after2.json()) as { choices?: unknown[]; error?: { code: string } };
    if (after2.status === 429) expect(answer.error!.code).toBe('too_many_authentication_failures');
    else expect([after2.status, answer.choices?.length]).toEqual([200, 1]);
    if (process.env['FUZZ_REPORT']) {
      console.log(JSON.stringify({ seed: SEED, requests: N, seconds, perSecond: Math.round(N / seconds), statuses: Object.fromEntries(statuses), rssBeforeMB: before / 2 ** 20, rssAfterMB: after / 2 ** 20 }));
    }
  }, 600_000);
});
