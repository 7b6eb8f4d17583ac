// Entry of snapshot distribution for the operator's main.ts (docs/distribution.md).
import { KubeConfig } from '@kubernetes/client-node';
import { pino, type Logger } from 'pino';
import type { Registry } from 'prom-client';
import { parseHostPort } from '../config.ts';
import { ProxyAuthenticator, type TokenReviewer } from './auth.ts';
import { servingNames } from './certs.ts';
import { KubeCertStore, KubeServedStore, KubeSnapshotStore, KubeTokenReviewer } from './kube.ts';
import { DistributionPublisher } from './publisher.ts';
import type { ServedStore } from './served-store.ts';
import { ServedSync, type ServedSyncOptions } from './served-sync.ts';
import { SnapshotServer, certificateExpiryGauge } from './server.ts';
import type { CertStore, SnapshotStore } from './stores.ts';
import { TlsManager } from './tls-manager.ts';

export type { SnapshotPublisher } from './types.ts';
export type { DistributionPublisher } from './publisher.ts';
export type { CertStore, SnapshotStore } from './stores.ts';
export type { TokenReviewer, TokenReviewResult } from './auth.ts';
export { MemoryCertStore, MemorySnapshotStore } from './stores.ts';
export { CA_CONFIGMAP, SERVED_CONFIGMAP, TLS_SECRET } from './kube.ts';
export type { ServedEntry, ServedStore } from './served-store.ts';
export { MemoryServedStore } from './served-store.ts';

export interface PublisherOptions {
  /** Needed unless tokenReviewer, certStore and snapshotStore are all given. */
  kubeConfig?: KubeConfig;
  /** `--listen`, HOST:PORT or :PORT (default `:8443`, all interfaces). */
  listen?: string;
  /** `--pod-namespace`: where the TLS Secret, the CA ConfigMap and the snapshot Secret live (default jairouter-system). */
  podNamespace?: string;
  /** `--service-name`: the operator's Service, for the certificate's DNS names (default jairouter-operator). */
  serviceName?: string;
  /** `--proxy-service-account`: NAMESPACE/NAME whose tokens may subscribe (default jairouter-system/jairouter-proxy). */
  proxyServiceAccount?: string;
  /**
   * The audience proxies' tokens must be minted for (a projected ServiceAccount token with this
   * audience; default jairouter-operator, as the Helm chart mounts). A token for another
   * audience, such as the API server's, is refused, so it cannot be replayed here and a token
   * meant for the operator is worth nothing elsewhere. Empty string: the API server's audience.
   */
  tokenAudience?: string;
  /** `--snapshot-secret` (default jairouter-snapshot). */
  snapshotSecret?: string;
  log?: Logger;
  /** The operator's metrics registry: the stream's request, push and open-stream metrics go there. */
  registry?: Registry;
  heartbeatMs?: number;
  /**
   * Share served versions across replicas (ADR 3): this replica writes what its own proxies
   * serve under `replica` (its pod name) in the ConfigMap jairouter-served of podNamespace,
   * and the leader's servedVersions() merges every replica's fresh entry. `store` replaces the
   * ConfigMap (tests). Without this option servedVersions() is this replica's proxies only.
   */
  shareServed?: { replica: string; store?: ServedStore } & Pick<ServedSyncOptions, 'now' | 'debounceMs' | 'heartbeatMs' | 'pollMs' | 'staleMs'>;
  /** Test seams: replace the Kubernetes-backed parts. */
  tokenReviewer?: TokenReviewer;
  certStore?: CertStore;
  snapshotStore?: SnapshotStore;
}

export const DEFAULTS = {
  listen: ':8443',
  podNamespace: 'jairouter-system',
  serviceName: 'jairouter-operator',
  proxyServiceAccount: 'jairouter-system/jairouter-proxy',
  snapshotSecret: 'jairouter-snapshot',
  tokenAudience: 'jairouter-operator',
} as const;

/**
 * Gets the TLS certificate (creating or renewing it in the Secret), starts the HTTPS snapshot
 * stream and returns the publisher. Every replica calls this; only the leader's publish()
 * calls write the snapshot Secret. Rejects when the listener or the certificate cannot be had
 * (e.g. no `openssl` to issue the first certificate).
 */
export async function createPublisher(opts: PublisherOptions = {}): Promise<DistributionPublisher> {
  const log = opts.log ?? pino({ level: 'silent' });
  const namespace = opts.podNamespace ?? DEFAULTS.podNamespace;
  const needKube = !opts.tokenReviewer || !opts.certStore || !opts.snapshotStore || (opts.shareServed !== undefined && !opts.shareServed.store);
  const kc = opts.kubeConfig ?? (needKube ? inCluster() : undefined);
  const kube = <T>(given: T | undefined, make: (k: KubeConfig) => T): T => given ?? make(kc!);

  const listen = parseHostPort('--listen', opts.listen ?? DEFAULTS.listen);
  const authenticator = new ProxyAuthenticator(
    kube(opts.tokenReviewer, (k) => new KubeTokenReviewer(k, [opts.tokenAudience ?? DEFAULTS.tokenAudience].filter(Boolean))),
    { account: opts.proxyServiceAccount ?? DEFAULTS.proxyServiceAccount },
  );
  const tls = new TlsManager({
    store: kube(opts.certStore, (k) => new KubeCertStore(k, namespace)),
    names: servingNames(opts.serviceName ?? DEFAULTS.serviceName, namespace),
    log,
  });
  const bundle = await tls.ensure();
  if (opts.registry !== undefined) certificateExpiryGauge([opts.registry], () => tls.expiry());
  let served: ServedSync | undefined;
  const server = new SnapshotServer({
    authenticator,
    tls: bundle,
    log,
    proxyCount: () => served?.servedVersions().size ?? 0,
    ...(opts.heartbeatMs !== undefined && { heartbeatMs: opts.heartbeatMs }),
    ...(opts.registry !== undefined && { registry: opts.registry }),
  });
  tls.start((b) => {
    server.setTls(b);
    log.info('serving with the renewed certificate');
  });
  try {
    await server.listen(listen.host, listen.port);
  } catch (e) {
    tls.stop();
    await server.close();
    throw new Error(`snapshot stream: cannot listen on ${opts.listen ?? DEFAULTS.listen}: ${(e as Error).message}`);
  }
  log.info({ listen: server.address() }, 'snapshot stream listening');
  const store = kube(opts.snapshotStore, (k) => new KubeSnapshotStore(k, namespace, opts.snapshotSecret ?? DEFAULTS.snapshotSecret));
  if (opts.shareServed) {
    const { replica, store: servedStore, ...timings } = opts.shareServed;
    served = new ServedSync({ ...timings, local: server, replica, log, store: kube(servedStore, (k) => new KubeServedStore(k, namespace)) });
    served.start();
  }
  return new DistributionPublisher({ server, store, tls, log, ...(served && { served }) });
}

function inCluster(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromDefault();
  return kc;
}
