import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Expands the paths of YAML inputs: a file as is, a directory to its *.yaml / *.yml files (sorted
 * by name, not recursive, dotfiles skipped: editors' swap and temp files). One rule for the
 * proxy's --config and `jairouter-operator compile -f`, so a directory means the same to both.
 * Throws the stat error of a path that does not exist.
 */
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
