// The CRDs against a real kube-apiserver: they apply server-side and become Established, every
// object in crds/src/crd/testdata/rules is accepted or rejected with its expected message (CEL
// rules, list-map keys, schema), the status subresource works and kubectl shows the printer
// columns.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { REPO_ROOT } from '@jairouter/testkit/config';
import { kubectl, kubeRequest } from '@jairouter/testkit/control-plane';
import { FIELD_MANAGER, freshNamespace, installCrds, readCrds, setupTimeoutMs, skipK8s, useControlPlane } from '@jairouter/testkit/control-plane/testing';

const CRDS = join(REPO_ROOT, 'crds');
const MANIFESTS = join(CRDS, 'manifests');
const RULES = join(CRDS, 'src', 'crd', 'testdata', 'rules');

const crds = readCrds(MANIFESTS);

/** /apis/GROUP/VERSION/namespaces/NS/PLURAL for an object's apiVersion and kind. */
function collectionPath(apiVersion: string, kind: string, ns: string): string {
  const crd = crds.find((c) => c.spec.names.kind === kind && apiVersion === `${c.spec.group}/${apiVersion.split('/')[1]}`);
  if (!crd) throw new Error(`no CRD in crds/manifests for ${apiVersion} ${kind}`);
  return `/apis/${apiVersion}/namespaces/${ns}/${crd.spec.names.plural}`;
}

interface RuleCase {
  label: string;
  expect: string;
  object: { apiVersion: string; kind: string; metadata: { name: string; annotations?: Record<string, string> } };
}
const cases: RuleCase[] = readdirSync(RULES)
  .filter((f) => f.endsWith('.yaml'))
  .sort()
  .flatMap((file) =>
    parseAllDocuments(readFileSync(join(RULES, file), 'utf8')).map((doc) => {
      const object = doc.toJS() as RuleCase['object'];
      const expect = object.metadata.annotations?.['test.jairouter.io/expect'];
      if (!expect) throw new Error(`${file} ${object.metadata.name}: no test.jairouter.io/expect annotation`);
      return { label: `${file} ${object.metadata.name}`, expect, object };
    }),
  );

describe.skipIf(skipK8s)('CRDs on a real kube-apiserver', () => {
  const cp = useControlPlane();
  let ns = '';

  beforeAll(async () => {
    await installCrds(cp(), MANIFESTS);
    ns = await freshNamespace(cp(), 'crds');
  }, setupTimeoutMs());

  it('every CRD is Established with accepted names and a structural schema', async () => {
    expect(crds.length).toBeGreaterThanOrEqual(3);
    for (const crd of crds) {
      const res = await kubeRequest(cp(), `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd.metadata.name}`);
      expect(res.status).toBe(200);
      const conditions = (res.body as { status: { conditions: { type: string; status: string; message: string }[] } }).status.conditions;
      const byType = Object.fromEntries(conditions.map((c) => [c.type, c]));
      expect(byType['Established']?.status, crd.metadata.name).toBe('True');
      expect(byType['NamesAccepted']?.status, crd.metadata.name).toBe('True');
      expect(byType['NonStructuralSchema'], crd.metadata.name).toBeUndefined();
    }
  });

  it('applying the CRDs again changes nothing', async () => {
    const again = await kubectl(cp(), ['apply', '--server-side', `--field-manager=${FIELD_MANAGER}`, '-f', MANIFESTS]);
    expect(again.code, again.stderr).toBe(0);
    const diff = await kubectl(cp(), ['diff', '--server-side', `--field-manager=${FIELD_MANAGER}`, '-f', MANIFESTS]);
    expect(diff.code, diff.stdout + diff.stderr).toBe(0);
  });

  it('the rules testdata has valid and invalid objects of every kind', () => {
    for (const crd of crds) {
      const kind = crd.spec.names.kind;
      expect(cases.some((c) => c.object.kind === kind && c.expect === 'valid'), kind).toBe(true);
      expect(cases.some((c) => c.object.kind === kind && c.expect !== 'valid'), kind).toBe(true);
    }
  });

  it.each(cases.map((c) => [c.label, c] as const))('rules: %s', async (_label, c) => {
    const res = await kubeRequest(cp(), `${collectionPath(c.object.apiVersion, c.object.kind, ns)}?dryRun=All&fieldValidation=Strict`, {
      method: 'POST',
      body: c.object,
    });
    const message = (res.body as { message?: string } | undefined)?.message ?? res.text;
    if (c.expect === 'valid') {
      expect(res.status, message).toBe(201);
    } else {
      expect(res.status, message).toBe(422);
      expect(message).toContain(c.expect);
    }
  });

  describe('ModelRoute status subresource and printer columns', () => {
    let path = '';
    const route = {
      apiVersion: 'jairouter.io/v1alpha1',
      kind: 'ModelRoute',
      metadata: { name: 'status-check' },
      spec: { models: ['chat'], backends: [{ name: 'b', adapter: 'vllm', url: 'http://vllm:8000/v1' }], loadBalancer: { strategy: 'LeastConnections' } },
    };
    const status = {
      observedGeneration: 1,
      conditions: [
        { type: 'Accepted', status: 'True', reason: 'Accepted', message: 'ok', observedGeneration: 1, lastTransitionTime: '2026-01-01T00:00:00Z' },
        { type: 'Programmed', status: 'True', reason: 'Programmed', message: 'ok', observedGeneration: 1, lastTransitionTime: '2026-01-01T00:00:00Z' },
      ],
      backends: [{ name: 'b', endpoints: 2, ejected: 0, saturated: 1 }],
      readyBackends: '1/1',
      capacity: '1 saturated',
    };

    beforeAll(async () => {
      path = `${collectionPath(route.apiVersion, route.kind, ns)}/${route.metadata.name}`;
      const created = await kubeRequest(cp(), collectionPath(route.apiVersion, route.kind, ns), { method: 'POST', body: route });
      expect(created.status, created.text).toBe(201);
    });

    it('status is written through /status only, without bumping the generation', async () => {
      const merge = 'application/merge-patch+json';
      const patched = await kubeRequest(cp(), `${path}/status`, { method: 'PATCH', contentType: merge, body: { status } });
      expect(patched.status, patched.text).toBe(200);
      const got = (await kubeRequest(cp(), path)).body as { metadata: { generation: number }; status: unknown };
      expect(got.status).toEqual(status);
      expect(got.metadata.generation).toBe(1);

      // The main resource ignores status once the subresource exists.
      const ignored = await kubeRequest(cp(), path, { method: 'PATCH', contentType: merge, body: { status: { observedGeneration: 99 } } });
      expect(ignored.status, ignored.text).toBe(200);
      expect(((await kubeRequest(cp(), path)).body as { status: { observedGeneration: number } }).status.observedGeneration).toBe(1);
    });

    it('the status schema is enforced', async () => {
      const bad = { conditions: [{ type: 'Programmed', status: 'Maybe', reason: 'X', message: 'y' }] };
      const res = await kubeRequest(cp(), `${path}/status`, { method: 'PATCH', contentType: 'application/merge-patch+json', body: { status: bad } });
      expect(res.status).toBe(422);
      expect((res.body as { message: string }).message).toContain('Unsupported value: "Maybe"');
    });

    it('kubectl get modelroutes shows the printer columns', async () => {
      const out = await kubectl(cp(), ['get', 'modelroutes', '-n', ns]);
      expect(out.code, out.stderr).toBe(0);
      const [header, row] = out.stdout.trimEnd().split('\n');
      expect(header?.split(/\s+/)).toEqual(['NAME', 'MODELS', 'STRATEGY', 'BACKENDS', 'CAPACITY', 'PROGRAMMED', 'AGE']);
      expect(row).toMatch(/^status-check\s+\["chat"\]\s+LeastConnections\s+1\/1\s+1 saturated\s+True\s+\d+s$/);
      // The short name and the category reach it too.
      const short = await kubectl(cp(), ['get', 'mr,jairouter', '-n', ns, '-o', 'name']);
      expect(short.code, short.stderr).toBe(0);
      expect(short.stdout).toContain('modelroute.jairouter.io/status-check');
    });
  });
});
