import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { connectCluster } from './external-cluster.ts';
import { kubeRequest, kubectl } from './kube.ts';
import { skipK8s, useBinaries, useControlPlane } from './testing.ts';

// JAIROUTER_E2E_KUBECONFIG (make e2e-kind) points the suites at an existing cluster. Here the
// "existing cluster" is a local control plane, reached only through its kubeconfig, as kind's.
describe.skipIf(skipK8s)('connectCluster (JAIROUTER_E2E_KUBECONFIG)', () => {
  const cp = useControlPlane();
  const tmp = mkdtempSync(join(tmpdir(), 'jairouter-kubeconfig-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));
  const bins = useBinaries();

  /** The control plane's kubeconfig with its certificates as files next to it, named relatively. */
  function withRelativeFiles(): string {
    const doc = parse(readFileSync(cp().kubeconfig, 'utf8')) as {
      clusters: { cluster: Record<string, unknown> }[];
      users: { user: Record<string, unknown> }[];
    };
    const toFile = (o: Record<string, unknown>, field: string) => {
      writeFileSync(join(tmp, `${field}.pem`), Buffer.from(o[`${field}-data`] as string, 'base64'));
      o[field] = `${field}.pem`;
      delete o[`${field}-data`];
    };
    toFile(doc.clusters[0]!.cluster, 'certificate-authority');
    toFile(doc.users[0]!.user, 'client-certificate');
    toFile(doc.users[0]!.user, 'client-key');
    const file = join(tmp, 'relative');
    writeFileSync(file, stringify(doc));
    return file;
  }

  // The local control plane's kubeconfig inlines its certificates (-data fields), as kind's does.
  for (const [what, file] of [['inlined certificates (as kind writes them)', () => cp().kubeconfig], ['certificate files named relative to it', withRelativeFiles]] as const) {
    it(`reaches the cluster with raw requests and kubectl from a kubeconfig with ${what}`, async () => {
      const c = connectCluster(file(), bins());
      try {
        const v = await kubeRequest(c, '/version');
        expect(v.status).toBe(200);
        expect((v.body as { gitVersion: string }).gitVersion).toBe(cp().versions.kubernetes);
        const k = await kubectl(c, ['get', 'namespaces', '-o', 'name']);
        expect(k.code, k.stderr).toBe(0);
        expect(k.stdout).toContain('namespace/default');
      } finally {
        await c.stop();
      }
    });
  }

  it('refuses a token user with a message that says what it needs', () => {
    const doc = parse(readFileSync(cp().kubeconfig, 'utf8')) as { users: { user: Record<string, unknown> }[] };
    doc.users[0]!.user = { token: 'not-a-real-token' };
    const file = join(tmp, 'token-user');
    writeFileSync(file, stringify(doc));
    expect(() => connectCluster(file, bins())).toThrow(/client-certificate.*token and exec users are not supported/);
  });
});
