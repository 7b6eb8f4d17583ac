// The Prometheus Operator's CRDs (ServiceMonitor, PrometheusRule), taken from its Go module
// (example/prometheus-operator-crd/ of github.com/prometheus-operator/prometheus-operator) into
// the same module cache the control plane's binaries are built with, so the chart's monitoring
// objects are validated against the real schemas rather than a hand-written copy.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { e2eConfig } from '@jairouter/testkit/config';

/** The newest version of the module (not only pkg/apis) the Go module proxy serves here. */
export const PROMETHEUS_OPERATOR_VERSION = 'v0.89.0';
const CRDS = ['monitoring.coreos.com_servicemonitors.yaml', 'monitoring.coreos.com_prometheusrules.yaml'];

/** A directory holding the ServiceMonitor and PrometheusRule CRDs (downloads the module once). */
export function prometheusOperatorCrds(): string {
  const out = execFileSync('go', ['mod', 'download', '-json', `github.com/prometheus-operator/prometheus-operator@${PROMETHEUS_OPERATOR_VERSION}`], {
    cwd: tmpdir(),
    encoding: 'utf8',
    env: { ...process.env, GOMODCACHE: join(e2eConfig().cacheDir, 'k8s', 'gomod'), GOFLAGS: '-mod=mod', GOWORK: 'off' },
    timeout: 300_000,
  });
  const dir = (JSON.parse(out) as { Dir?: string; Error?: string });
  if (!dir.Dir) throw new Error(`go mod download prometheus-operator ${PROMETHEUS_OPERATOR_VERSION}: ${dir.Error ?? out}`);
  const into = mkdtempSync(join(tmpdir(), 'jairouter-prometheus-operator-crds-'));
  for (const f of CRDS) copyFileSync(join(dir.Dir, 'example', 'prometheus-operator-crd', f), join(into, f));
  return into;
}
