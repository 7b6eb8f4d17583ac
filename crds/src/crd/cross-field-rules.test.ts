import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import type { z } from 'zod';
import { ModelRoute } from '../api/model-route.ts';
import { RateLimitPolicy } from '../api/rate-limit-policy.ts';
import { Tenant } from '../api/tenant.ts';

// testdata/rules/*.yaml hold valid and invalid objects for every cross-field rule, each
// with the message it expects. The API server's side (CEL, list-map keys) runs against a
// real kube-apiserver in e2e; this is the standalone side: the same objects through zod.
const dir = join(import.meta.dirname, 'testdata', 'rules');
const SCHEMAS: Record<string, z.ZodType> = { ModelRoute, Tenant, RateLimitPolicy };

interface Case {
  file: string;
  kind: string;
  name: string;
  expect: string;
  object: unknown;
}

const cases: Case[] = readdirSync(dir)
  .filter((f) => f.endsWith('.yaml'))
  .sort()
  .flatMap((file) =>
    parseAllDocuments(readFileSync(join(dir, file), 'utf8')).map((doc) => {
      const object = doc.toJS() as { kind: string; metadata: { name: string; annotations: Record<string, string> } };
      const a = object.metadata.annotations;
      const expect = a['test.jairouter.io/expect-standalone'] ?? a['test.jairouter.io/expect'];
      if (!expect) throw new Error(`${file} ${object.metadata.name}: no test.jairouter.io/expect annotation`);
      return { file, kind: object.kind, name: object.metadata.name, expect, object };
    }),
  );

describe('cross-field rules in standalone mode (zod)', () => {
  it('has a valid and an invalid example for each kind', () => {
    for (const kind of Object.keys(SCHEMAS)) {
      expect(cases.some((c) => c.kind === kind && c.expect === 'valid'), kind).toBe(true);
      expect(cases.some((c) => c.kind === kind && c.expect !== 'valid'), kind).toBe(true);
    }
  });

  it.each(cases.map((c) => [`${c.file} ${c.name}`, c] as const))('%s', (_label, c) => {
    const schema = SCHEMAS[c.kind];
    if (!schema) throw new Error(`unknown kind ${c.kind}`);
    const result = schema.safeParse(c.object);
    const messages = result.error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`) ?? [];
    if (c.expect === 'valid') {
      expect(messages).toEqual([]);
    } else {
      expect(messages.some((m) => m.includes(c.expect)), `expected "${c.expect}" among ${JSON.stringify(messages)}`).toBe(true);
    }
  });

  it('reports a repeated name at the repeat', () => {
    const dup = cases.find((c) => c.name === 'duplicate-backend-names');
    const issues = ModelRoute.safeParse(dup?.object).error?.issues ?? [];
    expect(issues.map((i) => [i.path.join('.'), i.message])).toEqual([
      ['spec.backends.1.name', 'backend "b" appears more than once; names must be unique'],
    ]);
  });

  it('reports the rule at the object it is about, with the CEL message', () => {
    const both = cases.find((c) => c.name === 'backend-with-url-and-service-ref');
    const issues = ModelRoute.safeParse(both?.object).error?.issues ?? [];
    expect(issues.map((i) => [i.path.join('.'), i.message])).toEqual([['spec.backends.0', 'exactly one of url and serviceRef must be set']]);
  });
});
