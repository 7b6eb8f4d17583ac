// The local control plane (@jairouter/testkit/control-plane): startControlPlane() and what it
// needs. The vitest hooks around it are in ./testing.ts (@jairouter/testkit/control-plane/testing).
export { startControlPlane, stopControlPlane, readControlPlane, type ControlPlane, type ControlPlaneOptions } from './control-plane.ts';
export {
  ensureBinaries,
  ensureObservabilityBinaries,
  isExecutable,
  k8sBinaries,
  k8sVersions,
  missingBinaries,
  observabilityBinaries,
  observabilityVersions,
  parseObservabilityVersionsEnv,
  parseVersionsEnv,
  type K8sBinaries,
  type K8sVersions,
  type ObservabilityBinaries,
  type ObservabilityVersions,
} from './binaries.ts';
export { kubeconfigYaml, kubeRequest, kubectl, runCommand, type KubeAccess, type KubeRequestOptions, type KubeResponse, type CommandResult } from './kube.ts';
export { connectCluster } from './external-cluster.ts';
