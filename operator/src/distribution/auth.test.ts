import { describe, expect, it } from 'vitest';
import { ProxyAuthenticator } from './auth.ts';
import { FakeReviewer } from './testing.ts';

describe('ProxyAuthenticator', () => {
  it('expires cached answers after the TTL', async () => {
    const r = new FakeReviewer();
    let now = 0;
    const a = new ProxyAuthenticator(r, { account: 'jairouter-system/jairouter-proxy', now: () => now });
    expect(await a.check('Bearer good', 'p')).toEqual({ ok: true, username: 'system:serviceaccount:jairouter-system:jairouter-proxy' });
    now = 59_000;
    await a.check('Bearer good', 'p');
    expect(r.calls).toBe(1);
    now = 61_000;
    await a.check('Bearer good', 'p');
    expect(r.calls).toBe(2);
  });

  it('keeps the cache bounded', async () => {
    const a = new ProxyAuthenticator(new FakeReviewer(), { account: 'jairouter-system/jairouter-proxy', maxEntries: 3 });
    for (let i = 0; i < 10; i++) await a.check(`Bearer good-${i}`, 'p');
    expect(a.cacheSize).toBe(3);
  });

  it('checks another configured account', async () => {
    const a = new ProxyAuthenticator(new FakeReviewer(), { account: 'default/default' });
    expect(await a.check('Bearer other', 'p')).toMatchObject({ ok: true });
    expect(await a.check('Bearer good', 'p')).toMatchObject({ ok: false, status: 403 });
  });

  it('a review that throws is a 401 without the token in the message', async () => {
    const a = new ProxyAuthenticator({ review: () => Promise.reject(new Error('connection refused')) }, { account: 'a/b' });
    const out = await a.check('Bearer s3cr3t', 'p');
    expect(out).toMatchObject({ ok: false, status: 401 });
    expect(JSON.stringify(out)).not.toContain('s3cr3t');
  });

  it('refuses a malformed account flag', () => {
    expect(() => new ProxyAuthenticator(new FakeReviewer(), { account: 'nope' })).toThrow('NAMESPACE/NAME');
  });
});
