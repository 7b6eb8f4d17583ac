// `jairouter-operator keys`: argument parsing, the key and id formats, the list table and the
// failures that need no cluster. The cluster side is integration/keys.k8s.test.ts.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { formatKeyTable, KEYS_USAGE, keyIdProblem, KeysUsageError, mintKey, newKeyId, parseKeysArgs, rfc3339, runKeysCommand, type KeysEnv } from './keys-command.ts';
import { SERVICE_ACCOUNT_TOKEN } from './kubeconfig.ts';

const BIN = join(dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'jairouter-operator.js');
const dir = mkdtempSync(join(tmpdir(), 'jairouter-keys-'));

function run(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, 'keys', ...args], { encoding: 'utf8', timeout: 20_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

async function runInProcess(argv: string[], env: Partial<KeysEnv> = {}) {
  let out = '';
  let err = '';
  const code = await runKeysCommand(argv, { stdout: (t) => (out += t), stderr: (t) => (err += t) }, {
    kubeconfigEnv: undefined, homeKubeconfig: join(dir, 'no-home-config'), now: () => new Date(), random: (n) => Buffer.alloc(n, 7), ...env,
  });
  return { code, out, err };
}

describe('jairouter-operator keys: arguments', () => {
  it('parses each subcommand with its options', () => {
    expect(parseKeysArgs(['create', '--tenant', 'acme', '-n', 'ai', '--name', 'ci-1', '--kubeconfig', 'k', '--context', 'prod'])).toEqual({
      action: 'create', tenant: 'acme', namespace: 'ai', name: 'ci-1', secret: undefined, kubeconfig: 'k', context: 'prod',
    });
    expect(parseKeysArgs(['list', '-t', 'acme'])).toMatchObject({ action: 'list', tenant: 'acme', namespace: undefined, name: undefined });
    expect(parseKeysArgs(['revoke', '--tenant', 'acme', '--name', 'old', '--secret', 'acme-more'])).toMatchObject({ action: 'revoke', name: 'old', secret: 'acme-more' });
    expect(parseKeysArgs(['--help'])).toBe('help');
  });

  it.each([
    [[], 'a subcommand is required: create, list or revoke'],
    [['rotate', '--tenant', 'a'], 'unknown subcommand "rotate"'],
    [['create'], '--tenant is required'],
    [['create', '--tenant', 'Acme'], '--tenant: not an object name: "Acme"'],
    [['list', '--tenant', 'a', '--namespace', 'Bad_NS'], '--namespace: not a namespace name'],
    [['list', '--tenant', 'a', 'extra'], 'unexpected argument "extra"'],
    [['list', '--tenant', 'a', '--name', 'x'], '--name is not an option of list'],
    [['revoke', '--tenant', 'a'], 'revoke needs --name ID'],
    [['create', '--tenant', 'a', '--secret', 's'], '--secret is an option of revoke only'],
    [['create', '--tenant', 'a', '--name', 'has space'], '--name: "has space" is not a valid key id'],
    [['create', '--tenant', 'a', '--bogus'], "Unknown option '--bogus'"],
    [['create', '--tenant'], "Option '-t, --tenant <value>' argument missing"],
  ])('%j is a usage error: %s', (argv, message) => {
    expect(() => parseKeysArgs(argv)).toThrow(KeysUsageError);
    expect(() => parseKeysArgs(argv)).toThrow(message);
  });

  it('revoke takes any existing id (keys made by hand need not fit the create rule)', () => {
    expect(parseKeysArgs(['revoke', '--tenant', 'a', '--name', 'made_by_hand-'])).toMatchObject({ name: 'made_by_hand-' });
  });

  it('a key id must be a Secret data key that also fits in the creation annotation', () => {
    for (const ok of ['a', 'ci', 'key-0a1b2c3d', 'team.bot_2', 'A'.repeat(51)]) expect(keyIdProblem(ok)).toBeUndefined();
    // '..' and '.x' are Secret-key rules, the alphanumeric ends and 51 characters the annotation's.
    for (const bad of ['', '.', '..', '.hidden', 'trailing-', '-leading', 'a/b', 'a b', 'é', 'A'.repeat(52)]) {
      expect(keyIdProblem(bad)).toContain('is not a valid key id');
    }
  });
});

describe('jairouter-operator keys: keys and ids', () => {
  it('a key is sk-jr- and 43 base62 characters (256 bits), different every time', () => {
    const keys = new Set(Array.from({ length: 200 }, () => mintKey()));
    expect(keys.size).toBe(200);
    for (const k of keys) expect(k).toMatch(/^sk-jr-[0-9A-Za-z]{43}$/);
  });

  it('drops random bytes from 248 up, so no base62 character is likelier than another', () => {
    // 247 = 3*62+61 -> 'z'; 248..255 would wrap to '0'..'7' twice as often, so they are skipped.
    const bytes = [248, 255, 247, 0, 61, 62];
    let i = 0;
    const key = mintKey((n) => Buffer.from(Array.from({ length: n }, () => bytes[i++ % bytes.length]!)));
    expect(key.slice(0, 10)).toBe('sk-jr-z0z0');
    expect(key.slice(6)).not.toMatch(/[1-7]/);
  });

  it('a generated id is key- and 8 hex digits, and valid', () => {
    const id = newKeyId();
    expect(id).toMatch(/^key-[0-9a-f]{8}$/);
    expect(keyIdProblem(id)).toBeUndefined();
  });

  it('times are RFC 3339 in whole seconds', () => {
    expect(rfc3339(new Date('2026-03-04T05:06:07.890Z'))).toBe('2026-03-04T05:06:07Z');
  });

  it('the list table aligns its columns and shows - for an unknown time', () => {
    expect(formatKeyTable([
      { id: 'ci', secret: 'acme-keys', created: '2026-03-04T05:06:07Z' },
      { id: 'by-hand-long', secret: 'x', created: undefined },
    ])).toBe([
      'KEY ID         SECRET      CREATED',
      'ci             acme-keys   2026-03-04T05:06:07Z',
      'by-hand-long   x           -',
      '',
    ].join('\n'));
    expect(formatKeyTable([])).toBe('KEY ID   SECRET   CREATED\n');
  });
});

describe('jairouter-operator keys: the binary', () => {
  it('--help prints the usage on stdout and exits 0', () => {
    const r = run('--help');
    expect(r.code).toBe(0);
    expect(r.out).toBe(KEYS_USAGE + '\n');
  });

  it('a usage error exits 2 with the message and the usage on stderr, nothing on stdout', () => {
    const r = run('create', '--name', 'x');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^jairouter-operator keys: --tenant is required\n\nUsage: jairouter-operator keys create/);
    expect(r.out).toBe('');
  });

  it('a kubeconfig that cannot be read exits 1 in one line', () => {
    const missing = join(dir, 'missing.kubeconfig');
    const r = run('list', '--tenant', 'acme', '--kubeconfig', missing);
    expect(r.code).toBe(1);
    expect(r.err).toBe(`jairouter-operator keys list: cannot load the kubeconfig: ${missing} (from --kubeconfig): ENOENT: no such file or directory, open '${missing}'\n`);
  });
});

describe('jairouter-operator keys: failures without a cluster', () => {
  it.skipIf(existsSync(SERVICE_ACCOUNT_TOKEN))('no kubeconfig anywhere exits 1 saying so', async () => {
    const r = await runInProcess(['list', '--tenant', 'acme']);
    expect(r.code).toBe(1);
    expect(r.err).toBe('jairouter-operator keys list: no kubeconfig found (--kubeconfig PATH, $KUBECONFIG or ~/.kube/config)\n');
  });

  it('an unreachable API server exits 1 in one line; the minted key is printed nowhere', async () => {
    const port = await new Promise<number>((resolve) => {
      const srv = createServer().listen(0, '127.0.0.1', () => {
        const p = (srv.address() as { port: number }).port;
        srv.close(() => resolve(p));
      });
    });
    const kubeconfig = join(dir, 'down.kubeconfig');
    writeFileSync(kubeconfig, stringify({
      apiVersion: 'v1', kind: 'Config', 'current-context': 'down',
      clusters: [{ name: 'down', cluster: { server: `https://127.0.0.1:${port}`, 'insecure-skip-tls-verify': true } }],
      users: [{ name: 'u', user: { token: 'not-a-real-token' } }],
      contexts: [{ name: 'down', context: { cluster: 'down', user: 'u', namespace: 'ai' } }],
    }));
    const r = await runInProcess(['create', '--tenant', 'acme', '--kubeconfig', kubeconfig]);
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    expect(r.err).toBe(`jairouter-operator keys create: reading Tenant ai/acme: cannot reach the API server at https://127.0.0.1:${port}: ECONNREFUSED\n`);
    // The fixed random source makes the key that would have been minted known.
    expect(r.err).not.toContain(mintKey((n) => Buffer.alloc(n, 7)));
  });
});
