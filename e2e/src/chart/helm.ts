// Helpers for the Helm chart test: find helm and kubectl, run them, render the chart.
import { spawn } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const CHART = join(REPO, 'charts/jairouter');

/** Versions pinned for the local control plane (e2e/scripts/k8s-versions.env). */
function pinnedVersions(): Record<string, string> {
  const out: Record<string, string> = {};
  try {
    for (const line of readFileSync(join(REPO, 'e2e/scripts/k8s-versions.env'), 'utf8').split('\n')) {
      const m = /^([A-Z_]+)=(\S+)/.exec(line.trim());
      if (m) out[m[1]!] = m[2]!;
    }
  } catch {
    // no pinned versions: PATH only
  }
  return out;
}

function executable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Where build-k8s-binaries.sh puts a tool (`$JAIROUTER_CACHE/k8s/bin/NAME-VERSION`), else
 * `NAME` on PATH. `JAIROUTER_HELM` / `JAIROUTER_KUBECTL` override. Undefined when not found.
 */
export function findTool(name: 'helm' | 'kubectl'): string | undefined {
  const override = process.env[`JAIROUTER_${name.toUpperCase()}`];
  if (override) return executable(override) ? override : undefined;
  const pinned = pinnedVersions();
  const version = name === 'helm' ? pinned.HELM_VERSION : (pinned.KUBECTL_VERSION ?? pinned.KUBERNETES_VERSION);
  const cache = process.env.JAIROUTER_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'jairouter');
  if (version) {
    const built = join(cache, 'k8s', 'bin', `${name}-${version}`);
    if (executable(built)) return built;
  }
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && executable(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function run(cmd: string, args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { cwd: REPO, env: { ...process.env, ...opts.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(opts.input ?? '');
  });
}

/** A Kubernetes object as rendered; only the keys the tests read are typed. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [key: string]: unknown;
}

export function parseObjects(text: string): K8sObject[] {
  const out: K8sObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(`helm template printed invalid YAML: ${doc.errors[0]!.message}`);
    const o: unknown = doc.toJS();
    if (o !== null && o !== undefined) out.push(o as K8sObject);
  }
  return out;
}

/**
 * Runs `helm ARGS... -f values.json` (a values file rather than --set, so values keep their
 * types); throws with helm's stderr on failure unless `allowFailure`.
 */
export async function helmWithValues(helm: string, args: string[], values: object, allowFailure = false): Promise<RunResult> {
  const dir = mkdtempSync(join(tmpdir(), 'jairouter-chart-'));
  try {
    const file = join(dir, 'values.json');
    writeFileSync(file, JSON.stringify(values));
    const r = await run(helm, [...args, '-f', file]);
    if (r.code !== 0 && !allowFailure) throw new Error(`helm ${args.join(' ')} failed (${r.code}):\n${r.stderr}${r.stdout}`);
    return r;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function render(helm: string, values: object = {}, namespace = 'jairouter-system'): Promise<K8sObject[]> {
  const r = await helmWithValues(helm, ['template', 'jairouter', CHART, '--namespace', namespace], values);
  return parseObjects(r.stdout);
}
