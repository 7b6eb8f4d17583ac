// The compile child sends its outcome in parts of at most PART_ITEMS items (routes, tenants,
// limits, statuses), so the proxy never deserializes a large config in one piece: what arrives
// must be exactly what compile() made.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compile } from '@jairouter/crds';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { stringify } from 'yaml';
import { Compiler, compileInWorker, PART_ITEMS } from './compile-client.ts';
import { loadFiles } from './load.ts';

describe('compileInWorker', () => {
  it('puts a config of several parts back together exactly', async () => {
    const docs: unknown[] = [];
    const routes = PART_ITEMS * 2 + 31;
    for (let r = 0; r < routes; r++) {
      docs.push({ apiVersion: 'jairouter.io/v1alpha1', kind: 'ModelRoute', metadata: { name: `r${r}`, namespace: 'ns' }, spec: { models: [`m${r}`], backends: [{ name: 'a', adapter: 'openai', url: `http://10.0.0.${r % 250}:8000/v1` }] } });
    }
    for (let t = 0; t < 3; t++) {
      docs.push({ apiVersion: 'v1', kind: 'Secret', metadata: { name: `k${t}`, namespace: 'ns' }, stringData: { a: `sk-part-test-${t}-000000000000` } });
      docs.push({ apiVersion: 'jairouter.io/v1alpha1', kind: 'Tenant', metadata: { name: `t${t}`, namespace: 'ns' }, spec: { apiKeys: { secretRefs: [{ name: `k${t}` }] } } });
    }
    docs.push({ apiVersion: 'jairouter.io/v1alpha1', kind: 'RateLimitPolicy', metadata: { name: 'p', namespace: 'ns' }, spec: { targetRefs: [{ kind: 'Tenant', name: 't0' }], rules: [{ name: 'r', limit: { requests: 10, per: '1m' } }] } });
    const dir = mkdtempSync(join(tmpdir(), 'jairouter-parts-'));
    writeFileSync(join(dir, 'c.yaml'), docs.map((d) => stringify(d)).join('---\n'));

    const out = await compileInWorker({ paths: [join(dir, 'c.yaml')], served: [] });
    const here = compile(loadFiles([join(dir, 'c.yaml')]).resources);
    expect(out.errors).toEqual([]);
    expect(out.config.routes).toHaveLength(routes);
    expect(out.config.limits.length).toBeGreaterThan(0);
    expect(out.config).toEqual(here.config);
    expect(out.statuses).toEqual(here.statuses);
    expect(out.verdict.apply).toBe(true);
  });
});

/** Whether a process with this pid is still there (signal 0 checks without sending anything). */
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('Compiler: one child kept between compiles', () => {
  const route = (model: string) => stringify({ apiVersion: 'jairouter.io/v1alpha1', kind: 'ModelRoute', metadata: { name: 'r', namespace: 'ns' }, spec: { models: [model], backends: [{ name: 'a', adapter: 'openai', url: 'http://10.0.0.1:8000/v1' }] } });
  const made: Compiler[] = [];
  /** A Compiler closed after the test, whatever it ends with. */
  const compiler = (idleMs?: number) => {
    const c = new Compiler(idleMs);
    made.push(c);
    return c;
  };
  afterEach(() => {
    for (const c of made.splice(0)) c.close();
  });
  const setup = () => {
    const dir = mkdtempSync(join(tmpdir(), 'jairouter-compiler-'));
    const file = join(dir, 'c.yaml');
    writeFileSync(file, route('m0'));
    return { file, job: { paths: [file], served: [] } };
  };

  it('compiles a burst of edits in one child, each edit read afresh', async () => {
    const { file, job } = setup();
    const c = compiler(60_000);
    const models: string[][] = [];
    for (let i = 0; i < 4; i++) {
      writeFileSync(file, route(`m${i}`));
      models.push((await c.compile(job)).config.routes[0]!.models);
    }
    expect(models).toEqual([['m0'], ['m1'], ['m2'], ['m3']]);
    expect(c.started).toBe(1);
    // Jobs given together run one after the other, each with its own outcome.
    const [a, b] = await Promise.all([c.compile(job), c.compile({ paths: [join(file, '..', 'missing.yaml')], served: [] })]);
    expect(a.config.routes[0]!.models).toEqual(['m3']);
    expect(b.errors.join()).toMatch(/missing\.yaml/);
    expect(c.started).toBe(1);
  });

  it('lets the child exit after the idle time, and starts another for the next compile', async () => {
    const { job } = setup();
    const c = compiler(50);
    await c.compile(job);
    const first = c.pid!;
    await vi.waitFor(() => expect(alive(first)).toBe(false), { timeout: 10_000, interval: 20 });
    expect(c.pid).toBeNull();
    expect((await c.compile(job)).config.routes).toHaveLength(1);
    expect(c.started).toBe(2);
  });

  it('survives its child being killed, idle or in the middle of a compile', async () => {
    const { job } = setup();
    const c = compiler(60_000);
    await c.compile(job);
    process.kill(c.pid!, 'SIGKILL');
    await vi.waitFor(() => expect(c.pid).toBeNull(), { timeout: 10_000, interval: 20 });
    expect((await c.compile(job)).config.routes).toHaveLength(1);
    expect(c.started).toBe(2);

    const d = compiler(60_000);
    const pending = d.compile(job);
    // The child is forked when the queued job runs; it is still starting when it is killed.
    await vi.waitFor(() => expect(d.pid).not.toBeNull(), { interval: 1 });
    process.kill(d.pid!, 'SIGKILL');
    await expect(pending).rejects.toThrow(/config compiler exited with SIGKILL/);
    expect((await d.compile(job)).config.routes).toHaveLength(1);
  });

  it('does not hold its process open while the child waits for the next compile', () => {
    const { job } = setup();
    const url = new URL('./compile-client.ts', import.meta.url).href;
    const script = `import { Compiler } from ${JSON.stringify(url)};
    const c = new Compiler(600000);
    const out = await c.compile(${JSON.stringify(job)});
    console.log('compiled', out.config.routes.length, c.pid !== null);`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('compiled 1 true');
    expect(r.signal).toBeNull();
    expect(r.status).toBe(0);
  });

  it('refuses compiles once closed', async () => {
    const c = compiler();
    c.close();
    await expect(c.compile(setup().job)).rejects.toThrow(/closed/);
    expect(c.started).toBe(0);
  });
});
