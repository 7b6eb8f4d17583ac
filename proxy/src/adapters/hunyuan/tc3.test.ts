import { describe, expect, it } from 'vitest';
import { canonicalRequest, stringToSign, tc3Authorization, tc3Signature } from './tc3.ts';

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
});
