// Memory per connection (issue 14): the proxy binary (with the image's NODE_OPTIONS) holding
// 10,000 idle keep-alive client connections, then 1,000 concurrent slow streams (one event a
// second from the upstream). Prints RSS and the cost per connection. Not a test:
// `node proxy/scripts/connections.ts [idle] [streams]`.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { PROXY_BIN } from '../test/harness.ts';
import { oneRouteYaml } from './large-config.ts';

const IDLE = Number(process.argv[2] ?? 10_000);
const STREAMS = Number(process.argv[3] ?? 1_000);
const KEY = 'sk-conn-00000000000000000000';
const rss = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// The upstream: JSON at once; a stream sends one event a second until it is told to stop.
let streaming = true;
const upstream = () => createServer((req, res) => {
  let body = '';
  req.on('data', (c: Buffer) => (body += c));
  req.on('end', () => {
    if (!body.includes('"stream":true')) {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"id":"x","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const timer = setInterval(() => {
      if (!streaming) {
        clearInterval(timer);
        res.end('data: [DONE]\n\n');
        return;
      }
      res.write('data: {"id":"x","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"t "},"finish_reason":null}]}\n\n');
    }, 1000);
    res.on('close', () => clearInterval(timer));
  });
});
// Four upstream servers: the proxy opens at most 256 connections to one origin by default
// (--upstream-max-connections) and queues what is beyond; 1,000 streams need four origins to all
// be running.
const ups = [upstream(), upstream(), upstream(), upstream()];
const ports = await Promise.all(ups.map((u) => new Promise<number>((r) => u.listen(0, '127.0.0.1', () => r((u.address() as AddressInfo).port)))));
const dir = mkdtempSync(join(tmpdir(), 'jairouter-conn-'));
writeFileSync(join(dir, 'c.yaml'), oneRouteYaml(ports.map((p) => `http://127.0.0.1:${p}/v1`), KEY));
const proc = spawn(process.execPath, [PROXY_BIN, '--config', join(dir, 'c.yaml'), '--listen', '127.0.0.1:0', '--admin-listen', '127.0.0.1:0'], {
  stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, NODE_OPTIONS: process.env.PROXY_NODE_OPTIONS ?? '--max-semi-space-size=4' },
});
const port = await new Promise<number>((resolve) => {
  createInterface({ input: proc.stdout! }).on('line', (l) => {
    if (l.includes('"proxy listening"')) resolve(Number(new URL(JSON.parse(l).listen as string).port));
  });
  // The request log goes on being read (and dropped) from the pipe.
});
const request = (stream: boolean) => {
  const body = JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }], ...(stream && { stream: true }) });
  return `POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer ${KEY}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
};
/** A connection that sends one request and waits until its answer (or, streamed, its first event) arrived. */
const open = (stream: boolean) =>
  new Promise<Socket>((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => s.write(request(stream)));
    let got = '';
    const onData = (c: Buffer) => {
      got += c.toString();
      if (stream ? got.includes('data: ') : got.includes('"finish_reason":"stop"')) {
        s.off('data', onData);
        s.on('data', () => {});
        resolve(s);
      }
    };
    s.on('data', onData);
    s.on('error', reject);
  });
const batch = async (n: number, stream: boolean) => {
  const out: Socket[] = [];
  for (let i = 0; i < n; i += 200) out.push(...(await Promise.all(Array.from({ length: Math.min(200, n - i) }, () => open(stream)))));
  return out;
};

await batch(50, false).then((s) => s.forEach((x) => x.destroy()));
await sleep(2000);
const idle0 = rss(proc.pid!);
console.log(`proxy NODE_OPTIONS ${JSON.stringify(process.env.PROXY_NODE_OPTIONS ?? '--max-semi-space-size=4')}; RSS after start and 50 requests: ${idle0.toFixed(1)} MB`);
const idle = await batch(IDLE, false);
await sleep(3000);
const withIdle = rss(proc.pid!);
console.log(`${IDLE} idle keep-alive connections (each after one request): RSS ${withIdle.toFixed(1)} MB, ${(((withIdle - idle0) * 1024) / IDLE).toFixed(1)} KB per connection`);
const streams = await batch(STREAMS, true);
await sleep(3000);
const withStreams = rss(proc.pid!);
console.log(`+ ${STREAMS} concurrent slow streams (an event a second): RSS ${withStreams.toFixed(1)} MB, ${(((withStreams - withIdle) * 1024) / STREAMS).toFixed(1)} KB per stream (its client and upstream connections); total ${withStreams <= 300 ? 'within' : 'over'} 300 MB`);
streaming = false;
for (const s of [...idle, ...streams]) s.destroy();
proc.kill('SIGTERM');
for (const u of ups) {
  u.closeAllConnections();
  u.close();
}
await new Promise((r) => proc.once('exit', r));
