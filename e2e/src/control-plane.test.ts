// The local control plane as people use it: `jairouter-envtest up` in the background, kubectl
// and helm from DIR/bin, the real /version, service-account tokens (TokenRequest and
// TokenReview, which proxies and the operator rely on), then `down`.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectl, kubeRequest, parseVersionsEnv, readControlPlane, startControlPlane, type KubeAccess } from '@jairouter/testkit/control-plane';
import { freshNamespace, skipK8s, useBinaries } from '@jairouter/testkit/control-plane/testing';

const run = promisify(execFile);
const BIN = fileURLToPath(new URL('../bin/jairouter-envtest.js', import.meta.url));
/** Alive and not a zombie waiting for its parent to reap it. */
function running(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}
const envtest = (...args: string[]) => run(process.execPath, [BIN, ...args], { timeout: 180_000 });

describe('k8s-versions.env', () => {
  it('parses and checks its versions', () => {
    expect(parseVersionsEnv('# c\nKUBERNETES_VERSION=v1.34.4\nKUBECTL_VERSION=v1.34.13\nETCD_VERSION=v3.6.16\nHELM_VERSION=v3.19.5\n')).toEqual({
      kubernetes: 'v1.34.4',
      kubectl: 'v1.34.13',
      etcd: 'v3.6.16',
      helm: 'v3.19.5',
    });
    expect(() => parseVersionsEnv('KUBERNETES_VERSION=1.34\n')).toThrow(/KUBERNETES_VERSION must be vX.Y.Z/);
  });
});

describe('jairouter-envtest usage', () => {
  it('exits 2 with usage on a bad command line', async () => {
    const err = await envtest('up').catch((e: { code: number; stderr: string }) => e);
    expect(err).toMatchObject({ code: 2 });
    expect((err as { stderr: string }).stderr).toContain('--dir DIR is required');
  });
});

describe.skipIf(skipK8s)('jairouter-envtest up/down', () => {
  const bins = useBinaries();
  let dir = '';
  let access: KubeAccess;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'jairouter-envtest-cli-'));
  });
  afterAll(async () => {
    // A failed test must not leave processes behind.
    if (dir) await envtest('down', '--dir', dir).catch(() => {});
    await rm(dir, { recursive: true, force: true });
  });

  it('up starts etcd and kube-apiserver in the background and prints KUBECONFIG', async () => {
    const up = await envtest('up', '--dir', dir);
    expect(up.stdout).toBe(`KUBECONFIG=${join(dir, 'kubeconfig')}\n`);
    // The CLI has exited; the control plane keeps running.
    const cp = await readControlPlane(dir);
    expect(cp?.alive).toBe(true);
    access = cp!;
    expect((await kubeRequest(access, '/readyz')).status).toBe(200);
    expect(readFileSync(join(dir, 'kubeconfig'), 'utf8')).toContain(access.server);
  }, 180_000);

  it('/version reports the real Kubernetes version', async () => {
    const res = await kubeRequest(access, '/version');
    const v = bins().versions.kubernetes;
    expect(res.body).toMatchObject({ gitVersion: v, major: '1', minor: v.split('.')[1] });
  });

  it('kubectl and helm are linked into DIR/bin and talk to it as admin', async () => {
    const version = await kubectl(access, ['version', '-o', 'json']);
    expect(version.code, version.stderr).toBe(0);
    const parsed = JSON.parse(version.stdout) as { clientVersion: { gitVersion: string }; serverVersion: { gitVersion: string } };
    expect(parsed.clientVersion.gitVersion).toBe(bins().versions.kubectl);
    expect(parsed.serverVersion.gitVersion).toBe(bins().versions.kubernetes);

    const canI = await kubectl(access, ['auth', 'can-i', '*', '*']);
    expect(canI.stdout.trim()).toBe('yes');

    const helm = await promisify(execFile)(join(dir, 'bin', 'helm'), ['version', '--template', '{{.Version}}'], {
      env: { ...process.env, KUBECONFIG: access.kubeconfig },
    });
    expect(helm.stdout.trim()).toBe(bins().versions.helm);
  });

  it('RBAC is on: a user outside system:masters is refused', async () => {
    const res = await kubectl(access, ['auth', 'can-i', 'list', 'secrets', '--as=someone']);
    expect(res.stdout.trim()).toBe('no');
  });

  it('service-account tokens: TokenRequest issues one and TokenReview accepts it', async () => {
    const ns = await freshNamespace(access, 'sa');
    const sa = await kubeRequest(access, `/api/v1/namespaces/${ns}/serviceaccounts`, {
      method: 'POST',
      body: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'jairouter-proxy' } },
    });
    expect(sa.status, sa.text).toBe(201);
    const tr = await kubeRequest(access, `/api/v1/namespaces/${ns}/serviceaccounts/jairouter-proxy/token`, {
      method: 'POST',
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { audiences: ['jairouter-operator'], expirationSeconds: 600 } },
    });
    expect(tr.status, tr.text).toBe(201);
    const token = (tr.body as { status: { token: string } }).status.token;
    const review = await kubeRequest(access, '/apis/authentication.k8s.io/v1/tokenreviews', {
      method: 'POST',
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token, audiences: ['jairouter-operator'] } },
    });
    expect(review.status, review.text).toBe(201);
    expect((review.body as { status: unknown }).status).toMatchObject({
      authenticated: true,
      user: { username: `system:serviceaccount:${ns}:jairouter-proxy` },
      audiences: ['jairouter-operator'],
    });
  });

  it('up again leaves the running control plane alone', async () => {
    const before = await readControlPlane(dir);
    const up = await envtest('up', '--dir', dir);
    expect(up.stdout).toBe(`KUBECONFIG=${join(dir, 'kubeconfig')}\n`);
    expect(up.stderr).toContain('already running');
    expect((await readControlPlane(dir))?.server).toBe(before?.server);
  });

  it('down stops both processes and removes the data', async () => {
    const pids = (JSON.parse(readFileSync(join(dir, 'envtest.json'), 'utf8')) as { processes: { pid: number }[] }).processes.map((p) => p.pid);
    expect(pids).toHaveLength(2);
    await envtest('down', '--dir', dir);
    for (const pid of pids) expect(running(pid), `pid ${pid}`).toBe(false);
    expect(existsSync(dir) ? await readdir(dir) : []).toEqual([]);
  });
});

describe.skipIf(skipK8s)('startControlPlane()', () => {
  const bins = useBinaries();

  it('runs in a temporary directory that stop() removes along with both processes', async () => {
    const cp = await startControlPlane({ binaries: bins() });
    try {
      expect((await kubeRequest(cp, '/readyz')).status).toBe(200);
      expect(existsSync(cp.kubeconfig)).toBe(true);
    } finally {
      const pids = (JSON.parse(readFileSync(join(cp.dir, 'envtest.json'), 'utf8')) as { processes: { pid: number }[] }).processes.map((p) => p.pid);
      await cp.stop();
      for (const pid of pids) expect(running(pid), `pid ${pid}`).toBe(false);
      expect(existsSync(cp.dir)).toBe(false);
    }
  }, 120_000);

  it('gives up after one retry when a port stays taken, leaving nothing behind', async () => {
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    const port = (taken.address() as AddressInfo).port;
    const dir = await mkdtemp(join(tmpdir(), 'jairouter-envtest-taken-'));
    const logs: string[] = [];
    try {
      // A later flag wins, so both attempts ask for the taken port.
      const start = startControlPlane({ binaries: bins(), dir, apiServerArgs: [`--secure-port=${port}`], log: (l) => logs.push(l) });
      await expect(start).rejects.toThrow(/kube-apiserver could not listen: .*address already in use/);
      expect(logs.some((l) => l.includes('retrying on other ports'))).toBe(true);
      expect(existsSync(dir)).toBe(false);
    } finally {
      taken.close();
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('refuses a directory where a control plane is running', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'jairouter-envtest-twice-'));
    const cp = await startControlPlane({ binaries: bins(), dir });
    try {
      await expect(startControlPlane({ binaries: bins(), dir })).rejects.toThrow(/already running/);
      expect((await kubeRequest(cp, '/readyz')).status).toBe(200);
    } finally {
      await cp.stop();
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
