import { readFileSync } from 'node:fs';
import { mergeResources, parseResourcesYaml, type CompileResult, type Resources } from '@jairouter/crds';
import { listConfigFiles } from '@jairouter/crds/config-files';

export interface LoadedFiles {
  resources: Resources;
  /** Files that could not be read or parsed, with the reason. */
  errors: string[];
  files: string[];
}

export function loadFiles(paths: readonly string[]): LoadedFiles {
  const errors: string[] = [];
  let files: string[] = [];
  try {
    files = listConfigFiles(paths);
  } catch (e) {
    return { resources: mergeResources(), errors: [(e as Error).message], files };
  }
  const parts: Resources[] = [];
  for (const f of files) {
    let text: string;
    try {
      text = readFileSync(f, 'utf8');
    } catch (e) {
      errors.push(`${f}: ${(e as Error).message}`);
      continue;
    }
    const r = parseResourcesYaml(text, f);
    errors.push(...r.errors);
    parts.push(r.resources);
  }
  return { resources: mergeResources(...parts), errors, files };
}

export interface Verdict {
  apply: boolean;
  /** Why the new config is held back (empty when applied). */
  problems: string[];
}

/**
 * Decides whether a reload may replace the config being served: an edit that would drop or
 * degrade something that is served now (a parse error, a rejected object, an unresolved
 * reference) keeps the last good config, so a typo never takes a route down.
 */
export function judgeReload(loaded: LoadedFiles, next: CompileResult, servedIds: ReadonlySet<string>): Verdict {
  const problems = [...loaded.errors];
  for (const s of next.statuses) {
    if (s.kind !== 'ModelRoute' && s.kind !== 'Tenant') continue;
    const id = `${s.kind}/${s.namespace}/${s.name}`;
    if (!servedIds.has(id)) continue;
    for (const c of s.conditions) {
      if (c.status === 'False') problems.push(`${s.kind} ${s.namespace}/${s.name}: ${c.reason}: ${c.message}`);
    }
  }
  return { apply: problems.length === 0, problems };
}

export function servedIds(result: CompileResult): Set<string> {
  const ids = new Set<string>();
  for (const r of result.config.routes) ids.add(`ModelRoute/${r.id}`);
  for (const t of result.config.tenants) ids.add(`Tenant/${t.id}`);
  return ids;
}
