import { describe, expect, it } from 'vitest';
import { bedrock } from './adapter.ts';
import { backendIR, clientRequest, FIXED_NOW, frames, KEYS } from './golden.test-support.ts';
import { cachedCredentials, regionFromHost, type AwsCredentials } from './sign.ts';
import { EventStreamDecoder } from './stream.ts';

// The adapter loads the event-stream codec while it builds a streaming request; these tests decode directly.

const chat = clientRequest({ model: 'm', messages: [{ role: 'user', content: 'hi' }] });
const scope = (auth: string | undefined) => /Credential=[^/]+\/\d{8}\/([^/]+)\/bedrock\//.exec(auth ?? '')?.[1];

describe('bedrock adapter', () => {
  const adapter = bedrock({ now: () => FIXED_NOW, defaultCredentials: () => Promise.resolve(KEYS) });

  it('signs for options.region, else for the region of a bedrock-runtime.<region>.amazonaws.com url, else us-east-1', async () => {
    const withOption = await adapter.toUpstream(chat, backendIR({ options: { region: 'ap-northeast-1' } }), '', 'https://bedrock-runtime.eu-west-3.amazonaws.com');
    expect(scope(withOption.headers.authorization)).toBe('ap-northeast-1');
    const fromHost = await adapter.toUpstream(chat, backendIR(), '', 'https://bedrock-runtime.eu-west-3.amazonaws.com');
    expect(scope(fromHost.headers.authorization)).toBe('eu-west-3');
    const fallback = await adapter.toUpstream(chat, backendIR(), '', 'http://10.0.0.1:8080');
    expect(scope(fallback.headers.authorization)).toBe('us-east-1');
    expect(regionFromHost('bedrock-runtime-fips.us-gov-west-1.amazonaws.com')).toBe('us-gov-west-1');
    expect(regionFromHost('vpce-0abc.bedrock-runtime.eu-central-1.vpce.amazonaws.com')).toBe('eu-central-1');
  });

  it('uses the default credential chain without a credentialsRef, and a Bearer API key for a plain string', async () => {
    const { credential: _, ...noCredential } = backendIR();
    const up = await adapter.toUpstream(chat, noCredential, '', 'https://bedrock-runtime.us-east-1.amazonaws.com');
    expect(up.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIAGOLDENEXAMPLE001\//);
    const key = backendIR({ credential: 'ABSKexample' });
    expect((await adapter.toUpstream(chat, key, '', 'https://x')).headers.authorization).toBe('Bearer ABSKexample');
    // Probes cannot carry a SigV4 signature (it covers the path and expires); an API key they can.
    expect(adapter.authHeaders(key)).toEqual({ authorization: 'Bearer ABSKexample' });
    expect(adapter.authHeaders(backendIR())).toEqual({});
  });

  it('refuses a malformed JSON credential without echoing it', async () => {
    const bad = backendIR({ credential: '{"accessKeyId":"AKIA","secret":"s3cr3t-value"}' });
    const e = await Promise.resolve().then(() => adapter.toUpstream(chat, bad, '', 'https://x')).catch((x: unknown) => x as Error);
    expect((e as Error).message).toContain('needs accessKeyId and secretAccessKey');
    expect((e as Error).message).not.toContain('s3cr3t-value');
  });

  it('serves chat and embeddings, not legacy completions', () => {
    expect([adapter.supports('chat'), adapter.supports('embeddings'), adapter.supports('completions')]).toEqual([true, true, false]);
  });
});

describe('credential cache', () => {
  it('asks the provider again only within five minutes of expiry, shares a lookup in flight, and does not cache a failure', async () => {
    let now = 0;
    let calls = 0;
    let fail = false;
    const provider = (): Promise<AwsCredentials> => {
      calls++;
      return fail ? Promise.reject(new Error('no credentials')) : Promise.resolve({ ...KEYS, expiration: new Date(now + 60 * 60 * 1000) });
    };
    const creds = cachedCredentials(provider, () => now);
    await Promise.all([creds(), creds()]);
    expect(calls).toBe(1);
    now = 54 * 60 * 1000;
    await creds();
    expect(calls).toBe(1);
    now = 56 * 60 * 1000;
    fail = true;
    await expect(creds()).rejects.toThrow('no credentials');
    fail = false;
    await creds();
    expect(calls).toBe(3);
  });
});

describe('event-stream decoder', () => {
  it('reassembles messages fed one byte at a time, and several in one chunk', () => {
    const bytes = frames([{ type: 'messageStart', payload: { role: 'assistant' } }, { type: 'contentBlockDelta', payload: { delta: { text: 'hé' } } }]);
    const one = new EventStreamDecoder();
    const seen = [];
    for (let i = 0; i < bytes.length; i++) seen.push(...one.push(bytes.subarray(i, i + 1)));
    expect(seen.map((e) => e.type)).toEqual(['messageStart', 'contentBlockDelta']);
    expect(seen[1]!.payload).toEqual({ delta: { text: 'hé' } });
    expect(one.pending).toBe(0);
    expect(new EventStreamDecoder().push(bytes).map((e) => e.messageType)).toEqual(['event', 'event']);
  });

  it('refuses a corrupted message (CRC check)', () => {
    const bytes = Buffer.from(frames([{ type: 'messageStart', payload: { role: 'assistant' } }]));
    const at = bytes.length - 6;
    bytes.writeUInt8(bytes[at]! ^ 0xff, at);
    expect(() => new EventStreamDecoder().push(bytes)).toThrow();
  });
});
