import { existsSync } from 'node:fs';
import { delimiter } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';

/** Mounted in every Pod that has a ServiceAccount; client-node takes its presence to mean "in a Pod". */
export const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

export interface KubeconfigSearch {
  /** --kubeconfig */
  flag: string | undefined;
  /** $KUBECONFIG: one path or several joined by ':' (merged, first wins). */
  env: string | undefined;
  /** ~/.kube/config */
  homeConfig: string;
}

export class NoKubeconfigError extends Error {}

/**
 * The cluster credentials the operator runs with, looked for in client-node's order: --kubeconfig,
 * $KUBECONFIG, ~/.kube/config, the Pod's ServiceAccount. client-node's own loadFromDefault() falls
 * back to http://localhost:8080 when it finds none, which fails much later as "HTTP protocol is not
 * allowed when skipTLSVerify is not set or false": a TLS puzzle instead of the missing file. Here
 * finding none is an error that says where it looked and how to point the operator at a cluster.
 */
export function loadKubeConfig(s: KubeconfigSearch, exists: (path: string) => boolean = existsSync): KubeConfig {
  const kc = new KubeConfig();
  if (s.flag !== undefined) {
    loadFile(kc, s.flag, '--kubeconfig');
    return withCluster(kc, `${s.flag} (from --kubeconfig)`);
  }
  const envFiles = (s.env ?? '').split(delimiter).filter(Boolean);
  if (envFiles.length > 0) {
    loadFile(kc, envFiles[0]!, '$KUBECONFIG');
    for (const f of envFiles.slice(1)) {
      const more = new KubeConfig();
      loadFile(more, f, '$KUBECONFIG');
      // kubectl's rule: the first file that sets current-context wins (client-node's default is the last).
      kc.mergeConfig(more, Boolean(kc.currentContext));
    }
    return withCluster(kc, `${s.env} (from $KUBECONFIG)`);
  }
  if (exists(s.homeConfig)) {
    loadFile(kc, s.homeConfig, 'the default location');
    return withCluster(kc, s.homeConfig);
  }
  if (exists(SERVICE_ACCOUNT_TOKEN)) {
    kc.loadFromCluster();
    return kc;
  }
  throw new NoKubeconfigError([
    'no kubeconfig found. Looked for, in order:',
    '  --kubeconfig PATH          not given',
    '  $KUBECONFIG                not set',
    `  ${s.homeConfig.padEnd(26)} does not exist`,
    `  in-cluster ServiceAccount  no token at ${SERVICE_ACCOUNT_TOKEN} (not in a Pod)`,
    'Point the operator at a cluster with --kubeconfig PATH or KUBECONFIG=PATH',
    '(a local API server for trying it out: npx jairouter-envtest up --dir DIR prints its KUBECONFIG).',
  ].join('\n'));
}

function loadFile(kc: KubeConfig, path: string, from: string): void {
  try {
    kc.loadFromFile(path);
  } catch (e) {
    throw new Error(`${path} (from ${from}): ${(e as Error).message}`, { cause: e });
  }
}

function withCluster(kc: KubeConfig, where: string): KubeConfig {
  if (!kc.getCurrentCluster()) throw new Error(`${where}: no current cluster (is current-context set, naming a context and cluster that exist?)`);
  return kc;
}
