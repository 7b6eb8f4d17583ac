import { crc32 } from 'node:zlib';

/**
 * Decodes one message of the AWS event-stream encoding (what ConverseStream and
 * InvokeModelWithResponseStream answer in): a 12-byte prelude (total length, headers length,
 * prelude CRC32), the headers, the payload, and a CRC32 of everything before it; all big-endian.
 *
 * Hand-written rather than @smithy/eventstream-codec's decoder, which builds every header through
 * its own UTF-8 and byte-array helpers and computes the CRCs in JavaScript: 2.6-3.4 µs a message,
 * a quarter of a streamed Bedrock answer's CPU in the proxy. This keeps only string headers
 * (what the adapter reads), slices the payload without copying and takes the CRCs from zlib.
 * event-stream.test.ts holds it to smithy's codec: what it encodes decodes alike, and any byte
 * changed in a message is refused by both.
 */
export interface EventStreamMessage {
  /** The string-valued headers (`:message-type`, `:event-type`, ...); others are skipped. */
  headers: Record<string, string>;
  /** The payload, a view of the message's bytes. */
  body: Buffer;
}

const PRELUDE = 12;
/** Prelude and message CRC: the smallest message, with no headers and no payload. */
export const MIN_MESSAGE = PRELUDE + 4;

/** Sizes of the header value types 0-9; -1 for the two whose value starts with a 2-byte length (6 bytes, 7 string). */
const VALUE_SIZE = [0, 0, 1, 2, 4, 8, -1, -1, 8, 16];

/** `m` holds exactly one message (its first 4 bytes say how long it is). Throws on a bad length or CRC. */
export function decodeMessage(m: Buffer): EventStreamMessage {
  if (m.length < MIN_MESSAGE) throw new Error(`event-stream message of ${m.length} bytes is shorter than its ${MIN_MESSAGE}-byte frame`);
  const total = m.readUInt32BE(0);
  if (total !== m.length) throw new Error(`event-stream message says ${total} bytes, ${m.length} given`);
  const headersLength = m.readUInt32BE(4);
  if (crc32(m.subarray(0, 8)) !== m.readUInt32BE(8)) throw new Error('event-stream prelude checksum mismatch');
  if (crc32(m.subarray(0, total - 4)) !== m.readUInt32BE(total - 4)) throw new Error('event-stream message checksum mismatch');
  const headersEnd = PRELUDE + headersLength;
  if (headersEnd > total - 4) throw new Error(`event-stream headers length ${headersLength} runs past the message`);
  const headers: Record<string, string> = {};
  let i = PRELUDE;
  while (i < headersEnd) {
    const nameLength = m[i]!;
    const nameEnd = i + 1 + nameLength;
    if (nameEnd + 1 > headersEnd) throw new Error('event-stream header runs past the headers');
    const name = m.toString('utf8', i + 1, nameEnd);
    const type = m[nameEnd]!;
    i = nameEnd + 1;
    let size = VALUE_SIZE[type];
    if (size === undefined) throw new Error(`event-stream header ${name} has unknown value type ${type}`);
    if (size < 0) {
      if (i + 2 > headersEnd) throw new Error(`event-stream header ${name} runs past the headers`);
      size = 2 + m.readUInt16BE(i);
    }
    if (i + size > headersEnd) throw new Error(`event-stream header ${name} runs past the headers`);
    if (type === 7) headers[name] = m.toString('utf8', i + 2, i + size);
    i += size;
  }
  return { headers, body: m.subarray(headersEnd, total - 4) };
}
