// Helpers for the Helm chart test: find helm, run it, render the chart.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { e2eConfig, REPO_ROOT } from '@jairouter/testkit/config';
import { isExecutable, k8sBinaries, runCommand, type CommandResult } from '@jairouter/testkit/control-plane';

export const CHART = join(REPO_ROOT, 'charts/jairouter');

/**
 * helm: `JAIROUTER_HELM` if set, else the one build-k8s-binaries.sh made
 * (`<cache>/k8s/bin/helm-<HELM_VERSION>`), else `helm` on PATH. Undefined when none exists.
 */
export function findHelm(): string | undefined {
  const override = process.env['JAIROUTER_HELM'];
  if (override) return isExecutable(override) ? override : undefined;
  const built = k8sBinaries(e2eConfig().cacheDir).helm;
  if (isExecutable(built)) return built;
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    if (dir && isExecutable(join(dir, 'helm'))) return join(dir, 'helm');
  }
  return undefined;
}

/** A Kubernetes object as rendered; only the keys the tests read are typed. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [key: string]: unknown;
}

function parseObjects(text: string): K8sObject[] {
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
export async function helmWithValues(helm: string, args: string[], values: object | undefined, allowFailure = false): Promise<CommandResult> {
  const dir = mkdtempSync(join(tmpdir(), 'jairouter-chart-'));
  try {
    const file = join(dir, 'values.json');
    writeFileSync(file, JSON.stringify(values ?? {}));
    const r = await runCommand(helm, values === undefined ? args : [...args, '-f', file]);
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
