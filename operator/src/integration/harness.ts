// Shared by the operator's tests against a real kube-apiserver + etcd (@jairouter/testkit/control-plane).
// They skip when JAIROUTER_SKIP_K8S=1 or when the binaries are not built yet: building them is
// the control plane's business (jairouter-envtest), never a side effect of a unit test run.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { e2eConfig, REPO_ROOT } from '@jairouter/testkit/config';
import { k8sBinaries, kubeRequest, missingBinaries, startControlPlane, type ControlPlane, type K8sBinaries, type KubeResponse } from '@jairouter/testkit/control-plane';
import { waitFor } from '@jairouter/testkit/wait-for';

/** Why the k8s tests skip, or undefined when they run. */
export function skipReason(): string | undefined {
  const cfg = e2eConfig();
  if (cfg.skipK8s) return 'JAIROUTER_SKIP_K8S=1';
  const bins = k8sBinaries(cfg.cacheDir);
  const missing = missingBinaries(bins).filter((p) => p === bins.kubeApiserver || p === bins.etcd);
  return missing.length > 0 ? `control plane binaries not built (${missing.join(', ')}); run npx jairouter-envtest up once` : undefined;
}

export async function startCluster(opts: { crds?: boolean; apiServerArgs?: string[] } = {}): Promise<{ cp: ControlPlane; kc: KubeConfig; api: Api }> {
  const bins: K8sBinaries = k8sBinaries(e2eConfig().cacheDir);
  const cp = await startControlPlane({ binaries: bins, ...(opts.apiServerArgs && { apiServerArgs: opts.apiServerArgs }) });
  const kc = new KubeConfig();
  kc.loadFromFile(cp.kubeconfig);
  const api = new Api(cp);
  if (opts.crds !== false) await api.applyCrds();
  return { cp, kc, api };
}

/** Raw API calls as the admin (exact status codes, plain JSON). */
export class Api {
  readonly cp: ControlPlane;
  constructor(cp: ControlPlane) {
    this.cp = cp;
  }

  async call(method: string, path: string, body?: unknown, contentType?: string): Promise<KubeResponse> {
    return kubeRequest(this.cp, path, { method, ...(body !== undefined && { body }), ...(contentType && { contentType }) });
  }

  async ok(method: string, path: string, body?: unknown, contentType?: string): Promise<any> {
    const r = await this.call(method, path, body, contentType);
    if (r.status >= 300) throw new Error(`${method} ${path}: HTTP ${r.status}: ${r.text.slice(0, 500)}`);
    return r.body;
  }

  async applyCrds(): Promise<void> {
    const dir = join(REPO_ROOT, 'crds', 'manifests');
    const names: string[] = [];
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.yaml'))) {
      for (const doc of parseAllDocuments(readFileSync(join(dir, file), 'utf8'))) {
        const crd = doc.toJS() as { metadata: { name: string } } | null;
        if (!crd) continue;
        await this.ok('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd);
        names.push(crd.metadata.name);
      }
    }
    for (const name of names) {
      await waitFor(`CRD ${name} Established`, async () => {
        const crd = await this.ok('GET', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`);
        return (crd.status?.conditions ?? []).some((c: { type: string; status: string }) => c.type === 'Established' && c.status === 'True');
      });
    }
  }

  async namespace(name: string): Promise<void> {
    await this.ok('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  }

  custom(ns: string, plural: string, name?: string): string {
    return `/apis/jairouter.io/v1alpha1/namespaces/${ns}/${plural}${name ? `/${name}` : ''}`;
  }

  async create(ns: string, plural: string, body: unknown): Promise<any> {
    return this.ok('POST', this.custom(ns, plural), body);
  }

  async get(ns: string, plural: string, name: string): Promise<any> {
    return this.ok('GET', this.custom(ns, plural, name));
  }

  async secret(ns: string, name: string, stringData: Record<string, string>): Promise<void> {
    await this.ok('POST', `/api/v1/namespaces/${ns}/secrets`, { apiVersion: 'v1', kind: 'Secret', metadata: { name }, stringData });
  }
}

export { waitFor };

export function condition(obj: any, type: string): { status: string; reason: string; message: string; observedGeneration: number; lastTransitionTime: string } | undefined {
  return (obj?.status?.conditions ?? []).find((c: { type: string }) => c.type === type);
}

export function route(name: string, models: string[], backend: Record<string, unknown>): unknown {
  return {
    apiVersion: 'jairouter.io/v1alpha1', kind: 'ModelRoute', metadata: { name },
    spec: { models, backends: [{ name: 'b', adapter: 'openai', ...backend }] },
  };
}
