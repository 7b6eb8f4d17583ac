import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { emptyProxyConfig, ProxyConfig, withVersion } from './proxy-config.ts';
import { checkSnapshotConfig, configVersion, ServedReport, SnapshotMessage } from './snapshot-protocol.ts';

const GOLDEN = new URL('../testdata/compile/', import.meta.url);
const goldenConfigs = readdirSync(GOLDEN).map((d) => ProxyConfig.parse(JSON.parse(readFileSync(new URL(`${d}/config.json`, GOLDEN), 'utf8'))));

describe('snapshot wire check (zod-free, used by the proxy)', () => {
  it('computes the same version as withVersion() for every golden config', () => {
    expect(goldenConfigs.length).toBeGreaterThan(0);
    for (const c of goldenConfigs) {
      const { version, ...body } = c;
      expect(configVersion(c)).toBe(withVersion(body).version);
      expect(configVersion(c)).toBe(version);
      expect(checkSnapshotConfig(JSON.parse(JSON.stringify(c)))).toEqual({ ok: true, config: c });
    }
  });

  it('refuses a config whose content does not match its version', () => {
    const c = structuredClone(goldenConfigs.find((g) => g.routes.length > 0)!);
    c.routes[0]!.name = 'tampered';
    const r = checkSnapshotConfig(c);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toContain('does not match');
  });

  it.each([
    [null, 'not a JSON object'],
    [[], 'not a JSON object'],
    [{ ...emptyProxyConfig(), schemaVersion: 5 }, 'schemaVersion 5'],
    // Nor one of schema 3 (before LoadAware and engine metrics).
    [{ ...emptyProxyConfig(), schemaVersion: 3 }, 'schemaVersion 3'],
    // An operator of schema 1 (before limits) is not served by mistake as a config with no limits.
    [{ ...emptyProxyConfig(), schemaVersion: 1 }, 'schemaVersion 1'],
    // Nor one of schema 2 (before response masking), whose tenants would be read as unmasked.
    [{ ...emptyProxyConfig(), schemaVersion: 2 }, 'schemaVersion 2'],
    [{ ...emptyProxyConfig(), limits: undefined }, 'arrays'],
    [{ ...emptyProxyConfig(), routes: {} }, 'arrays'],
    [{ ...emptyProxyConfig(), version: 'v1' }, 'sha256'],
  ])('refuses %j', (value, reason) => {
    const r = checkSnapshotConfig(value);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toContain(reason);
  });
});

describe('snapshot protocol schemas', () => {
  it('parses snapshot and heartbeat lines', () => {
    const config = emptyProxyConfig();
    expect(SnapshotMessage.parse({ type: 'snapshot', config })).toEqual({ type: 'snapshot', config });
    expect(SnapshotMessage.parse({ type: 'heartbeat' })).toEqual({ type: 'heartbeat' });
    expect(SnapshotMessage.safeParse({ type: 'snapshot', config: {} }).success).toBe(false);
  });

  it('takes pod names as proxy ids and nothing else', () => {
    expect(ServedReport.safeParse({ proxy: 'jairouter-proxy-7d9f-abcde', version: 'sha256:00' }).success).toBe(true);
    expect(ServedReport.safeParse({ proxy: 'Bad Name', version: 'x' }).success).toBe(false);
    expect(ServedReport.safeParse({ proxy: 'p', version: '' }).success).toBe(false);
  });
});
