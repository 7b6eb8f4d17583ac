// `jairouter-operator compile` as a user meets it: the bin spawned on fixture files.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const HERE = dirname(fileURLToPath(import.meta.url));
const BIN = join(HERE, '..', 'bin', 'jairouter-operator.js');
const fixture = (name: string) => join(HERE, 'testdata', name);

const tmpDirs: string[] = [];
afterAll(() => {
  for (const d of tmpDirs) rmSync(d, { recursive: true, force: true });
});
function tmp(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  tmpDirs.push(d);
  return d;
}

function run(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 20_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('jairouter-operator compile', () => {
  it('prints the config and every status as YAML, with credentials and key hashes redacted', () => {
    const r = run('compile', '-f', fixture('good.yaml'));
    expect(r.code).toBe(0);
    const doc = parse(r.out) as { config: { version: string; routes: any[]; tenants: any[] }; status: any[] };
    expect(doc.config.version).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(doc.config.routes[0].backends[0].credential).toBe('<redacted>');
    expect(doc.config.tenants[0].apiKeys[0]).toEqual({ id: 'acme-keys/alice', sha256: '<redacted>', roles: [] });
    expect(doc.status.map((s) => `${s.kind} ${s.namespace}/${s.name}`)).toEqual(['ModelRoute ai/chat', 'Tenant ai/acme']);
    expect(doc.status[0].conditions.map((c: any) => `${c.type}=${c.status}`)).toEqual(['Accepted=True', 'ResolvedRefs=True']);
    expect(doc.status[0].conditions[0].observedGeneration).toBe(3);
    expect(doc.status[1].keys).toBe(1);
    expect(r.err).toContain('all accepted');
    for (const secret of ['VERYSECRET', 'key-alice-SECRET']) {
      expect(r.out + r.err).not.toContain(secret);
    }
    // Not even the hash of the key leaves: it would let anyone check a guessed key offline.
    expect(r.out).not.toContain(createHash('sha256').update('key-alice-SECRET-0002').digest('hex'));
  });

  it('merges several files; rejected objects exit 0 with their reasons on stderr', () => {
    const r = run('compile', '-f', fixture('good.yaml'), '--filename', fixture('problems.yaml'));
    expect(r.code).toBe(0);
    const doc = parse(r.out) as { config: { routes: { id: string }[] }; status: any[] };
    expect(doc.config.routes.map((x) => x.id)).toEqual(['ai/chat']);
    const invalid = doc.status.find((s) => s.name === 'invalid');
    expect(invalid.conditions[0]).toMatchObject({ type: 'Accepted', status: 'False', reason: 'Invalid' });
    expect(r.err).toContain('2 with problems');
    expect(r.err).toMatch(/ModelRoute ai\/invalid REJECTED: Accepted=False Invalid: spec\.models/);
    expect(r.err).toMatch(/ModelRoute ai\/no-secret: ResolvedRefs=False SecretNotFound: .*Secret "missing" not found/);
  });

  it('--strict exits 3 when an object has problems and 0 when every object is fine (a CI gate)', () => {
    const bad = run('compile', '--strict', '-f', fixture('good.yaml'), '-f', fixture('problems.yaml'));
    expect(bad.code).toBe(3);
    expect(bad.err).toContain('2 with problems');
    expect(parse(bad.out).config.routes.map((x: { id: string }) => x.id)).toEqual(['ai/chat']);
    const good = run('compile', '--strict', '-f', fixture('good.yaml'));
    expect(good.code).toBe(0);
    expect(good.err).toContain('all accepted');
  });

  it('--strict passes Tenants that mask responses, and the config carries their rules to the proxies', () => {
    const r = run('compile', '--strict', '-f', fixture('good.yaml'), '-f', fixture('masking.yaml'));
    expect(r.code).toBe(0);
    expect(r.err).toContain('all accepted');
    const tenants = parse(r.out).config.tenants as Array<{ id: string; maskResponses?: unknown }>;
    expect(tenants.map((t) => [t.id, t.maskResponses])).toEqual([
      ['ai/acme', undefined],
      ['ai/limited', [{ builtin: 'email' }]],
      ['ai/masked', [{ builtin: 'phone' }]],
    ]);
  });

  it('-f DIR reads the directory\'s *.yaml/*.yml files in name order, as the proxy\'s --config DIR does', () => {
    const dir = tmp('jairouter-compile-dir-');
    copyFileSync(fixture('good.yaml'), join(dir, 'a-good.yaml'));
    copyFileSync(fixture('problems.yaml'), join(dir, 'b-problems.yml'));
    // Neither an editor's dotfile nor a file of another kind, nor what a subdirectory holds.
    writeFileSync(join(dir, '.a-good.yaml.swp'), 'not: [yaml');
    writeFileSync(join(dir, 'README.md'), '# not yaml');
    mkdirSync(join(dir, 'nested'));
    copyFileSync(fixture('unparsable.yaml'), join(dir, 'nested', 'c.yaml'));
    const fromDir = run('compile', '-f', dir);
    const fromFiles = run('compile', '-f', fixture('good.yaml'), '-f', fixture('problems.yaml'));
    expect(fromDir.code).toBe(0);
    expect(fromDir.err).not.toContain('EISDIR');
    expect(fromDir.out).toBe(fromFiles.out);
    expect(fromDir.err).toBe(fromFiles.err);
    const viaLongFlag = run('compile', '--filename', dir);
    expect(viaLongFlag.out).toBe(fromFiles.out);
  });

  it('-f DIR with no YAML file in it exits 1 saying so', () => {
    const dir = tmp('jairouter-compile-empty-');
    writeFileSync(join(dir, 'notes.txt'), 'nothing to compile');
    const r = run('compile', '--strict', '-f', dir);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`${dir}: a directory with no *.yaml or *.yml file`);
    expect(r.out).toBe('');
  });

  it('a missing file exits 1 naming it', () => {
    const missing = fixture('does-not-exist.yaml');
    const r = run('compile', '-f', missing);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`${missing}: cannot read file (ENOENT)`);
    expect(r.out).toBe('');
  });

  it('an unparsable file exits 1 with file and position, and quotes no secret', () => {
    const r = run('compile', '-f', fixture('good.yaml'), '-f', fixture('unparsable.yaml'));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/unparsable\.yaml: document 1 \(line 1\): invalid YAML at line \d+/);
    expect(r.err).not.toContain('sk-unterminated-SECRET');
    expect(r.out).toBe('');
  });

  it.each([
    [['compile'], 'at least one -f PATH is required'],
    [['compile', '-f', 'x.yaml', '--bogus'], "Unknown option '--bogus'"],
    [['compile', 'x.yaml'], 'files go after -f'],
  ])('%j exits 2 with "%s"', (args, message) => {
    const r = run(...args);
    expect(r.code).toBe(2);
    expect(r.err).toContain(message);
  });

  it('--help prints the usage', () => {
    const r = run('compile', '--help');
    expect(r.code).toBe(0);
    expect(r.out).toContain('-f, --filename PATH');
  });
});
