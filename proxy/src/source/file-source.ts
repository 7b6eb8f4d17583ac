import { readdirSync, readFileSync, statSync, watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import { compile, mergeResources, parseResourcesYaml, type CompileResult, type Resources } from '@jairouter/crds';

export interface LoadedFiles {
  resources: Resources;
  /** Files that could not be read or parsed, with the reason. */
  errors: string[];
  files: string[];
}

/** Expands --config paths: a file as is, a directory to its *.yaml / *.yml files (sorted). */
export function listConfigFiles(paths: readonly string[]): string[] {
  const out: string[] = [];
  for (const p of paths) {
    const st = statSync(p);
    if (st.isDirectory()) {
      for (const f of readdirSync(p).sort()) if (/\.ya?ml$/.test(f) && !f.startsWith('.')) out.push(join(p, f));
    } else out.push(p);
  }
  return out;
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

export { compile };

/**
 * Watches the config files and directories; calls `onChange` once per burst of events
 * (editors write files in several steps).
 */
export function watchPaths(paths: readonly string[], debounceMs: number, onChange: () => void): () => void {
  let timer: NodeJS.Timeout | undefined;
  const watchers: FSWatcher[] = [];
  const fire = (): void => {
    clearTimeout(timer);
    timer = setTimeout(onChange, debounceMs);
  };
  const arm = (): void => {
    for (const w of watchers.splice(0)) w.close();
    const targets = new Set<string>(paths);
    try {
      for (const f of listConfigFiles(paths)) targets.add(f);
    } catch {
      // A path that vanished is reported by the reload itself.
    }
    for (const t of targets) {
      try {
        watchers.push(watch(t, { persistent: false }, () => {
          fire();
          // Editors that replace the file (rename over it) end the old watch: watch anew.
          setTimeout(arm, debounceMs);
        }));
      } catch {
        // Missing now; the periodic rescan picks it up when it appears.
      }
    }
  };
  arm();
  // fs.watch misses events on some filesystems: a cheap periodic check of mtimes covers that.
  let last = fingerprint(paths);
  const poll = setInterval(() => {
    const f = fingerprint(paths);
    if (f !== last) {
      last = f;
      arm();
      fire();
    }
  }, 1000);
  poll.unref();
  return () => {
    clearInterval(poll);
    clearTimeout(timer);
    for (const w of watchers) w.close();
  };
}

function fingerprint(paths: readonly string[]): string {
  try {
    return listConfigFiles(paths)
      .map((f) => {
        const s = statSync(f);
        return `${f}:${s.mtimeMs}:${s.size}`;
      })
      .join('|');
  } catch (e) {
    return `error:${(e as Error).message}`;
  }
}
