import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalRequest, stringToSign, tc3Authorization, tc3Date, tc3Signature } from './tc3.ts';

/**
 * The worked example of Tencent Cloud's "Signature v3" documentation (API documentation,
 * "Making API Requests > Signature v3", e.g. https://www.tencentcloud.com/document/api/1005/34678,
 * Python sample): CVM DescribeInstances at cvm.tencentcloudapi.com, timestamp 1551113065, the
 * documented (masked) key, and the intermediate and final values the page prints.
 */
const EXAMPLE = {
  secretId: 'AKIDz8krbsJ5yKBZQpn74WFkmLPx3*******',
  secretKey: 'Gu5t9xGARNpq86cd98joQYCN3*******',
  service: 'cvm',
  host: 'cvm.tencentcloudapi.com',
  contentType: 'application/json; charset=utf-8',
  payload: '{"Limit": 1, "Filters": [{"Values": ["\\u672a\\u547d\\u540d"], "Name": "instance-name"}]}',
  timestamp: 1551113065,
};

describe('tc3', () => {
  it('builds the documented canonical request', () => {
    expect(canonicalRequest(EXAMPLE)).toBe(
      'POST\n/\n\ncontent-type:application/json; charset=utf-8\nhost:cvm.tencentcloudapi.com\n\ncontent-type;host\n' +
        '35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064',
    );
  });

  it('builds the documented string to sign', () => {
    expect(stringToSign(EXAMPLE)).toBe(
      'TC3-HMAC-SHA256\n1551113065\n2019-02-25/cvm/tc3_request\n5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031',
    );
  });

  it('computes the documented signature and Authorization header', () => {
    expect(tc3Signature(EXAMPLE)).toBe('2230eefd229f582d8b1b891af7107b91597240707d778ab3738f756258d7652c');
    expect(tc3Authorization(EXAMPLE)).toBe(
      'TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3*******/2019-02-25/cvm/tc3_request, ' +
        'SignedHeaders=content-type;host, Signature=2230eefd229f582d8b1b891af7107b91597240707d778ab3738f756258d7652c',
    );
  });

  it('changes the signature with the key, the body or the day', () => {
    const base = tc3Signature(EXAMPLE);
    expect(tc3Signature({ ...EXAMPLE, secretKey: 'other' })).not.toBe(base);
    expect(tc3Signature({ ...EXAMPLE, payload: '{}' })).not.toBe(base);
    expect(tc3Signature({ ...EXAMPLE, timestamp: EXAMPLE.timestamp + 86400 })).not.toBe(base);
  });

  it('signs as the full derivation does, whatever order secrets, services and days come in (the day\'s key is remembered)', () => {
    const derived = (r: typeof EXAMPLE): string => {
      const h = (k: string | Buffer, d: string) => createHmac('sha256', k).update(d, 'utf8').digest();
      const key = h(h(h(`TC3${r.secretKey}`, tc3Date(r.timestamp)), r.service), 'tc3_request');
      return createHmac('sha256', key).update(stringToSign(r), 'utf8').digest('hex');
    };
    // More secrets than are remembered (64), days back and forth, two services.
    const request = fc.record({
      secretKey: fc.constantFrom(...Array.from({ length: 80 }, (_, i) => `secret-${i}`)),
      service: fc.constantFrom('hunyuan', 'cvm'),
      timestamp: fc.integer({ min: 1_700_000_000, max: 1_700_000_000 + 5 * 86400 }),
    });
    fc.assert(
      fc.property(fc.array(request, { minLength: 1, maxLength: 60 }), (rs) => {
        for (const r of rs) {
          const req = { ...EXAMPLE, ...r };
          expect(tc3Signature(req)).toBe(derived(req));
        }
      }),
      { numRuns: 100 },
    );
  });
});
