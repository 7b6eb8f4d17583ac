// The compile child sends its outcome in parts of at most PART_ITEMS items (routes, tenants,
// limits, statuses), so the proxy never deserializes a large config in one piece: what arrives
// must be exactly what compile() made.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compile } from '@jairouter/crds';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { compileInWorker, PART_ITEMS } from './compile-client.ts';
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
