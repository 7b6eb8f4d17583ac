// The operator's command line (not `compile`): usage errors exit 2, a broken environment exits
// 1 with one line saying why, before anything else happens.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SERVICE_ACCOUNT_TOKEN } from './kubeconfig.ts';

const BIN = join(dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'jairouter-operator.js');
const dir = mkdtempSync(join(tmpdir(), 'jairouter-operator-cli-'));

function run(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 20_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('jairouter-operator command line', () => {
  it('is linked as a bin at the repo root (npx jairouter-operator after npm ci)', () => {
    expect(existsSync(join(dirname(BIN), '..', '..', 'node_modules', '.bin', 'jairouter-operator'))).toBe(true);
  });

  it('--help prints every flag', () => {
    const r = run('--help');
    expect(r.code).toBe(0);
    for (const flag of ['--kubeconfig', '--namespace', '--listen', '--admin-listen', '--leader-elect', '--pod-namespace', '--pod-name', '--snapshot-secret', '--proxy-service-account']) {
      expect(r.out).toContain(flag);
    }
  });

  it('a bad flag exits 2', () => {
    const r = run('--namespace', 'Bad_NS');
    expect(r.code).toBe(2);
    expect(r.err).toContain('--namespace: not a namespace name');
  });

  it('a missing kubeconfig exits 1 naming the problem', () => {
    const r = run('--kubeconfig', join(dir, 'missing'));
    expect(r.code).toBe(1);
    expect(r.err).toContain('cannot load the kubeconfig');
  });

  it.skipIf(existsSync(SERVICE_ACCOUNT_TOKEN))('without any kubeconfig exits 1 saying where it looked and how to point it at one', () => {
    const home = mkdtempSync(join(tmpdir(), 'jairouter-empty-home-'));
    const r = spawnSync(process.execPath, [BIN, '--admin-listen', '127.0.0.1:0', '--listen', '127.0.0.1:0'], {
      encoding: 'utf8',
      timeout: 20_000,
      env: { ...process.env, HOME: home, KUBECONFIG: undefined, KUBERNETES_SERVICE_HOST: undefined, KUBERNETES_SERVICE_PORT: undefined },
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('no kubeconfig found');
    expect(r.stderr).toContain(join(home, '.kube', 'config'));
    expect(r.stderr).toContain('--kubeconfig PATH or KUBECONFIG=PATH');
    // What it said before: a TLS complaint about the http://localhost:8080 client-node falls back to.
    expect(r.stdout + r.stderr).not.toMatch(/TLS|skipTLSVerify|snapshot stream/);
  });

  it('an unreachable API server exits 1 with one log line', () => {
    const kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, [
      'apiVersion: v1', 'kind: Config',
      'clusters: [{name: c, cluster: {server: "https://127.0.0.1:1", insecure-skip-tls-verify: true}}]',
      'users: [{name: u, user: {token: t}}]',
      'contexts: [{name: x, context: {cluster: c, user: u}}]',
      'current-context: x',
    ].join('\n'));
    const r = run('--kubeconfig', kubeconfig, '--admin-listen', '127.0.0.1:0', '--listen', '127.0.0.1:0');
    expect(r.code).toBe(1);
    const line = JSON.parse(r.out.trim().split('\n').at(-1)!) as { level: string; time: string; msg: string };
    // The proxy's shape: level name, ISO time, service.
    expect(line).toMatchObject({ level: 'fatal', service: 'jairouter-operator', msg: 'cannot start the snapshot stream' });
    expect(new Date(line.time).toISOString()).toBe(line.time);
  });
});
