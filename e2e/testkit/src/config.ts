// The only place the testkit reads process.env, and where the repository is.
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's root directory (with a trailing slash). */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export interface E2eConfig {
  /** Cache root shared with scripts/node-env.sh; binaries live in `<cacheDir>/k8s/bin`. */
  cacheDir: string;
  /** JAIROUTER_SKIP_K8S=1: tests that need the local control plane skip instead of building it. */
  skipK8s: boolean;
  /** JAIROUTER_E2E_KUBECONFIG: run the control-plane tests against this existing cluster (kind)
   * instead of starting a local one. */
  externalKubeconfig: string | undefined;
}

export function e2eConfig(env: NodeJS.ProcessEnv = process.env): E2eConfig {
  const cacheDir = env['JAIROUTER_CACHE'] || join(env['XDG_CACHE_HOME'] || join(homedir(), '.cache'), 'jairouter');
  return { cacheDir, skipK8s: env['JAIROUTER_SKIP_K8S'] === '1', externalKubeconfig: env['JAIROUTER_E2E_KUBECONFIG'] || undefined };
}
