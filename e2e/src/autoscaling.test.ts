// The autoscaling examples of docs/autoscaling.md against a real kube-apiserver: KEDA's
// ScaledObject CRD (copied from KEDA's Go module by build-k8s-binaries.sh) is installed, the vLLM
// Deployment, the ScaledObject and the HPA of docs/examples/autoscaling are created with strict
// field validation, broken ScaledObjects are refused; and without a cluster: the doc quotes every
// example file as it is, and the PromQL in them names only the proxy's autoscaling series and
// parses (promtool).
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { e2eConfig, REPO_ROOT } from '@jairouter/testkit/config';
import { k8sBinaries, kubeRequest, runCommand } from '@jairouter/testkit/control-plane';
import { freshNamespace, installCrds, setupTimeoutMs, skipK8s, useControlPlane } from '@jairouter/testkit/control-plane/testing';
import { promtool, skipObservability } from '@jairouter/testkit/observability';

const DOC = join(REPO_ROOT, 'docs', 'autoscaling.md');
const EXAMPLES_REL = 'docs/examples/autoscaling';
const EXAMPLES = join(REPO_ROOT, EXAMPLES_REL);
const BUILD_SCRIPT = join(REPO_ROOT, 'e2e', 'testkit', 'scripts', 'build-k8s-binaries.sh');

/** The series the proxy exports for autoscaling (the only jairouter_* names the queries may use). */
const AUTOSCALING_SERIES = [
  'jairouter_backend_queue_depth',
  'jairouter_backend_inflight',
  'jairouter_backend_saturation',
  'jairouter_backend_endpoints',
  'jairouter_engine_requests_waiting',
  'jairouter_engine_requests_running',
  'jairouter_engine_kv_cache_usage_ratio',
  'jairouter_engine_signal_age_seconds',
];

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [k: string]: unknown };
  spec?: Record<string, unknown>;
  [k: string]: unknown;
}

const exampleFiles = readdirSync(EXAMPLES)
  .filter((f) => f.endsWith('.yaml'))
  .sort();
const read = (file: string): string => readFileSync(join(EXAMPLES, file), 'utf8');
const objectsOf = (file: string): K8sObject[] => parseAllDocuments(read(file)).map((d) => d.toJS() as K8sObject);
const one = (file: string): K8sObject => {
  const objs = objectsOf(file);
  expect(objs).toHaveLength(1);
  return objs[0]!;
};

/** The fenced code blocks of a Markdown text, with their info string. */
function codeBlocks(md: string): { lang: string; body: string }[] {
  const blocks: { lang: string; body: string }[] = [];
  const re = /^```([\w-]*)\n([\s\S]*?)^```$/gm;
  for (let m = re.exec(md); m !== null; m = re.exec(md)) blocks.push({ lang: m[1] ?? '', body: m[2] ?? '' });
  return blocks;
}

/** The file a YAML block quotes: its first line is `# docs/examples/autoscaling/NAME.yaml: ...`. */
function quotedFile(body: string): string | undefined {
  return new RegExp(`^# (${EXAMPLES_REL}/[\\w.-]+\\.yaml)\\b`).exec(body)?.[1];
}

const keda = one('keda-scaledobject.yaml');
const hpa = one('hpa.yaml');
const rules = one('prometheus-rules.yaml');
const adapter = parse(read('prometheus-adapter-rules.yaml')) as {
  rules: { external: { seriesQuery: string; metricsQuery: string; name: { as: string } }[] };
};

interface Trigger {
  type: string;
  name: string;
  metricType?: string;
  metadata: Record<string, unknown>;
}
const triggers = (keda.spec!['triggers'] as Trigger[]) ?? [];
const recordingRules = (rules.spec!['groups'] as { rules: { record: string; expr: string }[] }[]).flatMap((g) => g.rules);

/** Every PromQL expression of the examples and the doc, with where it is from. */
function promqlExpressions(): { from: string; expr: string }[] {
  const out: { from: string; expr: string }[] = [];
  for (const t of triggers) out.push({ from: `ScaledObject trigger ${t.name}`, expr: String(t.metadata['query']) });
  for (const r of recordingRules) out.push({ from: `recording rule ${r.record}`, expr: r.expr });
  for (const [i, e] of adapter.rules.external.entries()) {
    out.push({ from: `adapter rule ${i} seriesQuery`, expr: e.seriesQuery });
    // The adapter's template, as it fills it in for the HPA's selector in namespace ai.
    const matchers = 'route_namespace="ai",route_name="llama",backend="vllm"';
    const series = /^[\w:]+/.exec(e.seriesQuery)?.[0] ?? '';
    out.push({ from: `adapter rule ${i} metricsQuery`, expr: e.metricsQuery.replaceAll('<<.Series>>', series).replaceAll('<<.LabelMatchers>>', matchers) });
  }
  // The doc's promql blocks: one expression per line, indented lines continue the previous one.
  for (const block of codeBlocks(readFileSync(DOC, 'utf8')).filter((b) => b.lang === 'promql')) {
    for (const line of block.body.split('\n')) {
      if (line.trim() === '' || line.trim().startsWith('#')) continue;
      const last = out.at(-1);
      if (/^\s/.test(line) && last?.from === 'docs/autoscaling.md') last.expr += ` ${line.trim()}`;
      else out.push({ from: 'docs/autoscaling.md', expr: line.trim() });
    }
  }
  return out;
}

describe('docs/autoscaling.md and its examples', () => {
  const doc = readFileSync(DOC, 'utf8');
  const yamlBlocks = codeBlocks(doc).filter((b) => b.lang === 'yaml');

  it('quotes every example file whole, and every YAML block naming a file is that file', () => {
    expect(exampleFiles).toEqual(['hpa.yaml', 'keda-scaledobject.yaml', 'prometheus-adapter-rules.yaml', 'prometheus-rules.yaml', 'vllm-deployment.yaml']);
    const quoted = new Map<string, string>();
    for (const b of yamlBlocks) {
      const file = quotedFile(b.body);
      if (file === undefined) continue;
      expect(quoted.has(file), `${file} quoted twice`).toBe(false);
      quoted.set(file, b.body);
    }
    for (const f of exampleFiles) {
      const path = `${EXAMPLES_REL}/${f}`;
      expect(quoted.get(path), `docs/autoscaling.md does not quote ${path} (a yaml block whose first line is "# ${path}: ...")`).toBeDefined();
      expect(quoted.get(path), `the block of ${path} in docs/autoscaling.md differs from the file`).toBe(read(f));
    }
    expect([...quoted.keys()].sort()).toEqual(exampleFiles.map((f) => `${EXAMPLES_REL}/${f}`));
  });

  it('every YAML block of the doc parses', () => {
    expect(yamlBlocks.length).toBeGreaterThanOrEqual(exampleFiles.length + 1);
    for (const b of yamlBlocks) expect(() => parseAllDocuments(b.body).map((d) => d.toJS()), b.body.slice(0, 80)).not.toThrow();
  });

  it('the autoscalers target the example Deployment and the route ai/llama, backend vllm', () => {
    const deployment = objectsOf('vllm-deployment.yaml').find((o) => o.kind === 'Deployment')!;
    expect(deployment.metadata).toMatchObject({ name: 'vllm-llama', namespace: 'ai' });
    const target = { apiVersion: 'apps/v1', kind: 'Deployment', name: 'vllm-llama' };
    expect(keda.metadata.namespace).toBe('ai');
    expect(keda.spec!['scaleTargetRef']).toEqual(target);
    expect(hpa.metadata.namespace).toBe('ai');
    expect(hpa.spec!['scaleTargetRef']).toEqual(target);
    expect(triggers.length).toBeGreaterThanOrEqual(1);
    for (const t of triggers) {
      expect(t.type).toBe('prometheus');
      expect(t.metadata['query']).toContain('route="ai/llama"');
      expect(t.metadata['query']).toContain('backend="vllm"');
      expect(t.metadata['serverAddress']).toMatch(/^http:\/\/[\w.-]+\.svc(\.cluster\.local)?:\d+$/);
    }
    // The HPA asks for the metric the adapter serves, under the selector the recording rule makes.
    const metric = (hpa.spec!['metrics'] as { external: { metric: { name: string; selector: { matchLabels: Record<string, string> } } } }[])[0]!.external.metric;
    expect(adapter.rules.external.map((e) => e.name.as)).toContain(metric.name);
    expect(metric.selector.matchLabels).toEqual({ route_name: 'llama', backend: 'vllm' });
    expect(adapter.rules.external.map((e) => /^[\w:]+/.exec(e.seriesQuery)?.[0])).toEqual(recordingRules.map((r) => r.record));
  });

  it('the PromQL names only the autoscaling series', () => {
    const exprs = promqlExpressions();
    expect(exprs.length).toBeGreaterThanOrEqual(8);
    for (const { from, expr } of exprs) {
      for (const name of expr.match(/jairouter_[a-z_]+/g) ?? []) expect(AUTOSCALING_SERIES, `${from}: ${expr}`).toContain(name);
    }
    // And the engine queue is read once per backend (max), never summed over proxy replicas.
    for (const { from, expr } of exprs.filter((e) => e.expr.includes('source="engine"'))) expect(expr, from).toMatch(/^\s*max by/);
  });

  describe.skipIf(skipObservability)('promtool', () => {
    let dir = '';
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'jairouter-autoscaling-'));
    });
    afterAll(() => {
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('parses every expression (as recording rules) and the PrometheusRule groups', async () => {
      const exprs = promqlExpressions();
      const file = join(dir, 'rules.yaml');
      writeFileSync(
        file,
        stringify({
          groups: [
            { name: 'examples', rules: exprs.map((e, i) => ({ record: `autoscaling_example:expr_${i}`, expr: e.expr })) },
            ...(rules.spec!['groups'] as unknown[]),
          ],
        }),
      );
      const res = await promtool(['check', 'rules', file], { timeoutMs: 600_000 });
      expect(res.code, res.stdout + res.stderr).toBe(0);
      expect(res.stdout).toContain(`SUCCESS: ${exprs.length + recordingRules.length} rules found`);
    }, 600_000);
  });
});

/** /apis/... (or /api/v1/...) collection path of the kinds the examples create. */
function collectionPath(o: K8sObject, ns: string): string {
  const plural: Record<string, string> = {
    Deployment: 'deployments',
    Service: 'services',
    ScaledObject: 'scaledobjects',
    HorizontalPodAutoscaler: 'horizontalpodautoscalers',
  };
  const p = plural[o.kind];
  if (!p) throw new Error(`no path for ${o.kind}`);
  const prefix = o.apiVersion.includes('/') ? `/apis/${o.apiVersion}` : `/api/${o.apiVersion}`;
  return `${prefix}/namespaces/${ns}/${p}`;
}

describe.skipIf(skipK8s)('the autoscaling examples on a real kube-apiserver', () => {
  const cp = useControlPlane();
  let ns = '';

  /** Creates O in the test's namespace (the examples say `ai`), unknown fields refused. */
  const create = (o: K8sObject, dryRun = false) =>
    kubeRequest(cp(), `${collectionPath(o, ns)}?fieldValidation=Strict${dryRun ? '&dryRun=All' : ''}`, {
      method: 'POST',
      body: { ...o, metadata: { ...o.metadata, namespace: ns } },
    });
  const messageOf = (res: { body: unknown; text: string }): string => (res.body as { message?: string } | undefined)?.message ?? res.text;

  beforeAll(async () => {
    // KEDA's CRDs come with the binaries; fetch them when this cache predates KEDA_VERSION.
    const crds = k8sBinaries(e2eConfig().cacheDir).kedaCrds;
    const missing = [crds.scaledObjects, crds.triggerAuthentications].filter((f) => {
      try {
        readFileSync(f);
        return false;
      } catch {
        return true;
      }
    });
    if (missing.length > 0) {
      const built = await runCommand('bash', [BUILD_SCRIPT], { env: { JAIROUTER_CACHE: e2eConfig().cacheDir }, timeoutMs: 20 * 60_000 });
      expect(built.code, built.stdout + built.stderr).toBe(0);
    }
    await installCrds(cp(), crds.dir);
    ns = await freshNamespace(cp(), 'autoscaling');
  }, Math.max(setupTimeoutMs(), 20 * 60_000));

  it('the KEDA CRDs are Established', async () => {
    for (const name of ['scaledobjects.keda.sh', 'triggerauthentications.keda.sh']) {
      const res = await kubeRequest(cp(), `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`);
      expect(res.status, res.text).toBe(200);
      const conditions = (res.body as { status: { conditions: { type: string; status: string }[] } }).status.conditions;
      expect(conditions.find((c) => c.type === 'Established')?.status, name).toBe('True');
    }
  });

  it('the vLLM Deployment and its Service are created', async () => {
    const objs = objectsOf('vllm-deployment.yaml');
    expect(objs.map((o) => o.kind)).toEqual(['Deployment', 'Service']);
    for (const o of objs) {
      const res = await create(o);
      expect(res.status, messageOf(res)).toBe(201);
      expect(res.text).not.toContain('unknown field');
    }
  });

  it('the ScaledObject is created against KEDA\'s schema', async () => {
    const res = await create(keda);
    expect(res.status, messageOf(res)).toBe(201);
    const got = await kubeRequest(cp(), `${collectionPath(keda, ns)}/${keda.metadata.name}`);
    expect(got.status).toBe(200);
    // Nothing was pruned: what is stored is what the file says.
    expect((got.body as K8sObject).spec).toEqual(keda.spec);
  });

  it('the HPA is created', async () => {
    const res = await create(hpa);
    expect(res.status, messageOf(res)).toBe(201);
    expect((res.body as K8sObject).spec).toMatchObject({ minReplicas: 1, maxReplicas: 8 });
  });

  const spec = (): Record<string, unknown> => structuredClone(keda.spec!);
  // Schema violations are 422 Invalid; an unknown field under fieldValidation=Strict is a 400 decoding error.
  const broken: [string, () => Record<string, unknown>, RegExp, number?][] = [
    [
      'without triggers',
      () => {
        const s = spec();
        delete s['triggers'];
        return s;
      },
      /spec\.triggers: Required value/,
    ],
    ['with no trigger', () => ({ ...spec(), triggers: [] }), /spec\.triggers: Invalid value: .*should have at least 1 items/],
    [
      'with a number for a string in a trigger\'s metadata',
      () => {
        const s = spec();
        (s['triggers'] as Trigger[])[0]!.metadata['threshold'] = 4;
        return s;
      },
      /spec\.triggers\[0\]\.metadata\.threshold: Invalid value: "integer": .*must be of type string/,
    ],
    ['with a string for maxReplicaCount', () => ({ ...spec(), maxReplicaCount: 'eight' }), /spec\.maxReplicaCount: Invalid value: "string": .*must be of type integer/],
    ['with minReplicaCount above maxReplicaCount', () => ({ ...spec(), minReplicaCount: 9 }), /minReplicaCount must be less than or equal to maxReplicaCount/],
    ['with an unknown field', () => ({ ...spec(), trigger: [] }), /strict decoding error: unknown field "spec\.trigger"/, 400],
  ];
  it.each(broken)('a ScaledObject %s is refused', async (_label, makeSpec, message, status = 422) => {
    const res = await create({ ...keda, metadata: { name: 'broken' }, spec: makeSpec() }, true);
    expect(res.status, messageOf(res)).toBe(status);
    expect(messageOf(res)).toMatch(message);
  });
});
