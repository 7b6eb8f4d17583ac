// The local control plane for tests: startControlPlane() and what it needs.
export { startControlPlane, stopControlPlane, readControlPlane, type ControlPlane, type ControlPlaneOptions } from './control-plane.ts';
export { ensureBinaries, k8sBinaries, k8sVersions, missingBinaries, type K8sBinaries, type K8sVersions } from './binaries.ts';
export { kubeRequest, kubectl, runCommand, type KubeAccess, type KubeResponse, type CommandResult } from './kube.ts';
export { e2eConfig, type E2eConfig } from './config.ts';
export { connectCluster } from './external-cluster.ts';
