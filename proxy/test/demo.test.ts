// What `make demo` runs: two jairouter-demo-backend processes and the proxy on
// examples/quickstart.yaml (its backend URLs pointed at ephemeral ports), driven the way
// the demo's instructions say.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
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
