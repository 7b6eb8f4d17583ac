import type { IncomingMessage } from 'node:http';

/**
 * How much of a too-large body is still read (and discarded) after the 413 went out: the
 * client is usually still sending, and a connection closed under it makes it see a broken pipe
 * instead of the answer. Past this the connection is cut; --request-read-timeout bounds the time.
 */
const DRAIN_CAP = 64 * 1024 * 1024;

/** Reads a request body up to `limit` bytes; `too-large` as soon as it is known to be bigger. */
export function readBody(
  req: IncomingMessage,
  limit: number,
  done: (err: 'too-large' | 'aborted' | null, body?: Buffer) => void,
): void {
  const chunks: Buffer[] = [];
  let size = 0;
  let finished = false;
  const tooLarge = (): void => {
    finished = true;
    chunks.length = 0;
    done('too-large');
  };
  req.on('data', (c: Buffer) => {
    size += c.length;
    if (finished) {
      if (size > limit + DRAIN_CAP) req.destroy();
      return;
    }
    if (size > limit) return tooLarge();
    chunks.push(c);
  });
  req.on('end', () => {
    if (finished) return;
    finished = true;
    done(null, chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
  });
  req.on('error', () => {
    if (finished) return;
    finished = true;
    done('aborted');
  });
  // A declared length over the limit is answered at once; the body is still drained (above).
  if (Number(req.headers['content-length']) > limit) tooLarge();
}

/** `application/json`, with parameters (`; charset=utf-8`), or any `+json` type. */
export function isJson(contentType: string): boolean {
  const semi = contentType.indexOf(';');
  const t = (semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
  return t === 'application/json' || (t.startsWith('application/') && t.endsWith('+json'));
}
