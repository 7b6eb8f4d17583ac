// A multipart/form-data body written from its parts (http/multipart.ts parsed them), for the
// backend: the parts as they came, `model` replaced by the backend's.
import { randomBytes } from 'node:crypto';
import type { FormPart } from './types.ts';

/** The parts as a multipart body, with `model` as given; its content type names the boundary. */
export function encodeForm(parts: readonly FormPart[], model: string): { body: Buffer; contentType: string } {
  const boundary = `----jairouter${randomBytes(12).toString('hex')}`;
  const chunks: Buffer[] = [];
  const quote = (s: string) => s.replace(/["\r\n]/g, (c) => encodeURIComponent(c));
  for (const p of parts) {
    if ('value' in p) {
      chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${quote(p.name)}"\r\n\r\n${p.name === 'model' ? model : p.value}\r\n`));
    } else {
      chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${quote(p.name)}"; filename="${quote(p.filename)}"\r\nContent-Type: ${p.type}\r\n\r\n`), p.data, Buffer.from('\r\n'));
    }
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}
