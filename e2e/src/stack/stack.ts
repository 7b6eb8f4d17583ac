// The whole product on the local control plane, for one test file: the CRDs, a namespace for
// the custom resources and one for the operator (like jairouter-system), the proxies'
// ServiceAccount and a TokenRequest token for them, operator processes behind a Service-like
// balancer, the CA the operator publishes, and proxy processes subscribed to the operator.
// Objects are applied with @kubernetes/client-node (server-side apply, as `kubectl apply
// --server-side` does).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ApiException,
  CoordinationV1Api,
  CoreV1Api,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { REPO_ROOT } from '@jairouter/testkit/config';
import { kubectl, type ControlPlane } from '@jairouter/testkit/control-plane';
import { FIELD_MANAGER, freshNamespace, installCrds } from '@jairouter/testkit/control-plane/testing';
import { startOperator, startProxy, type OperatorProcess, type ProxyProcess } from '@jairouter/testkit/processes';
import { waitFor } from '@jairouter/testkit/wait-for';
import { startFakeOpenAI, type FakeBackend } from '@jairouter/testkit/fake-openai';
import { startBalancer, type BalancePolicy, type Balancer } from './balancer.ts';

export const GROUP_VERSION = 'jairouter.io/v1alpha1';
export const SNAPSHOT_SECRET = 'jairouter-snapshot';
const CRD_DIR = join(REPO_ROOT, 'crds', 'manifests');

/** Free-form Kubernetes objects: the tests read status fields the client types do not know. */
export type Obj = KubernetesObject & Record<string, any>;

export interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
  observedGeneration?: number;
}

export function condition(obj: Obj | undefined, type: string): Condition | undefined {
  return (obj?.['status']?.conditions as Condition[] | undefined)?.find((c) => c.type === type);
}

export { waitFor };

export interface StackOptions {
  prefix: string;
  operators: number;
  proxies: number;
  /** More arguments for each operator (by pod name) and each proxy (by name). */
  operatorArgs?: (podName: string) => string[];
  proxyArgs?: (name: string) => string[];
}

export class Stack {
  readonly cp: ControlPlane;
  readonly kc: KubeConfig;
  readonly objects: KubernetesObjectApi;
  readonly core: CoreV1Api;
  readonly coordination: CoordinationV1Api;
  readonly dir: string;
  readonly caFile: string;
  readonly tokenFile: string;
  readonly snapshotFile: string;
  /** Namespace of the custom resources. */
  ns = '';
  /** The operator's namespace (Lease, TLS and snapshot Secrets, CA ConfigMap). */
  sys = '';
  /** One Service stand-in per proxy (see balancer.ts), its replica order rotated by `slot`. */
  balancers: { balancer: Balancer; slot: number; targets: number[] }[] = [];
  operators: OperatorProcess[] = [];
  proxies: ProxyProcess[] = [];
  #all: { stop(signal?: NodeJS.Signals): Promise<void> }[] = [];
  #extra: Pick<StackOptions, 'operatorArgs' | 'proxyArgs'> = {};

  constructor(cp: ControlPlane) {
    this.cp = cp;
    this.kc = new KubeConfig();
    this.kc.loadFromFile(cp.kubeconfig);
    this.objects = KubernetesObjectApi.makeApiClient(this.kc);
    this.core = this.kc.makeApiClient(CoreV1Api);
    this.coordination = this.kc.makeApiClient(CoordinationV1Api);
    this.dir = mkdtempSync(join(tmpdir(), 'jairouter-stack-'));
    this.caFile = join(this.dir, 'ca.crt');
    this.tokenFile = join(this.dir, 'token');
    this.snapshotFile = join(this.dir, 'snapshot.json');
  }

  /** CRDs, namespaces, ServiceAccount + token, operators, CA file, snapshot file, proxies. */
  async start(o: StackOptions): Promise<void> {
    this.#extra = { ...(o.operatorArgs && { operatorArgs: o.operatorArgs }), ...(o.proxyArgs && { proxyArgs: o.proxyArgs }) };
    await installCrds(this.cp, CRD_DIR);
    this.ns = await freshNamespace(this.cp, o.prefix);
    this.sys = await freshNamespace(this.cp, `${o.prefix}-sys`);
    // No controller-manager: no default ServiceAccount, so create the proxies' one.
    await this.core.createNamespacedServiceAccount({ namespace: this.sys, body: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'jairouter-proxy' } } });
    const tr = await this.core.createNamespacedServiceAccountToken({
      name: 'jairouter-proxy',
      namespace: this.sys,
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { audiences: ['jairouter-operator'], expirationSeconds: 3600 } },
    });
    if (!tr.status?.token) throw new Error('TokenRequest returned no token');
    writeFileSync(this.tokenFile, tr.status.token);

    for (let i = 0; i < o.operators; i++) {
      await this.startOperator(`op-${String.fromCharCode(97 + i)}`);
    }
    const cm = await waitFor('ConfigMap jairouter-ca', async () => (await this.core.readNamespacedConfigMap({ namespace: this.sys, name: 'jairouter-ca' })).data?.['ca.crt']);
    writeFileSync(this.caFile, cm);
    // What the kubelet would have mounted from the snapshot Secret by now.
    await this.writeSnapshotFile();
    for (let i = 0; i < o.proxies; i++) this.proxies.push(await this.startProxy(`proxy-${i}`, { slot: i }));
  }

  async startOperator(podName: string): Promise<OperatorProcess> {
    const op = await startOperator({
      kubeconfig: this.cp.kubeconfig, // the admin: the operator's RBAC is tested in operator/src/integration
      namespaces: [this.ns],
      podNamespace: this.sys,
      podName,
      proxyServiceAccount: `${this.sys}/jairouter-proxy`,
      snapshotSecret: SNAPSHOT_SECRET,
      extraArgs: this.#extra.operatorArgs?.(podName) ?? [],
    });
    this.operators.push(op);
    this.#all.push(op);
    // Running proxies keep their replica while it lives (affinity); the new one is a fallback.
    const live = new Set(this.operators.filter((x) => x.isRunning()).map((x) => x.streamPort));
    for (const b of this.balancers) {
      b.targets = [...b.targets.filter((port) => live.has(port) && port !== op.streamPort), op.streamPort];
      b.balancer.setTargets(b.targets);
    }
    return op;
  }

  /** Live operator replicas' stream ports, the `slot`-th first. */
  #targets(slot: number): number[] {
    const ports = this.operators.filter((x) => x.isRunning()).map((x) => x.streamPort);
    return ports.map((_, i) => ports[(slot + i) % ports.length]!);
  }

  /**
   * A proxy reaching the operators through its own Service stand-in. `ordered` (default): all
   * its connections go to replica number `slot` while it lives, so proxies spread over the
   * replicas and a proxy's stream and reports reach the same one.
   */
  async startProxy(name: string, o: { slot?: number; policy?: BalancePolicy } = {}): Promise<ProxyProcess> {
    const slot = o.slot ?? 0;
    const targets = this.#targets(slot);
    const balancer = await startBalancer(o.policy ?? 'ordered', targets);
    this.balancers.push({ balancer, slot, targets });
    this.#all.push({ stop: () => balancer.close() });
    const p = await startProxy({ name, operatorUrl: balancer.url, caFile: this.caFile, tokenFile: this.tokenFile, snapshotFile: this.snapshotFile, extraArgs: this.#extra.proxyArgs?.(name) ?? [] });
    this.#all.push(p);
    return p;
  }

  /** The snapshot Secret as the API holds it: `snapshot.json` and its version annotation. */
  async snapshotSecret(): Promise<{ json: string; version: string | undefined }> {
    const s = await this.core.readNamespacedSecret({ namespace: this.sys, name: SNAPSHOT_SECRET });
    const b64 = s.data?.['snapshot.json'];
    if (!b64) throw new Error(`Secret ${this.sys}/${SNAPSHOT_SECRET} has no snapshot.json`);
    return { json: Buffer.from(b64, 'base64').toString('utf8'), version: s.metadata?.annotations?.['jairouter.io/snapshot-version'] };
  }

  /** Writes the snapshot Secret's `snapshot.json` where the proxies read it, as the Secret mount would. */
  async writeSnapshotFile(): Promise<string | undefined> {
    const s = await waitFor('the snapshot Secret', () => this.snapshotSecret());
    writeFileSync(this.snapshotFile, s.json);
    return s.version;
  }

  async leaseHolder(): Promise<string | undefined> {
    const l = await this.coordination.readNamespacedLease({ namespace: this.sys, name: 'jairouter-operator' });
    return l.spec?.holderIdentity;
  }

  /** Server-side apply (field manager jairouter-e2e); the namespace defaults to `ns`. */
  async apply(obj: Obj): Promise<Obj> {
    const body = { ...obj, metadata: { namespace: this.ns, ...obj.metadata } };
    return (await this.objects.patch(body, undefined, undefined, FIELD_MANAGER, true, PatchStrategy.ServerSideApply)) as Obj;
  }

  async get(kind: string, name: string, apiVersion = GROUP_VERSION): Promise<Obj> {
    return (await this.objects.read({ apiVersion, kind, metadata: { name, namespace: this.ns } })) as Obj;
  }

  async delete(kind: string, name: string, apiVersion = GROUP_VERSION): Promise<void> {
    await this.objects.delete({ apiVersion, kind, metadata: { name, namespace: this.ns } });
  }

  /** Waits until the object's status is for its current generation and the conditions have these statuses. */
  async waitForConditions(kind: string, name: string, want: Record<string, string>, timeoutMs = 20_000): Promise<Obj> {
    let last: Obj | undefined;
    return waitFor(`${kind} ${name} ${JSON.stringify(want)}`, async () => {
      const o = (last = await this.get(kind, name));
      const gen = o.metadata?.generation;
      if (o['status']?.observedGeneration !== gen) return undefined;
      for (const [type, status] of Object.entries(want)) {
        const c = condition(o, type);
        if (c?.status !== status || c.observedGeneration !== gen) return undefined;
      }
      return o;
    }, timeoutMs).catch((e: Error) => {
      const seen = last && { generation: last.metadata?.generation, status: last['status'] };
      throw new Error(`${e.message}; last seen: ${JSON.stringify(seen)}`);
    });
  }

  kubectl(args: string[], input?: string) {
    return kubectl(this.cp, args, input === undefined ? {} : { input });
  }

  /** Kills every process started here, closes the balancer, removes the temp dir. */
  async stop(): Promise<void> {
    for (const p of this.#all.reverse()) await p.stop('SIGKILL').catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The API server's error for a rejected request: HTTP code and the Status message. */
export function apiError(e: unknown): { code: number; message: string } {
  if (e instanceof ApiException) {
    const body = typeof e.body === 'string' ? (JSON.parse(e.body) as { message?: string }) : (e.body as { message?: string });
    return { code: e.code, message: body?.message ?? String(e.body) };
  }
  throw e;
}

/** What the failure tests (failover, API server outage) run on: see startChatStack. */
export interface ChatStack {
  stack: Stack;
  /** The fake OpenAI backend: its answers start with "Hello from alpha:". */
  alpha: FakeBackend;
  /** ModelRoute `chat` serving `models` from alpha. */
  chatRoute(models: string[]): Obj;
  stop(): Promise<void>;
}

/**
 * Two operators and two proxies, a Tenant `team` whose key is `key` (Secret team-keys) and a
 * ModelRoute `chat` serving `e2e-chat` from a fake backend, both Accepted, ResolvedRefs and
 * Programmed.
 */
export async function startChatStack(cp: ControlPlane, prefix: string, key: string): Promise<ChatStack> {
  const alpha = await startFakeOpenAI({ name: 'alpha' });
  const stack = new Stack(cp);
  const chatRoute = (models: string[]): Obj => ({
    apiVersion: GROUP_VERSION, kind: 'ModelRoute', metadata: { name: 'chat' },
    spec: { models, backends: [{ name: 'main', adapter: 'openai', url: alpha.url }] },
  });
  const ready = { Accepted: 'True', ResolvedRefs: 'True', Programmed: 'True' };
  await stack.start({ prefix, operators: 2, proxies: 2 });
  await stack.apply({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'team-keys' }, stringData: { ci: key } });
  await stack.apply({ apiVersion: GROUP_VERSION, kind: 'Tenant', metadata: { name: 'team' }, spec: { apiKeys: { secretRefs: [{ name: 'team-keys' }] } } });
  await stack.apply(chatRoute(['e2e-chat']));
  await stack.waitForConditions('ModelRoute', 'chat', ready);
  await stack.waitForConditions('Tenant', 'team', ready);
  return {
    stack,
    alpha,
    chatRoute,
    async stop() {
      await stack.stop();
      await alpha.close();
    },
  };
}
