// The command line as a user meets it: help, bad flags and bad files fail with a message and
// a non-zero exit, before anything listens.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROXY_BIN, REPO_ROOT } from './harness.ts';

function run(...args: string[]) {
  const r = spawnSync(process.execPath, [PROXY_BIN, ...args], { encoding: 'utf8', timeout: 20_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const dir = mkdtempSync(join(tmpdir(), 'jairouter-cli-'));

describe('jairouter-proxy command line', () => {
  it('is linked as a bin at the repo root, so `npx jairouter-proxy` works after npm ci', () => {
    expect(existsSync(join(REPO_ROOT, 'node_modules', '.bin', 'jairouter-proxy'))).toBe(true);
  });

  it('--help prints the usage and exits 0', () => {
    const r = run('--help');
    expect(r.code).toBe(0);
    expect(r.out).toContain('--config');
    expect(r.out).toContain('--admin-listen');
  });

  it.each([
    [['--listen', '127.0.0.1:0'], '--config is required'],
    [['--config', 'x.yaml', '--bogus'], "Unknown option '--bogus'"],
    [['--config', 'x.yaml', '--listen', 'nope'], '--listen: expected HOST:PORT'],
    [['--config', 'x.yaml', '--max-body-size', 'lots'], '--max-body-size: expected a byte count'],
    [['--config', 'x.yaml', '--drain-timeout', '5 minutes'], '--drain-timeout: expected a duration'],
    [['--config', 'x.yaml', '--shutdown-delay', 'a bit'], '--shutdown-delay: expected a duration'],
    [['--config', 'x.yaml', '--upstream-max-connections', 'many'], '--upstream-max-connections: expected a whole number'],
    [['--config', 'x.yaml', '--response-store-ttl', 'forever'], '--response-store-ttl: expected a duration'],
    [['--config', 'x.yaml', '--response-store-ttl', '10ms'], '--response-store-ttl: at least 1s'],
    [['--config', 'x.yaml', '--response-store-max-bytes', 'much'], '--response-store-max-bytes: expected a byte count'],
  ])('%j exits 2 with "%s"', (args, message) => {
    const r = run(...args);
    expect(r.code).toBe(2);
    expect(r.err).toContain(message);
  });

  it('a missing config file exits 1 naming it', () => {
    const missing = join(dir, 'missing.yaml');
    const r = run('--config', missing, '--listen', '127.0.0.1:0', '--admin-listen', '127.0.0.1:0');
    expect(r.code).toBe(1);
    expect(r.err).toContain(missing);
  });

  it('an unparsable config file exits 1 with the file and position, and no secret text', () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {key: "sk-super-secret\n');
    const r = run('--config', bad, '--listen', '127.0.0.1:0', '--admin-listen', '127.0.0.1:0');
    expect(r.code).toBe(1);
    expect(r.err).toContain(bad);
    expect(r.err).not.toContain('sk-super-secret');
  });
});
