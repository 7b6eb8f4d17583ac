import { EventStreamCodec, type MessageHeaders } from '@smithy/eventstream-codec';
import { fromUtf8, toUtf8 } from '@smithy/util-utf8';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeMessage } from './event-stream.ts';

// The conformance test of event-stream.ts: smithy's codec (what the AWS SDKs use) encodes, ours decodes.
const smithy = new EventStreamCodec(toUtf8, fromUtf8);

const name = fc.string({ minLength: 1, maxLength: 20 }).filter((s) => Buffer.byteLength(s) <= 255);
const value = fc.oneof(
  fc.record({ type: fc.constant('string' as const), value: fc.string({ maxLength: 40 }) }),
  fc.record({ type: fc.constant('boolean' as const), value: fc.boolean() }),
  fc.record({ type: fc.constant('byte' as const), value: fc.integer({ min: -128, max: 127 }) }),
  fc.record({ type: fc.constant('short' as const), value: fc.integer({ min: -32768, max: 32767 }) }),
  fc.record({ type: fc.constant('integer' as const), value: fc.integer() }),
  fc.record({ type: fc.constant('binary' as const), value: fc.uint8Array({ maxLength: 20 }) }),
  fc.record({ type: fc.constant('timestamp' as const), value: fc.date({ min: new Date(0), max: new Date(4e12), noInvalidDate: true }) }),
  fc.record({ type: fc.constant('uuid' as const), value: fc.uuid() }),
);
const messageArb = fc.record({
  headers: fc.dictionary(name, value, { maxKeys: 6 }) as fc.Arbitrary<MessageHeaders>,
  body: fc.oneof(fc.string({ maxLength: 200 }).map((s) => fromUtf8(s)), fc.uint8Array({ maxLength: 64 })),
});

function stringHeaders(h: MessageHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) if (v.type === 'string') out[k] = v.value;
  return out;
}

describe('decodeMessage', () => {
  it('reads what smithy encodes: the string headers and the payload', () => {
    fc.assert(
      fc.property(messageArb, (msg) => {
        const bytes = Buffer.from(smithy.encode(msg));
        const got = decodeMessage(bytes);
        const theirs = smithy.decode(bytes);
        expect(got.headers).toEqual(stringHeaders(theirs.headers));
        expect(Buffer.from(got.body).equals(Buffer.from(theirs.body))).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('refuses a message with any byte changed, as smithy does', () => {
    fc.assert(
      fc.property(messageArb, fc.nat(), fc.integer({ min: 1, max: 255 }), (msg, at, flip) => {
        const bytes = Buffer.from(smithy.encode(msg));
        const i = at % bytes.length;
        bytes[i]! ^= flip;
        if (i < 4) {
          // A changed length is caught by the caller's framing or by the length check.
          expect(() => decodeMessage(bytes)).toThrow();
          return;
        }
        expect(() => smithy.decode(bytes)).toThrow();
        expect(() => decodeMessage(bytes)).toThrow(/checksum mismatch/);
      }),
      { numRuns: 500 },
    );
  });

  it('refuses a frame too short to hold its prelude and checksum', () => {
    expect(() => decodeMessage(Buffer.alloc(15))).toThrow(/shorter than its 16-byte frame/);
  });
});
