// The Kubernetes side of distribution: TokenReview, the TLS Secret and CA ConfigMap, the
// snapshot Secret. Everything here is a thin adapter behind the interfaces in auth.ts and
// stores.ts, so the server and the publisher are tested without an API server.
import { AuthenticationV1Api, CoreV1Api, PatchStrategy, setHeaderOptions, type KubeConfig, type V1Secret } from '@kubernetes/client-node';
import type { ProxyConfig } from '@jairouter/crds';
import { SNAPSHOT_SECRET_KEY } from '@jairouter/crds/snapshot-wire';
import { httpStatus } from '../kube/status-writer.ts';
import type { TokenReviewer, TokenReviewResult } from './auth.ts';
import type { TlsBundle } from './certs.ts';
import { parseServedEntries, type ServedEntry, type ServedStore } from './served-store.ts';
import type { CertStore, SnapshotStore } from './stores.ts';

export const TLS_SECRET = 'jairouter-operator-tls';
export const CA_CONFIGMAP = 'jairouter-ca';
export const SERVED_CONFIGMAP = 'jairouter-served';
const MANAGED_BY = { 'app.kubernetes.io/managed-by': 'jairouter-operator' };

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
const unb64 = (s: string | undefined) => (s === undefined ? undefined : Buffer.from(s, 'base64').toString('utf8'));

/**
 * Read, then create (404) or replace (`replace` returns undefined when `current` is already
 * right); a 409 from a racing writer starts over, three times at most.
 */
async function createOrReplace<T>(what: string, ops: { read: () => Promise<T>; create: () => Promise<unknown>; replace: (current: T) => Promise<unknown> | undefined }): Promise<void> {
  for (let attempt = 0; attempt < 3; attempt++) {
    let current: T;
    try {
      current = await ops.read();
    } catch (e) {
      if (httpStatus(e) !== 404) throw e;
      try {
        await ops.create();
        return;
      } catch (e2) {
        if (httpStatus(e2) === 409) continue;
        throw e2;
      }
    }
    try {
      await ops.replace(current);
      return;
    } catch (e) {
      if (httpStatus(e) !== 409) throw e;
    }
  }
  throw new Error(`${what}: conflicting updates, giving up for now`);
}

export class KubeTokenReviewer implements TokenReviewer {
  private readonly api: AuthenticationV1Api;
  private readonly audiences: string[];
  /** `audiences`: the token must be minted for one of these (empty: the API server's own). */
  constructor(kc: KubeConfig, audiences: string[]) {
    this.api = kc.makeApiClient(AuthenticationV1Api);
    this.audiences = audiences;
  }
  async review(token: string): Promise<TokenReviewResult> {
    const spec = { token, ...(this.audiences.length > 0 && { audiences: this.audiences }) };
    const r = await this.api.createTokenReview({ body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec } });
    const s = r.status ?? {};
    const pod = s.user?.extra?.['authentication.kubernetes.io/pod-name']?.[0];
    return {
      authenticated: s.authenticated === true,
      ...(s.user?.username !== undefined && { username: s.user.username }),
      ...(pod !== undefined && { podName: pod }),
      ...(s.error !== undefined && { error: s.error }),
    };
  }
}

export class KubeCertStore implements CertStore {
  private readonly core: CoreV1Api;
  private readonly namespace: string;
  constructor(kc: KubeConfig, namespace: string) {
    this.core = kc.makeApiClient(CoreV1Api);
    this.namespace = namespace;
  }

  private secret(bundle: TlsBundle, revision?: string): V1Secret {
    return {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: TLS_SECRET, namespace: this.namespace, labels: MANAGED_BY, ...(revision !== undefined && { resourceVersion: revision }) },
      type: 'kubernetes.io/tls',
      data: { 'tls.crt': b64(bundle.cert), 'tls.key': b64(bundle.key), 'ca.crt': b64(bundle.caCert), 'ca.key': b64(bundle.caKey) },
    };
  }

  async read(): Promise<{ bundle: TlsBundle; revision: string } | null> {
    let s: V1Secret;
    try {
      s = await this.core.readNamespacedSecret({ name: TLS_SECRET, namespace: this.namespace });
    } catch (e) {
      if (httpStatus(e) === 404) return null;
      throw e;
    }
    const d = s.data ?? {};
    const bundle = { cert: unb64(d['tls.crt']) ?? '', key: unb64(d['tls.key']) ?? '', caCert: unb64(d['ca.crt']) ?? '', caKey: unb64(d['ca.key']) ?? '' };
    return { bundle, revision: s.metadata?.resourceVersion ?? '' };
  }

  async create(bundle: TlsBundle): Promise<boolean> {
    try {
      await this.core.createNamespacedSecret({ namespace: this.namespace, body: this.secret(bundle) });
      return true;
    } catch (e) {
      if (httpStatus(e) === 409) return false;
      throw e;
    }
  }

  async replace(bundle: TlsBundle, revision: string): Promise<boolean> {
    try {
      await this.core.replaceNamespacedSecret({ name: TLS_SECRET, namespace: this.namespace, body: this.secret(bundle, revision) });
      return true;
    } catch (e) {
      if (httpStatus(e) === 409) return false;
      throw e;
    }
  }

  async publishCa(caCert: string): Promise<void> {
    const body = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: CA_CONFIGMAP, namespace: this.namespace, labels: MANAGED_BY }, data: { 'ca.crt': caCert } };
    await createOrReplace(`ConfigMap ${this.namespace}/${CA_CONFIGMAP}`, {
      read: () => this.core.readNamespacedConfigMap({ name: CA_CONFIGMAP, namespace: this.namespace }),
      create: () => this.core.createNamespacedConfigMap({ namespace: this.namespace, body }),
      replace: (current) => current.data?.['ca.crt'] === caCert ? undefined : this.core.replaceNamespacedConfigMap({
        name: CA_CONFIGMAP,
        namespace: this.namespace,
        body: { ...current, data: { ...current.data, 'ca.crt': caCert } },
      }),
    });
  }
}

export class KubeSnapshotStore implements SnapshotStore {
  private readonly core: CoreV1Api;
  private readonly namespace: string;
  private readonly name: string;
  constructor(kc: KubeConfig, namespace: string, name: string) {
    this.core = kc.makeApiClient(CoreV1Api);
    this.namespace = namespace;
    this.name = name;
  }

  async write(config: ProxyConfig): Promise<void> {
    const data = { [SNAPSHOT_SECRET_KEY]: b64(JSON.stringify(config)) };
    const annotations = { 'jairouter.io/snapshot-version': config.version };
    await createOrReplace(`Secret ${this.namespace}/${this.name}`, {
      read: () => this.core.readNamespacedSecret({ name: this.name, namespace: this.namespace }),
      create: () => this.core.createNamespacedSecret({
        namespace: this.namespace,
        body: { apiVersion: 'v1', kind: 'Secret', type: 'Opaque', metadata: { name: this.name, namespace: this.namespace, labels: MANAGED_BY, annotations }, data },
      }),
      replace: (current) => current.metadata?.annotations?.['jairouter.io/snapshot-version'] === config.version && current.data?.[SNAPSHOT_SECRET_KEY] !== undefined
        ? undefined
        : this.core.replaceNamespacedSecret({
          name: this.name,
          namespace: this.namespace,
          body: { ...current, metadata: { ...current.metadata, annotations: { ...current.metadata?.annotations, ...annotations } }, data },
        }),
    });
  }
}

/**
 * The served versions of every replica in one ConfigMap, one data key per replica (pod name).
 * Each replica only ever merge-patches its own key, so concurrent writers never conflict and
 * need no read-modify-write (and RBAC needs only get and patch on this one name, plus create).
 */
export class KubeServedStore implements ServedStore {
  private readonly core: CoreV1Api;
  private readonly namespace: string;
  private readonly name: string;
  constructor(kc: KubeConfig, namespace: string, name: string = SERVED_CONFIGMAP) {
    this.core = kc.makeApiClient(CoreV1Api);
    this.namespace = namespace;
    this.name = name;
  }

  async put(replica: string, entry: ServedEntry): Promise<void> {
    await this.patch({ [replica]: JSON.stringify(entry) }, true);
  }

  async remove(replica: string): Promise<void> {
    await this.patch({ [replica]: null }, false);
  }

  async read(): Promise<Map<string, ServedEntry>> {
    let data: Record<string, string>;
    try {
      data = (await this.core.readNamespacedConfigMap({ name: this.name, namespace: this.namespace })).data ?? {};
    } catch (e) {
      if (httpStatus(e) === 404) return new Map();
      throw e;
    }
    return parseServedEntries(Object.entries(data));
  }

  /** JSON merge patch of `data`; a missing ConfigMap is created (when `create`), and a racing create is patched again. */
  private async patch(data: Record<string, string | null>, create: boolean): Promise<void> {
    const merge = () => this.core.patchNamespacedConfigMap({ name: this.name, namespace: this.namespace, body: { data } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    try {
      await merge();
      return;
    } catch (e) {
      if (httpStatus(e) !== 404) throw e;
      if (!create) return; // nothing to remove
    }
    const initial: Record<string, string> = {};
    for (const [k, v] of Object.entries(data)) if (v !== null) initial[k] = v;
    try {
      await this.core.createNamespacedConfigMap({
        namespace: this.namespace,
        body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: this.name, namespace: this.namespace, labels: MANAGED_BY }, data: initial },
      });
    } catch (e) {
      if (httpStatus(e) !== 409) throw e;
      await merge(); // another replica created it meanwhile
    }
  }
}
