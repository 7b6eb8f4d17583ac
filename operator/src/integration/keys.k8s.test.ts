// `jairouter-operator keys create|list|revoke` as a user runs it: the bin spawned with
// --kubeconfig against a real kube-apiserver. A created key must authenticate as its Tenant in
// what compile() makes of the objects read back from the API, a revoked one must not, and no
// key may ever reach stderr or list. Skipped when JAIROUTER_SKIP_K8S=1.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compile, emptyResources, type KubeObject } from '@jairouter/crds';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { REPO_ROOT } from '@jairouter/testkit/config';
import { kubeRequest } from '@jairouter/testkit/control-plane';
import { freshNamespace, installCrds, skipK8s, useControlPlane } from '@jairouter/testkit/control-plane/testing';

const BIN = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'jairouter-operator.js');
const KEY = /^sk-jr-[0-9A-Za-z]{43}$/;
const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');

interface Run {
  code: number | null;
  out: string;
  err: string;
}

// Not spawnSync: the control plane's processes log through pipes this process must keep reading.
function run(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, 'keys', ...args], { encoding: 'utf8', timeout: 30_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, out: stdout, err: stderr });
    });
  });
}

describe.skipIf(skipK8s)('jairouter-operator keys on a real kube-apiserver', () => {
  const cp = useControlPlane();
  const dir = mkdtempSync(join(tmpdir(), 'jairouter-keys-k8s-'));
  let ns: string;
  let kubeconfig: string;

  async function ok(method: string, path: string, body?: unknown): Promise<any> {
    const r = await kubeRequest(cp(), path, { method, ...(body !== undefined && { body }) });
    if (r.status >= 300) throw new Error(`${method} ${path}: HTTP ${r.status}: ${r.text.slice(0, 300)}`);
    return r.body;
  }
  const tenantPath = (name: string) => `/apis/jairouter.io/v1alpha1/namespaces/${ns}/tenants/${name}`;
  const secretPath = (name: string) => `/api/v1/namespaces/${ns}/secrets/${name}`;
  const keys = (...args: string[]) => run([...args, '--namespace', ns, '--kubeconfig', kubeconfig]);

  async function tenant(name: string, spec: object = { access: { models: ['*'] } }): Promise<void> {
    await ok('POST', `/apis/jairouter.io/v1alpha1/namespaces/${ns}/tenants`, { apiVersion: 'jairouter.io/v1alpha1', kind: 'Tenant', metadata: { name }, spec });
  }

  /** The key digests compile() gives the Tenant, from the Tenant and its Secrets as the API has them now. */
  async function compiledKeys(name: string): Promise<{ id: string; sha256: string }[]> {
    const t = (await ok('GET', tenantPath(name))) as KubeObject & { spec: { apiKeys?: { secretRefs: { name: string }[] } } };
    const secrets: KubeObject[] = [];
    for (const ref of t.spec.apiKeys?.secretRefs ?? []) secrets.push(await ok('GET', secretPath(ref.name)));
    const { config, statuses } = compile({ ...emptyResources(), tenants: [t], secrets });
    expect(statuses.find((s) => s.kind === 'Tenant')?.conditions.find((c) => c.type === 'Accepted')?.status).toBe('True');
    return config.tenants.find((x) => x.name === name)?.apiKeys.map((k) => ({ id: k.id, sha256: k.sha256 })) ?? [];
  }

  beforeAll(async () => {
    await installCrds(cp(), join(REPO_ROOT, 'crds', 'manifests'));
    ns = await freshNamespace(cp(), 'keys');
    kubeconfig = cp().kubeconfig;
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('create on a Tenant without key Secrets makes <tenant>-keys, references it, and prints a key that compile() accepts for that Tenant', async () => {
    await tenant('alpha');
    const before = Date.now();
    const r = await keys('create', '--tenant', 'alpha', '--name', 'ci');
    expect(r.err).toBe(r.err.trim() + '\n');
    expect(r.code).toBe(0);
    const key = r.out.trim();
    expect(r.out).toBe(key + '\n');
    expect(key).toMatch(KEY);
    expect(r.err).not.toContain(key);
    expect(r.err).toContain('cannot be retrieved again');

    const t = await ok('GET', tenantPath('alpha'));
    expect(t.spec.apiKeys).toEqual({ secretRefs: [{ name: 'alpha-keys' }] });
    const s = await ok('GET', secretPath('alpha-keys'));
    expect(s.metadata.labels['app.kubernetes.io/managed-by']).toBe('jairouter');
    expect(Object.keys(s.data)).toEqual(['ci']);
    const created = s.metadata.annotations['jairouter.io/key-created.ci'] as string;
    expect(created).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(Date.parse(created)).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);
    expect(Date.parse(created)).toBeLessThanOrEqual(Date.now());

    expect(await compiledKeys('alpha')).toEqual([{ id: 'alpha-keys/ci', sha256: sha256(key) }]);
  });

  it('create with an id that exists fails and leaves the key that holds it alone; a second key goes into the same Secret', async () => {
    await tenant('beta');
    const first = await keys('create', '--tenant', 'beta', '--name', 'dup');
    expect(first.code).toBe(0);
    const again = await keys('create', '--tenant', 'beta', '--name', 'dup');
    expect(again.code).toBe(1);
    expect(again.out).toBe('');
    expect(again.err).toMatch(/^jairouter-operator keys create: key id "dup" already exists in Secret keys-[0-9a-f]+\/beta-keys .*\n$/);
    expect(await compiledKeys('beta')).toEqual([{ id: 'beta-keys/dup', sha256: sha256(first.out.trim()) }]);

    const generated = await keys('create', '--tenant', 'beta');
    expect(generated.code).toBe(0);
    expect(generated.out.trim()).toMatch(KEY);
    expect(generated.out.trim()).not.toBe(first.out.trim());
    const ids = (await compiledKeys('beta')).map((k) => k.id);
    expect(ids).toHaveLength(2);
    expect(ids).toContain('beta-keys/dup');
    expect(ids.find((id) => id !== 'beta-keys/dup')).toMatch(/^beta-keys\/key-[0-9a-f]{8}$/);
  });

  it('create uses the first Secret the Tenant already references; list shows every id, Secret and time, never a key nor its hash', async () => {
    await ok('POST', `/api/v1/namespaces/${ns}/secrets`, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'gamma-team' }, stringData: { 'by-hand': 'sk-hand-made-SECRET-0001' } });
    await ok('POST', `/api/v1/namespaces/${ns}/secrets`, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'gamma-more' }, stringData: { older: 'sk-hand-made-SECRET-0002' } });
    await tenant('gamma', { apiKeys: { secretRefs: [{ name: 'gamma-team' }, { name: 'gamma-more' }] } });
    const c = await keys('create', '--tenant', 'gamma', '--name', 'notebook');
    expect(c.code).toBe(0);
    const key = c.out.trim();
    expect(Object.keys((await ok('GET', secretPath('gamma-team'))).data).sort()).toEqual(['by-hand', 'notebook']);
    expect((await ok('GET', tenantPath('gamma'))).spec.apiKeys.secretRefs).toEqual([{ name: 'gamma-team' }, { name: 'gamma-more' }]);
    expect(c.err).not.toContain('spec.apiKeys.secretRefs');

    const l = await keys('list', '--tenant', 'gamma');
    expect(l.code).toBe(0);
    const rows = l.out.trim().split('\n').map((line) => line.split(/\s{3,}/));
    expect(rows[0]).toEqual(['KEY ID', 'SECRET', 'CREATED']);
    expect(rows.slice(1).map((r) => [r[0], r[1]])).toEqual([['by-hand', 'gamma-team'], ['notebook', 'gamma-team'], ['older', 'gamma-more']]);
    expect(rows[1]![2]).toBe('-');
    expect(rows[2]![2]).toBe((await ok('GET', secretPath('gamma-team'))).metadata.annotations['jairouter.io/key-created.notebook']);
    for (const secret of [key, 'sk-hand-made-SECRET-0001', 'sk-hand-made-SECRET-0002']) {
      expect(l.out + l.err).not.toContain(secret);
      expect(l.out + l.err).not.toContain(sha256(secret));
      expect(l.out + l.err).not.toContain(Buffer.from(secret).toString('base64'));
    }
  });

  it('revoke removes the key and its annotation, so compile() no longer accepts it; revoking it again fails', async () => {
    await tenant('delta');
    const keep = await keys('create', '--tenant', 'delta', '--name', 'keep');
    const gone = await keys('create', '--tenant', 'delta', '--name', 'gone');
    expect([keep.code, gone.code]).toEqual([0, 0]);
    expect((await compiledKeys('delta')).map((k) => k.sha256).sort()).toEqual([sha256(keep.out.trim()), sha256(gone.out.trim())].sort());

    const r = await keys('revoke', '--tenant', 'delta', '--name', 'gone');
    expect(r.code).toBe(0);
    expect(r.out).toBe('');
    const s = await ok('GET', secretPath('delta-keys'));
    expect(Object.keys(s.data)).toEqual(['keep']);
    expect(Object.keys(s.metadata.annotations).filter((a) => a.startsWith('jairouter.io/key-created.'))).toEqual(['jairouter.io/key-created.keep']);
    expect(await compiledKeys('delta')).toEqual([{ id: 'delta-keys/keep', sha256: sha256(keep.out.trim()) }]);

    const again = await keys('revoke', '--tenant', 'delta', '--name', 'gone');
    expect(again.code).toBe(1);
    expect(again.err).toMatch(/^jairouter-operator keys revoke: no key "gone" in Tenant keys-[0-9a-f]+\/delta's key Secrets \(delta-keys\)\n$/);
    const l = await keys('list', '--tenant', 'delta');
    expect(l.out).not.toContain('gone');
    expect(l.out).toContain('keep');
  });

  it('a Tenant that does not exist fails in one line, and creates nothing', async () => {
    for (const args of [['create'], ['list'], ['revoke', '--name', 'x']]) {
      const r = await keys(...args, '--tenant', 'nobody');
      expect(r.code).toBe(1);
      expect(r.out).toBe('');
      expect(r.err).toBe(`jairouter-operator keys ${args[0]}: Tenant ${ns}/nobody not found\n`);
    }
    expect((await kubeRequest(cp(), secretPath('nobody-keys'))).status).toBe(404);
  });

  it('without permission on Secrets: fails in one line saying forbidden, and the minted key is not shown anywhere', async () => {
    await tenant('epsilon');
    await ok('POST', `/api/v1/namespaces/${ns}/serviceaccounts`, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'reader' } });
    // May read Tenants and Secrets but not write Secrets.
    await ok('POST', `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/roles`, {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'reader' },
      rules: [{ apiGroups: ['jairouter.io'], resources: ['tenants'], verbs: ['get'] }, { apiGroups: [''], resources: ['secrets'], verbs: ['get'] }],
    });
    await ok('POST', `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/rolebindings`, {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'reader' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'reader' },
      subjects: [{ kind: 'ServiceAccount', name: 'reader', namespace: ns }],
    });
    const tr = await ok('POST', `/api/v1/namespaces/${ns}/serviceaccounts/reader/token`, { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 600 } });
    const readerConfig = join(dir, 'reader.kubeconfig');
    writeFileSync(readerConfig, stringify({
      apiVersion: 'v1', kind: 'Config', 'current-context': 'reader',
      clusters: [{ name: 'envtest', cluster: { server: cp().server, 'certificate-authority': cp().caCert } }],
      users: [{ name: 'reader', user: { token: tr.status.token } }],
      contexts: [{ name: 'reader', context: { cluster: 'envtest', user: 'reader', namespace: ns } }],
    }));

    const r = await run(['create', '--tenant', 'epsilon', '--kubeconfig', readerConfig]);
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    expect(r.err.split('\n')).toHaveLength(2);
    expect(r.err).toMatch(new RegExp(`^jairouter-operator keys create: writing Secret ${ns}/epsilon-keys: forbidden: .*cannot create resource "secrets"`));
    expect(r.err).not.toMatch(/sk-jr-/);
    expect((await kubeRequest(cp(), secretPath('epsilon-keys'))).status).toBe(404);
    expect((await ok('GET', tenantPath('epsilon'))).spec.apiKeys).toBeUndefined();
  });

  it('when the Tenant cannot be patched, the Secret made for it is deleted again and no key is printed', async () => {
    await tenant('eta');
    await ok('POST', `/api/v1/namespaces/${ns}/serviceaccounts`, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'secrets-only' } });
    await ok('POST', `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/roles`, {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'secrets-only' },
      rules: [{ apiGroups: ['jairouter.io'], resources: ['tenants'], verbs: ['get'] }, { apiGroups: [''], resources: ['secrets'], verbs: ['get', 'create', 'patch', 'delete'] }],
    });
    await ok('POST', `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/rolebindings`, {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'secrets-only' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'secrets-only' },
      subjects: [{ kind: 'ServiceAccount', name: 'secrets-only', namespace: ns }],
    });
    const tr = await ok('POST', `/api/v1/namespaces/${ns}/serviceaccounts/secrets-only/token`, { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 600 } });
    const config = join(dir, 'secrets-only.kubeconfig');
    writeFileSync(config, stringify({
      apiVersion: 'v1', kind: 'Config', 'current-context': 'sa',
      clusters: [{ name: 'envtest', cluster: { server: cp().server, 'certificate-authority': cp().caCert } }],
      users: [{ name: 'sa', user: { token: tr.status.token } }],
      contexts: [{ name: 'sa', context: { cluster: 'envtest', user: 'sa', namespace: ns } }],
    }));

    const r = await run(['create', '--tenant', 'eta', '--kubeconfig', config]);
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    expect(r.err).toMatch(new RegExp(`^jairouter-operator keys create: adding Secret eta-keys to Tenant ${ns}/eta: forbidden: .*cannot patch resource "tenants".*\n$`));
    expect(r.err).not.toMatch(/sk-jr-/);
    expect((await kubeRequest(cp(), secretPath('eta-keys'))).status).toBe(404);
  });

  it('the namespace comes from the chosen --context; an unreachable API server fails in one line', async () => {
    await tenant('zeta');
    expect((await keys('create', '--tenant', 'zeta', '--name', 'one')).code).toBe(0);
    const closed = await new Promise<number>((resolve) => {
      const srv = createServer().listen(0, '127.0.0.1', () => {
        const port = (srv.address() as { port: number }).port;
        srv.close(() => resolve(port));
      });
    });
    const admin = parse(readFileSync(kubeconfig, 'utf8')) as { clusters: { name: string; cluster: object }[]; users: object[]; contexts: { name: string; context: { cluster: string; user: string } }[] };
    const ctx = admin.contexts[0]!.context;
    const twoContexts = join(dir, 'two.kubeconfig');
    writeFileSync(twoContexts, stringify({
      apiVersion: 'v1', kind: 'Config', 'current-context': 'down',
      clusters: [...admin.clusters, { name: 'down', cluster: { server: `https://127.0.0.1:${closed}`, 'insecure-skip-tls-verify': true } }],
      users: admin.users,
      contexts: [{ name: 'here', context: { ...ctx, namespace: ns } }, { name: 'down', context: { ...ctx, cluster: 'down' } }],
    }));

    const here = await run(['list', '--tenant', 'zeta', '--kubeconfig', twoContexts, '--context', 'here']);
    expect(here.code).toBe(0);
    expect(here.out).toMatch(/^one\s+zeta-keys\s+\d{4}-/m);

    const down = await run(['list', '--tenant', 'zeta', '--kubeconfig', twoContexts]);
    expect(down.code).toBe(1);
    expect(down.err).toBe(`jairouter-operator keys list: reading Tenant default/zeta: cannot reach the API server at https://127.0.0.1:${closed}: ECONNREFUSED\n`);

    const unknown = await run(['list', '--tenant', 'zeta', '--kubeconfig', twoContexts, '--context', 'nope']);
    expect(unknown.code).toBe(1);
    expect(unknown.err).toContain('no context "nope" in the kubeconfig');
  });
});
