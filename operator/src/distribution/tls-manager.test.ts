import { X509Certificate } from 'node:crypto';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { OpensslMissingError, servingNames } from './certs.ts';
import { MemoryCertStore } from './stores.ts';
import { TlsManager } from './tls-manager.ts';

const DAY = 86_400_000;
const log = pino({ level: 'silent' });
const names = servingNames('jairouter-operator', 'jairouter-system');

describe('TlsManager', () => {
  it('two replicas starting together end up with one bundle', async () => {
    const store = new MemoryCertStore();
    const [a, b] = await Promise.all([new TlsManager({ store, names, log }).ensure(), new TlsManager({ store, names, log }).ensure()]);
    expect(a.cert).toBe(b.cert);
    expect(store.revision).toBe(1);
    expect(store.ca).toBe(a.caCert);
  });

  it('renews the serving certificate with less than 30 days left, keeping the CA', async () => {
    const store = new MemoryCertStore();
    let now = Date.now();
    const m = new TlsManager({ store, names, log, now: () => now });
    const first = await m.ensure();
    now += 300 * DAY;
    expect((await m.ensure()).cert).toBe(first.cert);
    now += 40 * DAY;
    const renewed = await m.ensure();
    expect(renewed.cert).not.toBe(first.cert);
    expect(renewed.caCert).toBe(first.caCert);
    expect(new X509Certificate(renewed.cert).verify(new X509Certificate(first.caCert).publicKey)).toBe(true);
    expect(store.revision).toBe(2);
  });

  it('renews everything when the CA nears its end, and republishes the CA', async () => {
    const store = new MemoryCertStore();
    let now = Date.now();
    const m = new TlsManager({ store, names, log, now: () => now });
    const first = await m.ensure();
    now += 3300 * DAY;
    const renewed = await m.ensure();
    expect(renewed.caCert).not.toBe(first.caCert);
    expect(store.ca).toBe(renewed.caCert);
  });

  it('reissues when the service names change', async () => {
    const store = new MemoryCertStore();
    const first = await new TlsManager({ store, names, log }).ensure();
    const other = await new TlsManager({ store, names: servingNames('gw', 'ops'), log }).ensure();
    expect(other.cert).not.toBe(first.cert);
    expect(new X509Certificate(other.cert).subjectAltName).toContain('DNS:gw.ops.svc');
  });

  it('a replica whose replace loses picks up the winner', async () => {
    const store = new MemoryCertStore();
    await new TlsManager({ store, names, log }).ensure();
    // Both see a certificate to reissue (the names changed); one replace wins, the other re-reads.
    const next = servingNames('gw', 'ops');
    const [ra, rb] = await Promise.all([new TlsManager({ store, names: next, log }).ensure(), new TlsManager({ store, names: next, log }).ensure()]);
    expect(ra.cert).toBe(rb.cert);
    expect(store.revision).toBe(2);
  });

  it('says clearly that openssl is missing when it is', async () => {
    const path = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      const store = new MemoryCertStore();
      const err = await new TlsManager({ store, names, log }).ensure().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OpensslMissingError);
      expect((err as Error).message).toContain('openssl');
      expect(store.bundle).toBeNull();
    } finally {
      process.env.PATH = path;
    }
  });
});
