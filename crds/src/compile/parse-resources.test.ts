import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { emptyResources, mergeResources, parseResourcesYaml } from '../resources.ts';

const ROUTE = `apiVersion: jairouter.io/v1alpha1
kind: ModelRoute
metadata: {name: chat, namespace: ai}
spec: {models: [m], backends: [{name: b, adapter: openai, url: "https://x.example/v1"}]}
`;

describe('parseResourcesYaml', () => {
  it('sorts every supported kind into its bucket and defaults the namespace', () => {
    const text = [
      ROUTE,
      'apiVersion: jairouter.io/v1alpha1\nkind: Tenant\nmetadata: {name: acme}\nspec: {}\n',
      'apiVersion: jairouter.io/v1alpha1\nkind: RateLimitPolicy\nmetadata: {name: p, namespace: ai}\nspec: {}\n',
      'apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {k: v}\n',
      'apiVersion: v1\nkind: Service\nmetadata: {name: svc, namespace: ai}\nspec: {ports: [{port: 80}]}\n',
      'apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: svc-1, namespace: ai}\n',
    ].join('---\n');
    const { resources, errors } = parseResourcesYaml(text, 'all.yaml');
    expect(errors).toEqual([]);
    expect(resources.modelRoutes.map((o) => o['metadata'])).toEqual([{ name: 'chat', namespace: 'ai' }]);
    expect(resources.tenants.map((o) => o['metadata'])).toEqual([{ name: 'acme', namespace: 'default' }]);
    expect(resources.rateLimitPolicies).toHaveLength(1);
    expect(resources.secrets.map((o) => o['metadata'])).toEqual([{ name: 's', namespace: 'default' }]);
    expect(resources.services).toHaveLength(1);
    expect(resources.endpointSlices).toHaveLength(1);
  });

  it('skips empty documents and reads a v1 List', () => {
    const text = `# only a comment\n---\n---\napiVersion: v1\nkind: List\nitems:\n  - apiVersion: v1\n    kind: Secret\n    metadata: {name: a}\n  - apiVersion: v1\n    kind: Secret\n    metadata: {name: b}\n---\n`;
    const { resources, errors } = parseResourcesYaml(text);
    expect(errors).toEqual([]);
    expect(resources.secrets.map((s) => (s['metadata'] as { name: string }).name)).toEqual(['a', 'b']);
  });

  it('reports each bad document with the file name and document index, and keeps the good ones', () => {
    const text = [
      'kind: [unclosed\n',
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n',
      'apiVersion: jairouter.io/v1alpha1\nkind: Tenant\nmetadata: {namespace: ai}\n',
      '- a\n- b\n',
      'apiVersion: 1\nkind: Secret\n',
      'apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: ""}\n',
      'apiVersion: v1\nkind: List\nitems: {}\n',
      'a: &x 1\nb: *y\n',
      'k: 1\nk: 2\n',
      ROUTE,
    ].join('---\n');
    const { resources, errors } = parseResourcesYaml(text, 'crs/bad.yaml');
    expect(resources.modelRoutes).toHaveLength(1);
    expect(errors).toHaveLength(9);
    errors.forEach((e, i) => expect(e).toMatch(new RegExp(`^crs/bad\\.yaml: document ${i + 1} \\(line \\d+\\): `)));
    expect(errors[0]).toMatch(/invalid YAML at line \d+, column \d+: /);
    expect(errors[1]).toContain('unsupported kind ConfigMap (apiVersion v1)');
    expect(errors[2]).toContain('Tenant without metadata.name');
    expect(errors[3]).toContain('expected a Kubernetes object');
    expect(errors[4]).toContain('apiVersion and kind must be strings');
    expect(errors[5]).toContain('metadata.namespace must be a non-empty string');
    expect(errors[6]).toContain('List without an items array');
    expect(errors[7]).toContain('invalid YAML');
    expect(errors[8]).toContain('invalid YAML');
  });

  it('never quotes a broken Secret document in an error', () => {
    const value = 'sk-LEAK-CHECK-0123456789';
    const broken = [
      `apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData:\n  k: ${value}: x\n`,
      `apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {k: "${value}}\n`,
      `apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: [${value}\n`,
      `apiVersion: v1\nkind: Secrett\nmetadata: {name: s}\nstringData: {k: ${value}}\n`,
      `apiVersion: v1\nkind: Secret\nstringData: {k: ${value}}\n`,
      `apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {k: *${value}}\n`,
      `apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {k: "\\q${value}"}\n`,
      `apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData:\n  k: ${value}\n  k: ${value}\n`,
      `apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData:\n\tk: ${value}\n`,
    ];
    for (const text of broken) {
      const { errors } = parseResourcesYaml(text, 'f.yaml');
      expect(errors.length, text).toBe(1);
      expect(errors[0]).not.toContain(value);
      expect(errors[0]).not.toContain('LEAK');
    }
  });

  it('never throws, whatever the text', () => {
    const yamlish = fc
      .array(fc.constantFrom('apiVersion: v1\n', 'kind: Secret\n', 'metadata: {name: a}\n', '---\n', '- x\n', '{', ']', ': :', '&a ', '*a\n', '  ', '\t', '"', "'", 'null\n'), { maxLength: 30 })
      .map((parts) => parts.join(''));
    fc.assert(
      fc.property(fc.oneof(fc.string(), yamlish), (text) => {
        const r = parseResourcesYaml(text, 'fuzz.yaml');
        expect(Array.isArray(r.errors)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});

describe('mergeResources', () => {
  it('concatenates sources in order, like one file holding them all', () => {
    const a = parseResourcesYaml(ROUTE, 'a.yaml').resources;
    const b = parseResourcesYaml(ROUTE.replace('chat', 'chat2') + '---\napiVersion: v1\nkind: Secret\nmetadata: {name: s}\n', 'b.yaml').resources;
    const merged = mergeResources(a, emptyResources(), b);
    const joined = parseResourcesYaml(`${ROUTE}---\n${ROUTE.replace('chat', 'chat2')}---\napiVersion: v1\nkind: Secret\nmetadata: {name: s}\n`).resources;
    expect(merged).toEqual(joined);
    expect(mergeResources()).toEqual(emptyResources());
  });
});
