// vitest helpers for tests against the local control plane. Such tests skip only when
// JAIROUTER_SKIP_K8S=1; otherwise missing binaries are built first (minutes, once per machine;
// CI builds them before the test run: `make k8s-binaries`).
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll } from 'vitest';
import { ensureBinaries, k8sBinaries, missingBinaries, type K8sBinaries } from './binaries.ts';
import { e2eConfig } from './config.ts';
import { startControlPlane, type ControlPlane, type ControlPlaneOptions } from './control-plane.ts';
import { connectCluster } from './external-cluster.ts';
import { kubeRequest, type KubeAccess } from './kube.ts';

const config = e2eConfig();

/** For describe.skipIf(skipK8s). */
export const skipK8s = config.skipK8s;

/** A hook timeout that leaves room for building the binaries when they are missing. */
export function setupTimeoutMs(): number {
  return missingBinaries(k8sBinaries(config.cacheDir)).length > 0 ? 60 * 60_000 : 3 * 60_000;
}

export function useBinaries(): () => K8sBinaries {
  let bins: K8sBinaries | undefined;
  beforeAll(async () => {
    bins = await ensureBinaries({ cacheDir: config.cacheDir });
  }, setupTimeoutMs());
  return () => {
    if (!bins) throw new Error('binaries not ready (beforeAll failed?)');
    return bins;
  };
}

/**
 * One control plane for the calling test file: started in beforeAll, stopped in afterAll. With
 * JAIROUTER_E2E_KUBECONFIG set, the existing cluster it names instead (see external-cluster.ts).
 */
export function useControlPlane(opts: Omit<ControlPlaneOptions, 'binaries'> = {}): () => ControlPlane {
  let cp: ControlPlane | undefined;
  beforeAll(async () => {
    const binaries = await ensureBinaries({ cacheDir: config.cacheDir });
    if (config.externalKubeconfig !== undefined) {
      if (opts.apiServerArgs?.length) throw new Error(`this test needs kube-apiserver flags (${opts.apiServerArgs.join(' ')}); it cannot run against JAIROUTER_E2E_KUBECONFIG`);
      cp = connectCluster(config.externalKubeconfig, binaries);
      return;
    }
    cp = await startControlPlane({ ...opts, binaries });
  }, setupTimeoutMs());
  afterAll(async () => {
    await cp?.stop();
  }, 30_000);
  return () => {
    if (!cp) throw new Error('control plane not started (beforeAll failed?)');
    return cp;
  };
}

/** Creates a namespace with a fresh name (there is no controller-manager to delete one). */
export async function freshNamespace(access: KubeAccess, prefix: string): Promise<string> {
  const name = `${prefix}-${randomBytes(4).toString('hex')}`;
  const res = await kubeRequest(access, '/api/v1/namespaces', { method: 'POST', body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name } } });
  if (res.status !== 201) throw new Error(`creating namespace ${name}: ${res.status} ${res.text}`);
  return name;
}
