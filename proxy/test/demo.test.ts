// What `make demo` runs: two jairouter-demo-backend processes and the proxy on
// examples/quickstart.yaml (its backend URLs pointed at ephemeral ports), driven the way
// the demo's instructions say; then scripts/demo.sh itself: a taken port, and the commands
// its banner prints, run from another directory.
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_BACKEND_BIN as DEMO_BIN } from '@jairouter/testkit/demo-backend';
import { chatReply } from '@jairouter/testkit/fake-openai';
import { REPO_ROOT, startProxy } from './harness.ts';
import type { ProxyHandle } from './harness.ts';

const DEMO_KEY = 'sk-demo-jairouter';

interface DemoBackend {
  proc: ChildProcess;
  url: string;
}

function startDemoBackend(name: string): Promise<DemoBackend> {
  const proc = spawn(process.execPath, [DEMO_BIN, '--port', '0', '--name', name], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`demo backend ${name} did not start: ${err}`)), 15_000);
    proc.once('exit', (code) => reject(new Error(`demo backend ${name} exited with ${code}: ${err}`)));
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      const l = JSON.parse(line) as { msg?: string; url?: string };
      if (l.msg === 'demo backend listening' && l.url) {
        clearTimeout(timer);
        resolve({ proc, url: l.url });
      }
    });
  });
}

let a: DemoBackend;
let b: DemoBackend;
let proxy: ProxyHandle;

beforeAll(async () => {
  [a, b] = await Promise.all([startDemoBackend('backend-a'), startDemoBackend('backend-b')]);
  const yaml = readFileSync(join(REPO_ROOT, 'examples', 'quickstart.yaml'), 'utf8')
    .replaceAll('http://127.0.0.1:18001/v1', a.url)
    .replaceAll('http://127.0.0.1:18002/v1', b.url);
  expect(yaml).not.toMatch(/url: .*:1800[12]\b/);
  proxy = await startProxy({ configs: yaml });
});

afterAll(async () => {
  await proxy?.stop();
  for (const d of [a, b]) d?.proc.kill('SIGTERM');
});

describe('make demo', () => {
  it('the demo chat model is served round robin by both demo backends', async () => {
    const client = proxy.client(DEMO_KEY);
    const seen = new Set<string>();
    for (let i = 0; i < 4; i++) {
      const messages = [{ role: 'user' as const, content: 'Hello!' }];
      const { data, response } = await client.chat.completions.create({ model: 'demo-chat', messages }).withResponse();
      const backend = response.headers.get('x-jairouter-backend')!;
      seen.add(backend);
      expect(data.choices[0]?.message.content).toBe(chatReply(backend, messages));
      expect(data.model).toBe('demo-model');
    }
    expect([...seen].sort()).toEqual(['backend-a', 'backend-b']);
  });

  it('streams, embeds and lists models as the demo instructions show', async () => {
    const client = proxy.client(DEMO_KEY);
    const stream = await client.chat.completions.create({
      model: 'demo-chat',
      stream: true,
      messages: [{ role: 'user', content: 'Stream me a greeting' }],
    });
    let text = '';
    for await (const c of stream) text += c.choices[0]?.delta.content ?? '';
    expect(text).toMatch(/^Hello from backend-[ab]: you said "Stream me a greeting"$/);

    const e = await client.embeddings.create({ model: 'demo-embed', input: 'hi' });
    expect(e.data[0]?.embedding.length).toBeGreaterThan(0);

    const ids: string[] = [];
    for await (const m of client.models.list()) ids.push(m.id);
    expect(ids.sort()).toEqual(['demo-chat', 'demo-embed', 'gpt-4o-mini']);

    const metrics = await (await fetch(`${proxy.adminUrl}/metrics`)).text();
    expect(metrics).toMatch(/^jairouter_requests_total\{/m);
  });

  it('the demo backend stops on SIGTERM', async () => {
    const d = await startDemoBackend('short-lived');
    const exited = new Promise<number | null>((r) => d.proc.once('exit', (code) => r(code)));
    d.proc.kill('SIGTERM');
    expect(await exited).toBe(0);
    const err = await fetch(`${d.url}/models`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
  });
});

const DEMO_SH = join(REPO_ROOT, 'scripts', 'demo.sh');
const PORT_VARS = ['PORT', 'ADMIN_PORT', 'BACKEND_A_PORT', 'BACKEND_B_PORT'] as const;
type DemoPorts = Record<(typeof PORT_VARS)[number], number>;

function listenOn(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(port, '127.0.0.1', () => resolve(srv));
  });
}

const close = (srv: Server) => new Promise<void>((r) => srv.close(() => r()));

/** Distinct loopback ports, free a moment ago (all held open together, so none repeats). */
async function freePorts(): Promise<DemoPorts> {
  const held = await Promise.all(PORT_VARS.map(() => listenOn(0)));
  const ports = Object.fromEntries(PORT_VARS.map((v, i) => [v, (held[i]!.address() as AddressInfo).port])) as DemoPorts;
  await Promise.all(held.map(close));
  return ports;
}

async function isFree(port: number): Promise<boolean> {
  const srv = await listenOn(port).catch(() => undefined);
  if (srv) await close(srv);
  return srv !== undefined;
}

function demoEnv(ports: DemoPorts): NodeJS.ProcessEnv {
  return { ...process.env, ...Object.fromEntries(PORT_VARS.map((v) => [v, String(ports[v])])) };
}

describe('scripts/demo.sh (make demo)', () => {
  for (const taken of PORT_VARS) {
    it(`a taken ${taken}: exits non-zero before the banner, naming the port and the variables that move it`, async () => {
      const ports = await freePorts();
      const squatter = await listenOn(ports[taken]);
      try {
        const r = spawnSync('bash', [DEMO_SH], { env: demoEnv(ports), encoding: 'utf8', timeout: 20_000 });
        expect(r.status, r.stderr).toBe(1);
        expect(r.stdout).not.toContain('JAiRouter demo');
        expect(r.stderr).toContain(`port ${ports[taken]} (${taken}, `);
        expect(r.stderr).toContain('already in use');
        for (const v of PORT_VARS) expect(r.stderr).toContain(v);
        // Nothing was started: the other ports are still free.
        for (const v of PORT_VARS) if (v !== taken) expect(await isFree(ports[v]), v).toBe(true);
      } finally {
        await close(squatter);
      }
    });
  }

  it('the curl and SDK commands of the banner work when pasted in another directory; Ctrl-C stops everything', async () => {
    const ports = await freePorts();
    const demo = spawn('bash', [DEMO_SH], { env: demoEnv(ports), stdio: ['ignore', 'pipe', 'pipe'] });
    const away = mkdtempSync(join(tmpdir(), 'jairouter-demo-elsewhere-'));
    try {
      let out = '';
      let err = '';
      demo.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
      const exited = new Promise<number | null>((r) => demo.once('exit', (code) => r(code)));
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no banner within 25 s:\n${out}\n${err}`)), 25_000);
        demo.once('exit', (code) => reject(new Error(`demo.sh exited with ${code} before its banner:\n${out}\n${err}`)));
        demo.stdout!.setEncoding('utf8').on('data', (d: string) => {
          out += d;
          if (out.includes('Ctrl-C stops everything')) {
            clearTimeout(timer);
            resolve();
          }
        });
      });
      const lines = out.split('\n');
      const block = (first: RegExp, last: RegExp): string => {
        const from = lines.findIndex((l) => first.test(l));
        const to = lines.findIndex((l, i) => i >= from && last.test(l));
        expect(from, `${first} in the banner:\n${out}`).toBeGreaterThanOrEqual(0);
        return lines.slice(from, to + 1).join('\n');
      };
      // A shell with nothing of this repository around: another directory, no node on PATH
      // beyond the machine's, no NODE_PATH.
      const paste = (script: string) =>
        spawnSync('bash', ['-c', script], { cwd: away, env: { HOME: process.env['HOME'] ?? away, PATH: '/usr/bin:/bin' }, encoding: 'utf8', timeout: 20_000 });

      const sdk = paste(block(/^\s*NODE_PATH=/, /\}\)\(\);'$/));
      expect(sdk.stderr).toBe('');
      expect(sdk.stdout).toMatch(/^Hello from backend-[ab]: you said "Stream me a greeting"\n$/);

      if (spawnSync('bash', ['-c', 'command -v curl']).status === 0) {
        const curl = paste(block(/^\s*curl -s http:\/\/127\.0\.0\.1:\d+\/v1\/chat\/completions/, /-d '/));
        expect(JSON.parse(curl.stdout).choices[0].message.content).toMatch(/^Hello from backend-[ab]: you said "Hello!"$/);
        const metrics = paste(block(/\/metrics \| grep/, /\/metrics \| grep/));
        expect(metrics.stdout).toMatch(/^jairouter_requests_total\{/m);
      }

      demo.kill('SIGINT');
      expect(await exited).toBe(0);
      for (const v of PORT_VARS) expect(await isFree(ports[v]), `${v} released`).toBe(true);
    } finally {
      demo.kill('SIGKILL');
      rmSync(away, { recursive: true, force: true });
    }
  });
});
