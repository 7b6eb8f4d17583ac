// examples/multi-tenant.yaml, as a user runs it next to the demo backends: every object accepted,
// each team reaching what the file says it may, and the limits it sets answering 429.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RateLimitError } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeOpenAI, type FakeBackend } from '@jairouter/testkit/fake-openai';
import { compileYaml, startInProcess, type InProcessProxy } from './in-process.ts';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
let a: FakeBackend;
let b: FakeBackend;
let proxy: InProcessProxy;
let yaml: string;

beforeAll(async () => {
  [a, b] = await Promise.all([startFakeOpenAI({ name: 'a' }), startFakeOpenAI({ name: 'b' })]);
  yaml = readFileSync(join(REPO_ROOT, 'examples', 'multi-tenant.yaml'), 'utf8')
    .replaceAll('http://127.0.0.1:18001/v1', a.url)
    .replaceAll('http://127.0.0.1:18002/v1', b.url);
  proxy = await startInProcess(yaml);
});

afterAll(async () => {
  await proxy?.stop();
  await Promise.all([a?.close(), b?.close()]);
});

const status = async (key: string, model: string) => {
  try {
    await proxy.client(key).chat.completions.create({ model, max_tokens: 20, messages: [{ role: 'user', content: 'hi' }] });
    return 200;
  } catch (e) {
    return e instanceof RateLimitError ? 429 : ((e as { status?: number }).status ?? -1);
  }
};

describe('examples/multi-tenant.yaml', () => {
  it('compiles with every object accepted: two routes, two tenants, three quota limits and two policy rules', () => {
    const config = compileYaml(yaml); // throws naming any object that is not accepted
    expect(config.routes.map((r) => r.name)).toEqual(['chat-large', 'chat-small']);
    expect(config.tenants.map((t) => t.name)).toEqual(['research', 'support']);
    expect(config.limits.map((l) => l.id)).toEqual([
      'ai/large-model/tokens', 'ai/per-user/per-user', 'ai/research/quota:requestsPerMinute', 'ai/research/quota:tokensPerMinute',
    ]);
  });

  it('the notebook key reaches the small model only; the pipeline key (role gpu-admins) the large one too', async () => {
    expect(await status('sk-research-notebook-Qm93Xk2p', 'chat-small')).toBe(200);
    expect(await status('sk-research-notebook-Qm93Xk2p', 'chat-large')).toBe(404);
    expect(await status('sk-research-pipeline-Zt81Lw4v', 'chat-large')).toBe(200);
  });

  it('answers with the quotas in the x-ratelimit-* headers', async () => {
    const { response } = await proxy.client('sk-research-notebook-Qm93Xk2p').chat.completions
      .create({ model: 'chat-small', max_tokens: 20, messages: [{ role: 'user', content: 'hi' }] }).withResponse();
    expect(response.headers.get('x-ratelimit-limit-requests')).toBe('600');
    expect(response.headers.get('x-ratelimit-limit-tokens')).toBe('200000');
  });
});
