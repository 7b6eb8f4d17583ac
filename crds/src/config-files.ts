import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

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
