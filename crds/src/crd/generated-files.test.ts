import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MANIFEST_DIRS, generatedFiles } from './generated-files.ts';

const root = resolve(import.meta.dirname, '../../..');
const files = generatedFiles();

describe('committed generated files', () => {
  it.each(files.map((f) => [f.path, f.content] as const))('%s is up to date', (path, content) => {
    const abs = join(root, path);
    const current = existsSync(abs) ? readFileSync(abs, 'utf8') : undefined;
    expect(current, `${path} is missing or stale: run \`make generate\` and commit the result`).toBe(content);
  });

  it('the manifest directories hold no YAML that the generator does not write', () => {
    const wanted = new Set(files.map((f) => f.path));
    const extra = MANIFEST_DIRS.flatMap((dir) =>
      existsSync(join(root, dir)) ? readdirSync(join(root, dir)).map((n) => `${dir}/${n}`) : [],
    ).filter((p) => /\.ya?ml$/.test(p) && !wanted.has(p));
    expect(extra, 'stale manifests: run `make generate`').toEqual([]);
  });

  it('the chart carries the same CRDs as crds/manifests', () => {
    const byName = (dir: string) => new Map(files.filter((f) => f.path.startsWith(`${dir}/`)).map((f) => [f.path.slice(dir.length + 1), f.content]));
    expect(byName('charts/jairouter/crds')).toEqual(byName('crds/manifests'));
    expect(byName('crds/manifests').size).toBe(3);
  });

  it('is deterministic', () => {
    expect(generatedFiles()).toEqual(files);
  });
});
