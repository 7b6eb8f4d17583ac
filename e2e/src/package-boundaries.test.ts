// Packages meet only through their names and `exports` (ARCHITECTURE.md, "Packages"): an import
// that reaches into another workspace package by a relative path ('../../../e2e/src/...') makes
// that package's private files its API, and breaks when they move. And product code never
// imports the test support: what the bins and the exports of crds, proxy and operator reach must
// not touch @jairouter/testkit.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '@jairouter/testkit/config';

const CODE = /\.(?:[cm]?[jt]s)$/;
const TESTKIT = '@jairouter/testkit';

interface Workspace {
  /** Folder relative to the repo root, with '/' separators: 'e2e/testkit'. */
  dir: string;
  name: string;
  bin: string[];
  exports: Record<string, string>;
}

function workspaces(root: string): Workspace[] {
  const rootPkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { workspaces: string[] };
  return rootPkg.workspaces.map((dir) => {
    const pkg = JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8')) as {
      name: string;
      bin?: string | Record<string, string>;
      exports?: string | Record<string, string>;
    };
    const bin = typeof pkg.bin === 'string' ? [pkg.bin] : Object.values(pkg.bin ?? {});
    const exports = typeof pkg.exports === 'string' ? { '.': pkg.exports } : (pkg.exports ?? {});
    return { dir: dir.replace(/\/+$/, ''), name: pkg.name, bin, exports };
  });
}

/** The workspace a repo-relative path belongs to: the deepest folder holding it (e2e/testkit/x is
 * the testkit's, not e2e's). */
function ownerOf(path: string, all: readonly Workspace[]): Workspace | undefined {
  let best: Workspace | undefined;
  for (const w of all) if ((path === w.dir || path.startsWith(`${w.dir}/`)) && (!best || w.dir.length > best.dir.length)) best = w;
  return best;
}

/** Every module specifier of a source text: static imports and re-exports, `import x = require()`,
 * dynamic import() and require() with a literal, found by TypeScript's scanner (comments and
 * strings that merely contain `from '...'` are not imports). */
function specifiers(text: string): string[] {
  return ts.preProcessFile(text, true, true).importedFiles.map((f) => f.fileName);
}

const toRepoPath = (root: string, abs: string): string => relative(root, abs).split(sep).join('/');

interface Crossing {
  file: string;
  specifier: string;
  /** The repo-relative path the specifier resolves to. */
  target: string;
  from: string;
  into: string;
}

/** Relative (or absolute) specifiers in `files` that resolve into another workspace's folder. */
function crossings(root: string, all: readonly Workspace[], files: readonly { path: string; text: string }[]): Crossing[] {
  const out: Crossing[] = [];
  for (const { path, text } of files) {
    const from = ownerOf(path, all);
    if (!from) continue;
    for (const specifier of specifiers(text)) {
      if (!specifier.startsWith('.') && !specifier.startsWith('/')) continue;
      const target = toRepoPath(root, resolve(root, dirname(path), specifier));
      const into = ownerOf(target, all);
      if (into && into !== from) out.push({ file: path, specifier, target, from: from.name, into: into.name });
    }
  }
  return out;
}

function trackedSources(root: string, all: readonly Workspace[]): { path: string; text: string }[] {
  const listed = execFileSync('git', ['ls-files', '-z', '--', ...all.map((w) => w.dir)], { cwd: root, encoding: 'utf8', maxBuffer: 64 << 20 });
  return listed
    .split('\0')
    .filter((p) => CODE.test(p) && existsSync(join(root, p)))
    .map((path) => ({ path, text: readFileSync(join(root, path), 'utf8') }));
}

/** The files the product runs, from the bins and exports of `packages`, following relative imports
 * and workspace package names through their exports; each with the specifiers it imports. */
function productFiles(root: string, all: readonly Workspace[], packages: readonly string[]): Map<string, string[]> {
  const byName = new Map(all.map((w) => [w.name, w]));
  const seen = new Map<string, string[]>();
  const queue: string[] = [];
  const entry = (w: Workspace, target: string) => queue.push(toRepoPath(root, resolve(root, w.dir, target)));
  for (const name of packages) {
    const w = byName.get(name);
    if (!w) throw new Error(`no workspace named ${name}`);
    for (const b of w.bin) entry(w, b);
    for (const e of Object.values(w.exports)) entry(w, e);
  }
  while (queue.length > 0) {
    const path = queue.pop()!;
    if (seen.has(path) || !CODE.test(path) || !existsSync(join(root, path))) continue;
    const specs = specifiers(readFileSync(join(root, path), 'utf8'));
    seen.set(path, specs);
    for (const s of specs) {
      if (s.startsWith('.')) {
        queue.push(toRepoPath(root, resolve(root, dirname(path), s)));
        continue;
      }
      const pkg = [...byName.values()].find((w) => s === w.name || s.startsWith(`${w.name}/`));
      const target = pkg?.exports[s === pkg.name ? '.' : `.${s.slice(pkg.name.length)}`];
      if (pkg && target) entry(pkg, target);
    }
  }
  return seen;
}

describe('package boundaries', () => {
  const all = workspaces(REPO_ROOT);

  it('no import reaches into another workspace package by a relative path', () => {
    const sources = trackedSources(REPO_ROOT, all);
    expect(sources.length).toBeGreaterThan(100);
    const found = crossings(REPO_ROOT, all, sources);
    const report = found.map((c) => `  ${c.file}: '${c.specifier}' reaches into ${c.into} (${c.target}); import it as ${c.into}/... through its package.json "exports"`);
    expect(found, `imports across packages by relative path:\n${report.join('\n')}\n`).toEqual([]);
  });

  it('the check sees imports of every form and tells a nested package from its parent folder', () => {
    const root = '/repo';
    // The fixtures' relative specifiers are put together from `up`, so that this file does not
    // itself read as one that imports across packages.
    const up = '..';
    const text = [
      `// import { x } from '${up}/${up}/e2e/src/in-a-comment.ts';`,
      `import { a } from '${up}/${up}/e2e/testkit/src/a.ts';`,
      `export * from '${up}/${up}/crds/src/b.ts';`,
      `const c = await import('${up}/${up}/proxy/src/c.ts');`,
      `const d = require('${up}/${up}/e2e/src/d.js');`,
      "import { e } from '@jairouter/testkit/wait-for';",
      "import { f } from './f.ts';",
    ].join('\n');
    const found = crossings(root, all, [
      { path: 'operator/src/x.ts', text },
      { path: 'e2e/src/y.ts', text: `import { g } from '${up}/testkit/src/g.ts';\nimport { h } from './stack/h.ts';` },
      { path: 'e2e/testkit/src/z.ts', text: `import { i } from '${up}/${up}/src/i.ts';\nimport { j } from './j.ts';` },
    ]);
    expect(found.map((c) => [c.file, c.specifier, c.into])).toEqual([
      ['operator/src/x.ts', '../../e2e/testkit/src/a.ts', '@jairouter/testkit'],
      ['operator/src/x.ts', '../../crds/src/b.ts', '@jairouter/crds'],
      ['operator/src/x.ts', '../../proxy/src/c.ts', '@jairouter/proxy'],
      ['operator/src/x.ts', '../../e2e/src/d.js', '@jairouter/e2e'],
      ['e2e/src/y.ts', '../testkit/src/g.ts', '@jairouter/testkit'],
      ['e2e/testkit/src/z.ts', '../../src/i.ts', '@jairouter/e2e'],
    ]);
  });

  it('every bin and export of every workspace package names a file that exists', () => {
    const missing = all.flatMap((w) =>
      [...w.bin, ...Object.values(w.exports)].filter((t) => !existsSync(join(REPO_ROOT, w.dir, t))).map((t) => `${w.name}: ${w.dir}/${t}`),
    );
    expect(missing).toEqual([]);
  });

  it('product code never imports the testkit: nothing the bins and exports of crds, proxy and operator reach', () => {
    const product = productFiles(REPO_ROOT, all, ['@jairouter/crds', '@jairouter/proxy', '@jairouter/operator']);
    // The walk reaches the programs themselves, not just their entry files.
    for (const f of ['proxy/src/main.ts', 'crds/src/compile/compile.ts']) expect([...product.keys()]).toContain(f);
    const offending = [...product]
      .filter(([path, specs]) => path.startsWith('e2e/') || /\.test\.ts$/.test(path) || specs.some((s) => s === TESTKIT || s.startsWith(`${TESTKIT}/`)))
      .map(([path]) => path);
    expect(offending, 'product files that are or import test support').toEqual([]);
  });
});
