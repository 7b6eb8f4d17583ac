import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Sha256 } from './sign.ts';

async function mac(secret: string | ArrayBuffer | ArrayBufferView, data: string): Promise<string> {
  const h = new Sha256(secret);
  h.update(data);
  return Buffer.from(await h.digest()).toString('hex');
}

describe('Sha256 (the signer\'s hash, keys kept as KeyObjects)', () => {
  it('gives createHmac\'s HMAC for string, byte and ArrayBuffer keys, first use and reuse alike', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 40 }), fc.uint8Array({ maxLength: 40 }), fc.string({ maxLength: 100 }), async (s, bytes, data) => {
        const want = (k: string | Uint8Array) => createHmac('sha256', k).update(data).digest('hex');
        expect(await mac(s, data)).toBe(want(s));
        expect(await mac(s, data)).toBe(want(s));
        expect(await mac(bytes, data)).toBe(want(bytes));
        expect(await mac(bytes, data)).toBe(want(bytes));
        const ab = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
        expect(await mac(ab, data)).toBe(want(bytes));
        const view = new DataView(ab);
        expect(await mac(view, data)).toBe(want(bytes));
      }),
      { numRuns: 200 },
    );
  });

  it('keeps every key apart when more secrets pass than it keeps (rotated credentials)', async () => {
    for (let i = 0; i < 200; i++) {
      const secret = `secret-${i}`;
      expect(await mac(secret, 'payload')).toBe(createHmac('sha256', secret).update('payload').digest('hex'));
    }
    expect(await mac('secret-3', 'payload')).toBe(createHmac('sha256', 'secret-3').update('payload').digest('hex'));
  });

  it('hashes without a key', async () => {
    const h = new Sha256();
    h.update('abc');
    expect(Buffer.from(await h.digest()).toString('hex')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});
