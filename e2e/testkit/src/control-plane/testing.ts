// vitest helpers for tests against the local control plane. Such tests skip only when
// JAIROUTER_SKIP_K8S=1; otherwise missing binaries are built first (minutes, once per machine;
// CI builds them before the test run: `make k8s-binaries`).
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { parse } from 'yaml';
import { ensureBinaries, k8sBinaries, missingBinaries, type K8sBinaries } from './binaries.ts';
import { e2eConfig } from '../config.ts';
import { startControlPlane, type ControlPlane, type ControlPlaneOptions } from './control-plane.ts';
import { connectCluster } from './external-cluster.ts';
import { kubectl, kubeRequest, type KubeAccess } from './kube.ts';
import { waitFor } from '../wait-for.ts';

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

/** The field manager of everything the tests apply server-side. */
export const FIELD_MANAGER = 'jairouter-e2e';

export interface Crd {
  metadata: { name: string };
  spec: { group: string; names: { kind: string; plural: string }; versions: { name: string; served: boolean; storage: boolean }[] };
}

/** The CustomResourceDefinitions in DIR's *.yaml files (one per file), by file name. */
export function readCrds(dir: string): Crd[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => parse(readFileSync(join(dir, f), 'utf8')) as Crd);
}

/** Applies the CRDs in DIR server-side and waits until they are Established and every kind lists
 * (Established can precede the custom resource handler by a moment). */
export async function installCrds(access: KubeAccess, dir: string): Promise<void> {
  const apply = await kubectl(access, ['apply', '--server-side', `--field-manager=${FIELD_MANAGER}`, '-f', dir]);
  if (apply.code !== 0) throw new Error(`applying the CRDs in ${dir}: ${apply.stderr}`);
  const wait = await kubectl(access, ['wait', '--for=condition=Established', '--timeout=60s', '-f', dir]);
  if (wait.code !== 0) throw new Error(`CRDs in ${dir} not Established: ${wait.stderr}`);
  for (const crd of readCrds(dir)) {
    const path = `/apis/${crd.spec.group}/${crd.spec.versions.find((v) => v.storage)!.name}/${crd.spec.names.plural}`;
    await waitFor(`${path} served`, async () => (await kubeRequest(access, path)).status === 200);
  }
}
