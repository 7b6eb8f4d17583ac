// The local control plane (@jairouter/testkit/control-plane): startControlPlane() and what it
// needs. The vitest hooks around it are in ./testing.ts (@jairouter/testkit/control-plane/testing).
export { startControlPlane, stopControlPlane, readControlPlane, type ControlPlane, type ControlPlaneOptions } from './control-plane.ts';
export {
  ensureBinaries,
  isExecutable,
  k8sBinaries,
  k8sVersions,
  missingBinaries,
  parseVersionsEnv,
  type K8sBinaries,
  type K8sVersions,
} from './binaries.ts';
export { kubeconfigYaml, kubeRequest, kubectl, runCommand, type KubeAccess, type KubeRequestOptions, type KubeResponse, type CommandResult } from './kube.ts';
export { connectCluster } from './external-cluster.ts';
