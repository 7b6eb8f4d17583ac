// The image is built only where Docker exists (make e2e-kind); these checks keep the Dockerfile
// in step with the repository everywhere else.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT as root } from '@jairouter/testkit/config';

const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { workspaces: string[] };

describe('Dockerfile', () => {
  it('copies every workspace package.json before npm ci, so the lockfile installs', () => {
    const ci = dockerfile.indexOf('npm ci');
    for (const ws of pkg.workspaces) {
      const at = dockerfile.indexOf(`COPY ${ws}/package.json`);
      expect(at, `${ws}/package.json`).toBeGreaterThan(-1);
      expect(at).toBeLessThan(ci);
    }
  });

  it('puts the binaries the Helm chart runs on PATH', () => {
    const chart = readFileSync(join(root, 'charts/jairouter/templates/operator/deployment.yaml'), 'utf8') +
      readFileSync(join(root, 'charts/jairouter/templates/proxy/deployment.yaml'), 'utf8');
    for (const bin of ['jairouter-operator', 'jairouter-proxy']) {
      expect(chart).toContain(bin);
      expect(dockerfile).toContain(`/usr/local/bin/${bin}`);
    }
  });

  it('runs Node with the young generation the bench and the soak measure (NODE_OPTIONS), so their memory figures are the image\'s', () => {
    const flag = /NODE_OPTIONS=(--max-semi-space-size=\d+)/.exec(dockerfile)?.[1];
    expect(flag).toBe('--max-semi-space-size=4');
    expect(readFileSync(join(root, 'bench/run.sh'), 'utf8')).toContain(`JAIROUTER_NODE_ARGS=\${JAIROUTER_NODE_ARGS-"${flag}"}`);
    expect(readFileSync(join(root, 'proxy/scripts/soak.ts'), 'utf8')).toContain(`?? '${flag}'`);
  });

  it('fills the compile cache NODE_COMPILE_CACHE names after copying the sources, as the user the binaries run as (Node keys the cache by uid)', () => {
    const dir = /NODE_COMPILE_CACHE=(\S+)/.exec(dockerfile)?.[1];
    expect(dir).toBeDefined();
    expect(dir!.startsWith('/tmp/')).toBe(false); // the chart mounts an empty /tmp
    const warm = dockerfile.indexOf(`RUN node scripts/warm-compile-cache.mjs ${dir}`);
    expect(warm).toBeGreaterThan(dockerfile.indexOf('USER 65532:65532'));
    expect(warm).toBeGreaterThan(dockerfile.lastIndexOf('\nCOPY '));
    const values = readFileSync(join(root, 'charts/jairouter/values.yaml'), 'utf8');
    expect(values).toMatch(/runAsUser: 65532$/m);
  });

  it('runs as the non-root user the chart expects and ships openssl for the operator', () => {
    expect(dockerfile).toMatch(/^USER 65532:65532$/m);
    expect(dockerfile).toContain('openssl');
  });
});
