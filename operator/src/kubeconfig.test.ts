import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadKubeConfig, NoKubeconfigError, SERVICE_ACCOUNT_TOKEN } from './kubeconfig.ts';

const dir = mkdtempSync(join(tmpdir(), 'jairouter-kubeconfig-'));
function kubeconfig(name: string, server: string): string {
  const file = join(dir, name);
  writeFileSync(file, [
    'apiVersion: v1', 'kind: Config',
    `clusters: [{name: ${name}, cluster: {server: "${server}"}}]`,
    `users: [{name: ${name}, user: {token: t}}]`,
    `contexts: [{name: ${name}, context: {cluster: ${name}, user: ${name}}}]`,
    `current-context: ${name}`,
  ].join('\n'));
  return file;
}
const nothingExists = () => false;

describe('loadKubeConfig', () => {
  it('with nothing to find, says where it looked and how to point it at a cluster', () => {
    const homeConfig = join(dir, 'home', '.kube', 'config');
    let err: unknown;
    try {
      loadKubeConfig({ flag: undefined, env: undefined, homeConfig }, nothingExists);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NoKubeconfigError);
    const message = (err as Error).message;
    expect(message).toMatch(/^no kubeconfig found/);
    for (const place of ['--kubeconfig', '$KUBECONFIG', homeConfig, SERVICE_ACCOUNT_TOKEN]) expect(message).toContain(place);
    expect(message).toContain('--kubeconfig PATH or KUBECONFIG=PATH');
    expect(message).not.toMatch(/TLS|skipTLSVerify|localhost:8080/);
  });

  it('takes --kubeconfig over $KUBECONFIG, and $KUBECONFIG over ~/.kube/config', () => {
    const flag = kubeconfig('flag', 'https://flag.example:6443');
    const env = kubeconfig('env', 'https://env.example:6443');
    const home = kubeconfig('home', 'https://home.example:6443');
    const everywhere = () => true;
    expect(loadKubeConfig({ flag, env, homeConfig: home }, everywhere).getCurrentCluster()?.server).toBe('https://flag.example:6443');
    expect(loadKubeConfig({ flag: undefined, env, homeConfig: home }, everywhere).getCurrentCluster()?.server).toBe('https://env.example:6443');
    expect(loadKubeConfig({ flag: undefined, env: '', homeConfig: home }, everywhere).getCurrentCluster()?.server).toBe('https://home.example:6443');
  });

  it('merges a $KUBECONFIG list, the first file naming the current context', () => {
    const a = kubeconfig('a', 'https://a.example:6443');
    const b = kubeconfig('b', 'https://b.example:6443');
    const kc = loadKubeConfig({ flag: undefined, env: [a, b].join(delimiter), homeConfig: join(dir, 'none') }, nothingExists);
    expect(kc.getCurrentCluster()?.server).toBe('https://a.example:6443');
    expect(kc.getClusters().map((c) => c.name).sort()).toEqual(['a', 'b']);
  });

  it('a $KUBECONFIG list whose first file sets no current-context takes the next one\'s', () => {
    const creds = join(dir, 'creds-only');
    writeFileSync(creds, 'apiVersion: v1\nkind: Config\nusers: [{name: extra, user: {token: t}}]\n');
    const b = kubeconfig('b2', 'https://b2.example:6443');
    const kc = loadKubeConfig({ flag: undefined, env: [creds, b].join(delimiter), homeConfig: join(dir, 'none') }, nothingExists);
    expect(kc.getCurrentCluster()?.server).toBe('https://b2.example:6443');
  });

  it('names the file and where it came from when it cannot be read', () => {
    expect(() => loadKubeConfig({ flag: undefined, env: join(dir, 'missing'), homeConfig: join(dir, 'none') }, nothingExists))
      .toThrow(`${join(dir, 'missing')} (from $KUBECONFIG): ENOENT`);
  });
});
