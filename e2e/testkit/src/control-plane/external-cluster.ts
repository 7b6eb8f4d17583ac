// An existing cluster (kind, or any API server) in place of the local control plane: the same
// suites run against it when JAIROUTER_E2E_KUBECONFIG names its kubeconfig (`make e2e-kind`).
// The tests talk to the API server with raw HTTPS as an admin, so the kubeconfig's current
// context must carry a client certificate (kind's does); token and exec users are refused with
// a message saying so. Nothing of the cluster is started or stopped here.
import { mkdtempSync, readFileSync, rmSync, symlinkSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { parse } from 'yaml';
import type { K8sBinaries } from './binaries.ts';
import type { ControlPlane } from './control-plane.ts';
import { kubeconfigYaml } from './kube.ts';

interface KubeconfigFile {
  'current-context'?: string;
  contexts?: { name: string; context?: { cluster?: string; user?: string } }[];
  clusters?: { name: string; cluster?: Record<string, unknown> }[];
  users?: { name: string; user?: Record<string, unknown> }[];
}

/** Connects to the cluster of a kubeconfig's current context; stop() only removes the temporary files. */
export function connectCluster(kubeconfig: string, bins: K8sBinaries): ControlPlane {
  const path = resolve(kubeconfig);
  let doc: KubeconfigFile;
  try {
    doc = parse(readFileSync(path, 'utf8')) as KubeconfigFile;
  } catch (e) {
    throw new Error(`JAIROUTER_E2E_KUBECONFIG=${kubeconfig}: cannot read it: ${(e as Error).message}`);
  }
  const fail = (why: string): never => {
    throw new Error(`JAIROUTER_E2E_KUBECONFIG=${kubeconfig}: ${why}`);
  };
  const ctxName = doc['current-context'] ?? fail('no current-context');
  const ctx = doc.contexts?.find((c) => c.name === ctxName)?.context ?? fail(`context ${ctxName} not found`);
  const cluster = doc.clusters?.find((c) => c.name === ctx.cluster)?.cluster ?? fail(`cluster ${String(ctx.cluster)} not found`);
  const user = doc.users?.find((u) => u.name === ctx.user)?.user ?? fail(`user ${String(ctx.user)} not found`);
  const server = typeof cluster['server'] === 'string' ? cluster['server'] : fail('the cluster has no server');

  const dir = mkdtempSync(join(tmpdir(), 'jairouter-cluster-'));
  try {
    const base = dirname(path);
    /** A PEM from `<field>-data` (base64) or `<field>` (a path, relative to the kubeconfig). */
    const pem = (from: Record<string, unknown>, field: string, what: string, out: string): string => {
      const data = from[`${field}-data`];
      const file = join(dir, out);
      if (typeof data === 'string') writeFileSync(file, Buffer.from(data, 'base64'), { mode: 0o600 });
      else if (typeof from[field] === 'string') {
        const p = from[field];
        writeFileSync(file, readFileSync(isAbsolute(p) ? p : join(base, p)), { mode: 0o600 });
      } else fail(`the ${what} needs ${field} or ${field}-data (token and exec users are not supported: the tests need a client certificate with cluster-admin rights)`);
      return file;
    };
    const caCert = pem(cluster, 'certificate-authority', `cluster ${String(ctx.cluster)}`, 'ca.crt');
    const adminCert = pem(user, 'client-certificate', `user ${String(ctx.user)}`, 'admin.crt');
    const adminKey = pem(user, 'client-key', `user ${String(ctx.user)}`, 'admin.key');
    const binDir = join(dir, 'bin');
    mkdirSync(binDir);
    const kubectlPath = join(binDir, 'kubectl');
    const helmPath = join(binDir, 'helm');
    symlinkSync(bins.kubectl, kubectlPath);
    symlinkSync(bins.helm, helmPath);
    // kubectl and the operator get a kubeconfig of the chosen context alone, as the local control plane writes one.
    const pinned = join(dir, 'kubeconfig');
    writeFileSync(pinned, kubeconfigYaml({ server, caCert, adminCert, adminKey }), { mode: 0o600 });
    return {
      server,
      caCert,
      adminCert,
      adminKey,
      kubeconfig: pinned,
      kubectlPath,
      dir,
      etcdUrl: '',
      binDir,
      helmPath,
      versions: bins.versions,
      stop: async () => rmSync(dir, { recursive: true, force: true }),
    };
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}
