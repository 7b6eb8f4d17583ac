import type { IncomingMessage } from 'node:http';

/** Reads a request body up to `limit` bytes; `too-large` as soon as it is known to be bigger. */
export function readBody(
  req: IncomingMessage,
  limit: number,
  done: (err: 'too-large' | 'aborted' | null, body?: Buffer) => void,
): void {
  const declared = Number(req.headers['content-length']);
  if (declared > limit) {
    req.resume();
    done('too-large');
    return;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  let finished = false;
  req.on('data', (c: Buffer) => {
    if (finished) return;
    size += c.length;
    if (size > limit) {
      finished = true;
      chunks.length = 0;
      done('too-large');
      return;
    }
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
}
