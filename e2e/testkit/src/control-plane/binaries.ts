// Where the control plane's binaries (and the tests' Prometheus, promtool and Jaeger, and KEDA's
// CRDs) are, and building them when they are not there yet (e2e/testkit/scripts/build-k8s-binaries.sh; the first
// build takes many minutes, later ones nothing).
import { spawn } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SCRIPTS = fileURLToPath(new URL('../../scripts/', import.meta.url));
const BUILD_SCRIPT = join(SCRIPTS, 'build-k8s-binaries.sh');

export interface K8sVersions {
  kubernetes: string;
  kubectl: string;
  etcd: string;
  helm: string;
}

export interface ObservabilityVersions {
  /** Go module version of github.com/prometheus/prometheus (v0.316.0 is Prometheus 3.16.0). */
  prometheus: string;
  /** Go module version of github.com/jaegertracing/jaeger (the v1 number of a v2 release). */
  jaeger: string;
}

/** The tests' Prometheus, promtool and Jaeger, built by the same script into the same directory. */
export interface ObservabilityBinaries {
  prometheus: string;
  promtool: string;
  jaeger: string;
  versions: ObservabilityVersions;
}

/** KEDA's CustomResourceDefinitions, copied by the same script from the Go module
 * github.com/kedacore/keda/v2 (config/crd/bases) into `<cacheDir>/k8s/bin/keda-<version>`. */
export interface KedaCrds {
  /** The directory holding both files (and nothing else): `kubectl apply -f` takes it whole. */
  dir: string;
  /** keda.sh_scaledobjects.yaml (ScaledObject, keda.sh/v1alpha1). */
  scaledObjects: string;
  /** keda.sh_triggerauthentications.yaml (TriggerAuthentication, keda.sh/v1alpha1). */
  triggerAuthentications: string;
  /** KEDA_VERSION of k8s-versions.env: the Go module version (v2.21.0 is KEDA 2.21.0). */
  version: string;
}

export interface K8sBinaries {
  kubeApiserver: string;
  etcd: string;
  kubectl: string;
  helm: string;
  versions: K8sVersions;
  /** KEDA's CRDs next to the binaries (fetched by the build script, which ensureKedaCrds runs;
   * missingBinaries does not count them). */
  kedaCrds: KedaCrds;
}

/** The KEY=VALUE lines of k8s-versions.env (comments and blank lines skipped). */
function envVars(text: string): Map<string, string> {
  const vars = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) throw new Error(`k8s-versions.env: not KEY=VALUE: ${JSON.stringify(line)}`);
    vars.set(line.slice(0, eq), line.slice(eq + 1));
  }
  return vars;
}

function versionOf(vars: Map<string, string>, key: string): string {
  const v = vars.get(key);
  if (!v || !/^v\d+\.\d+\.\d+$/.test(v)) throw new Error(`k8s-versions.env: ${key} must be vX.Y.Z, got ${JSON.stringify(v)}`);
  return v;
}

/** Parses the KEY=VALUE lines of k8s-versions.env, the file the build script sources too: the
 * control plane's versions (the observability ones: parseObservabilityVersionsEnv). */
export function parseVersionsEnv(text: string): K8sVersions {
  const vars = envVars(text);
  return {
    kubernetes: versionOf(vars, 'KUBERNETES_VERSION'),
    kubectl: versionOf(vars, 'KUBECTL_VERSION'),
    etcd: versionOf(vars, 'ETCD_VERSION'),
    helm: versionOf(vars, 'HELM_VERSION'),
  };
}

/** The Prometheus and Jaeger versions in the same file (Go module versions: Prometheus 3.16.0 is
 * v0.316.0). */
export function parseObservabilityVersionsEnv(text: string): ObservabilityVersions {
  const vars = envVars(text);
  return { prometheus: versionOf(vars, 'PROMETHEUS_VERSION'), jaeger: versionOf(vars, 'JAEGER_VERSION') };
}

/** KEDA_VERSION of the same file (the Go module version of github.com/kedacore/keda/v2). */
export function parseKedaVersionEnv(text: string): string {
  return versionOf(envVars(text), 'KEDA_VERSION');
}

function versionsEnvText(): string {
  return readFileSync(join(SCRIPTS, 'k8s-versions.env'), 'utf8');
}

export function k8sVersions(): K8sVersions {
  return parseVersionsEnv(versionsEnvText());
}

export function observabilityVersions(): ObservabilityVersions {
  return parseObservabilityVersionsEnv(versionsEnvText());
}

export function kedaVersion(): string {
  return parseKedaVersionEnv(versionsEnvText());
}

/** KEDA's CRDs under `<cacheDir>/k8s/bin/keda-<version>`, whether fetched or not. */
export function kedaCrds(cacheDir: string, version: string = kedaVersion()): KedaCrds {
  const dir = join(cacheDir, 'k8s', 'bin', `keda-${version}`);
  return {
    dir,
    scaledObjects: join(dir, 'keda.sh_scaledobjects.yaml'),
    triggerAuthentications: join(dir, 'keda.sh_triggerauthentications.yaml'),
    version,
  };
}

/** The binaries' paths under `<cacheDir>/k8s/bin`, named by version, whether built or not. */
export function k8sBinaries(cacheDir: string, versions: K8sVersions = k8sVersions(), keda: string = kedaVersion()): K8sBinaries {
  const bin = join(cacheDir, 'k8s', 'bin');
  return {
    kubeApiserver: join(bin, `kube-apiserver-${versions.kubernetes}`),
    etcd: join(bin, `etcd-${versions.etcd}`),
    kubectl: join(bin, `kubectl-${versions.kubectl}`),
    helm: join(bin, `helm-${versions.helm}`),
    versions,
    kedaCrds: kedaCrds(cacheDir, keda),
  };
}

/** Prometheus, promtool and Jaeger under `<cacheDir>/k8s/bin`, named by version, whether built or not. */
export function observabilityBinaries(cacheDir: string, versions: ObservabilityVersions = observabilityVersions()): ObservabilityBinaries {
  const bin = join(cacheDir, 'k8s', 'bin');
  return {
    prometheus: join(bin, `prometheus-${versions.prometheus}`),
    promtool: join(bin, `promtool-${versions.prometheus}`),
    jaeger: join(bin, `jaeger-${versions.jaeger}`),
    versions,
  };
}

export function isExecutable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The paths among B's binaries that are not there (yet). */
export function missingBinaries(b: K8sBinaries | ObservabilityBinaries): string[] {
  const paths = 'kubeApiserver' in b ? [b.kubeApiserver, b.etcd, b.kubectl, b.helm] : [b.prometheus, b.promtool, b.jaeger];
  return paths.filter((p) => !isExecutable(p));
}

/** The files among KEDA's CRDs that are not there (yet). */
export function missingKedaCrds(c: KedaCrds): string[] {
  return [c.scaledObjects, c.triggerAuthentications].filter((p) => !existsSync(p));
}

export interface EnsureOptions {
  cacheDir: string;
  /** Receives the build's output lines (default: this process's stderr). */
  log?: (line: string) => void;
}

/** Returns the binaries, running the build script first when any is missing. */
export async function ensureBinaries(opts: EnsureOptions): Promise<K8sBinaries> {
  const bins = k8sBinaries(opts.cacheDir);
  if (missingBinaries(bins).length === 0) return bins;
  return ensureBuilt(opts, bins, 'the Kubernetes binaries');
}

/** Prometheus, promtool and Jaeger, running the build script first when any is missing (it
 * builds whatever else of its binaries is missing too). */
export async function ensureObservabilityBinaries(opts: EnsureOptions): Promise<ObservabilityBinaries> {
  const bins = observabilityBinaries(opts.cacheDir);
  if (missingBinaries(bins).length === 0) return bins;
  return ensureBuilt(opts, bins, 'Prometheus, promtool and Jaeger');
}

/** KEDA's CRDs, running the build script first when they are missing (it builds whatever of its
 * binaries is missing too; with all of them there, it only downloads the KEDA module). */
export async function ensureKedaCrds(opts: EnsureOptions): Promise<KedaCrds> {
  const crds = kedaCrds(opts.cacheDir);
  if (missingKedaCrds(crds).length === 0) return crds;
  return ensureBuilt(opts, crds, "KEDA's CRDs", missingKedaCrds);
}

async function ensureBuilt<B>(
  opts: EnsureOptions,
  bins: B,
  what: string,
  missing: (b: B) => string[] = (b) => missingBinaries(b as K8sBinaries | ObservabilityBinaries),
): Promise<B> {
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  log(`jairouter-envtest: building ${what} into ${join(opts.cacheDir, 'k8s')} (the first build takes a while)`);
  await new Promise<void>((resolve, reject) => {
    const child = spawn('bash', [BUILD_SCRIPT], {
      env: { ...process.env, JAIROUTER_CACHE: opts.cacheDir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const tail: string[] = [];
    const onData = (chunk: Buffer): void => {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line === '' || line.startsWith('go: downloading')) continue;
        tail.push(line);
        if (tail.length > 30) tail.shift();
        log(line);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`${BUILD_SCRIPT} failed (${signal ?? `exit ${code}`}):\n${tail.join('\n')}`));
    });
  });
  const still = missing(bins);
  if (still.length > 0) throw new Error(`build finished but these are missing: ${still.join(', ')}`);
  return bins;
}
