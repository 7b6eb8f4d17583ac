// Writes the CRD manifests (crds/manifests/, charts/jairouter/crds/) and
// docs/reference/crds.md from the zod schemas, and docs/adapters.md's support matrix from the
// conformance table (@jairouter/testkit/providers/support). `--check` writes nothing and exits 1
// listing every file that differs from what it would write (make check-generated).
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { renderSupportMatrix } from '@jairouter/testkit/providers/support';
import { MANIFEST_DIRS, generatedFiles, type GeneratedFile } from '../src/crd/generated-files.ts';

const root = resolve(import.meta.dirname, '../..');
const check = process.argv.includes('--check');
const unknown = process.argv.slice(2).filter((a) => a !== '--check');
if (unknown.length > 0) {
  console.error(`usage: node crds/scripts/generate.ts [--check]  (unknown: ${unknown.join(' ')})`);
  process.exit(2);
}

const ADAPTERS_DOC = 'docs/adapters.md';
const MATRIX = /(<!-- support-matrix:start[^>]*-->\n)(?:[\s\S]*?\n)?(<!-- support-matrix:end -->)/;

/** docs/adapters.md with its support matrix regenerated from the conformance table. */
function adaptersDoc(): GeneratedFile {
  const current = readFileSync(join(root, ADAPTERS_DOC), 'utf8');
  if (!MATRIX.test(current)) throw new Error(`${ADAPTERS_DOC}: the support-matrix markers are missing`);
  return { path: ADAPTERS_DOC, content: current.replace(MATRIX, (_m, start: string, end: string) => `${start}${renderSupportMatrix()}\n${end}`) };
}

const files = [...generatedFiles(), adaptersDoc()];
const wanted = new Set(files.map((f) => f.path));
const stale: string[] = [];
for (const f of files) {
  const abs = join(root, f.path);
  const current = existsSync(abs) ? readFileSync(abs, 'utf8') : undefined;
  if (current === f.content) continue;
  stale.push(`${f.path}${current === undefined ? ' (missing)' : ''}`);
  if (!check) {
    mkdirSync(dirname(abs), { recursive: true });
    writeFileSync(abs, f.content);
  }
}
// a manifest of a kind that no longer exists would still be installed
for (const dir of MANIFEST_DIRS) {
  const abs = join(root, dir);
  if (!existsSync(abs)) continue;
  for (const name of readdirSync(abs)) {
    const path = `${dir}/${name}`;
    if (!/\.ya?ml$/.test(name) || wanted.has(path)) continue;
    stale.push(`${path} (not generated any more)`);
    if (!check) rmSync(join(root, path));
  }
}

if (check) {
  if (stale.length > 0) {
    console.error(`Generated files are stale; run \`make generate\` and commit the result:\n  ${stale.join('\n  ')}`);
    process.exit(1);
  }
  console.log(`${files.length} generated files are up to date.`);
} else {
  console.log(stale.length > 0 ? `updated:\n  ${stale.join('\n  ')}` : `${files.length} generated files were already up to date.`);
}
