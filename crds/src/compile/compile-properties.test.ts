import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { mulberry32 } from '@jairouter/testkit/seeded-random';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { emptyProxyConfig } from '../proxy-config.ts';
import { emptyResources, parseResourcesYaml, type KubeObject, type Resources } from '../resources.ts';
import { compile, type CompileResult } from './compile.ts';
import { CASES_DIR, caseNames } from './golden.test-support.ts';

const cases = caseNames().map((name) => {
  const text = readFileSync(join(CASES_DIR, name, 'input.yaml'), 'utf8');
  return { name, text, ...parseResourcesYaml(text, 'input.yaml') };
});

const BUCKETS = Object.keys(emptyResources()) as (keyof Resources)[];

function render(r: CompileResult): string {
  return JSON.stringify(r, null, 2);
}

function shuffle<T>(items: readonly T[], rand: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** The same object with every mapping's keys in a random order (arrays keep theirs: order is content). */
function shuffleKeys(value: unknown, rand: () => number): unknown {
  if (Array.isArray(value)) return value.map((v) => shuffleKeys(v, rand));
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const k of shuffle(Object.keys(value), rand)) out[k] = shuffleKeys((value as Record<string, unknown>)[k], rand);
  return out;
}

function shuffled(resources: Resources, seed: number): Resources {
  // Seeded, so that a failing shuffle can be replayed from its seed.
  const rand = mulberry32(seed);
  const out: Record<string, KubeObject[]> = {};
  for (const b of BUCKETS) out[b] = shuffle(resources[b], rand).map((o) => shuffleKeys(o, rand) as KubeObject);
  return out as unknown as Resources;
}

describe('compile() determinism', () => {
  for (const c of cases) {
    it(`${c.name}: shuffled objects and keys give byte-identical output`, () => {
      const expected = render(compile(c.resources));
      fc.assert(
        fc.property(fc.integer(), (seed) => {
          expect(render(compile(shuffled(c.resources, seed)))).toBe(expected);
        }),
        { numRuns: 25 },
      );
    });
  }

  it('is stable across calls and has a content version', () => {
    const c = cases.find((x) => x.name === 'full-route')!;
    const a = compile(c.resources);
    const b = compile(c.resources);
    expect(a.config.version).toBe(b.config.version);
    expect(a.config.version).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(compile(cases.find((x) => x.name === 'defaults')!.resources).config.version).not.toBe(a.config.version);
  });

  it('compiles nothing to the empty config', () => {
    const r = compile(emptyResources());
    expect(r.config).toEqual(emptyProxyConfig());
    expect(r.statuses).toEqual([]);
  });
});

/** A broken object of each kind, with a fresh name in a namespace that sorts last. */
const brokenObject = fc.record({
  bucket: fc.constantFrom(...BUCKETS),
  name: fc.stringMatching(/^[a-z]{3,10}$/).map((n) => `broken-${n}`),
  body: fc.dictionary(fc.constantFrom('spec', 'data', 'stringData', 'ports', 'endpoints', 'status', 'metadata'), fc.anything(), { maxKeys: 4 }),
});

const junkObject: fc.Arbitrary<KubeObject> = fc.oneof(
  fc.constant({}),
  fc.record({ metadata: fc.anything() }),
  fc.record({ metadata: fc.record({ name: fc.oneof(fc.constant(''), fc.integer()) }) }),
);

describe('one broken object never removes another', () => {
  for (const c of cases) {
    it(c.name, () => {
      const base = compile(c.resources);
      fc.assert(
        fc.property(fc.array(brokenObject, { maxLength: 4 }), fc.array(junkObject, { maxLength: 2 }), (broken, junk) => {
          const extra: Record<string, KubeObject[]> = {};
          for (const b of BUCKETS) extra[b] = [...c.resources[b], ...junk];
          broken.forEach(({ bucket, name, body }, i) => {
            const metadata = { ...(typeof body['metadata'] === 'object' ? body['metadata'] : {}), name: `${name}-${i}`, namespace: 'zzz-broken' };
            extra[bucket]!.push({ ...body, metadata });
          });
          const after = compile(extra as unknown as Resources);
          for (const route of base.config.routes) expect(after.config.routes).toContainEqual(route);
          for (const tenant of base.config.tenants) expect(after.config.tenants).toContainEqual(tenant);
          for (const status of base.statuses) expect(after.statuses).toContainEqual(status);
        }),
        { numRuns: 30 },
      );
    });
  }
});

/** Every value a Secret of the input holds, decoded and raw, as it could leak. */
function secretValues(resources: Resources): string[] {
  const values = new Set<string>();
  for (const s of resources.secrets) {
    for (const [field, decode] of [['data', true], ['stringData', false]] as const) {
      const map = s[field];
      if (typeof map !== 'object' || map === null) continue;
      for (const v of Object.values(map)) {
        if (typeof v !== 'string') continue;
        values.add(v);
        values.add(v.trim());
        if (decode) {
          const d = Buffer.from(v, 'base64').toString('utf8');
          values.add(d);
          values.add(d.trim());
        }
      }
    }
  }
  // Very short values would match ordinary words; every test secret is longer than this.
  return [...values].filter((v) => v.length >= 8);
}

describe('no secret value ever appears in status or parse errors', () => {
  for (const c of cases) {
    it(c.name, () => {
      const text = JSON.stringify(compile(c.resources).statuses) + JSON.stringify(c.errors);
      const values = secretValues(c.resources);
      for (const v of values) expect(text.includes(v), `secret value leaked in ${c.name}`).toBe(false);
    });
  }

  it('holds for random Secrets, keys and references', () => {
    const value = fc.stringMatching(/^[A-Za-z0-9+/=! -]{10,30}$/).map((v) => `SECRET${v}`);
    // data entries are base64 of a value, or (broken) the value itself.
    const dataEntry = fc.tuple(value, fc.boolean()).map(([v, encode]) => ({ v, raw: encode ? Buffer.from(v).toString('base64') : v }));
    fc.assert(
      fc.property(
        fc.dictionary(fc.constantFrom('k1', 'k2', 'k3'), dataEntry, { minKeys: 0, maxKeys: 3 }),
        fc.dictionary(fc.constantFrom('k1', 'k2', 'k4'), value, { minKeys: 0, maxKeys: 3 }),
        fc.array(fc.constantFrom('k1', 'k2', 'k3', 'k4', 'k5'), { minLength: 1, maxLength: 4 }),
        fc.boolean(),
        (data, stringData, refKeys, secretExists) => {
          const secret = {
            apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'ns' },
            data: Object.fromEntries(Object.entries(data).map(([k, d]) => [k, d.raw])),
            stringData,
          };
          const backends = refKeys.map((key, i) => ({ name: `b${i}`, adapter: 'openai', url: 'https://x.example/v1', credentialsRef: { name: 's', key } }));
          const r = compile({
            modelRoutes: [{ metadata: { name: 'r', namespace: 'ns' }, spec: { models: ['m'], backends } }],
            tenants: [
              { metadata: { name: 't1', namespace: 'ns' }, spec: { apiKeys: { secretRefs: [{ name: 's' }] } } },
              { metadata: { name: 't2', namespace: 'ns' }, spec: { apiKeys: { secretRefs: [{ name: 's' }, { name: 'gone' }] } } },
            ],
            rateLimitPolicies: [],
            secrets: secretExists ? [secret] : [],
            services: [],
            endpointSlices: [],
          });
          const text = JSON.stringify(r.statuses);
          for (const v of [...Object.values(data).flatMap((d) => [d.v, d.raw]), ...Object.values(stringData)]) {
            expect(text).not.toContain(v);
            expect(text).not.toContain(v.trim());
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
