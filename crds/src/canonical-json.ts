// Zod-free, so the proxy's long-lived process can check snapshot versions without the schemas.
import { createHash } from 'node:crypto';

/** A JSON object: not null, not an array. */
export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** JSON with object keys sorted, so that equal content always serialises to equal bytes. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (!isRecord(v)) return v;
    const sorted: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) sorted[k] = v[k];
    return sorted;
  });
}

/** `sha256:<hex>` of the canonical JSON of a config body (everything but `version`). */
export function contentVersion(body: unknown): string {
  return 'sha256:' + createHash('sha256').update(canonicalJson(body)).digest('hex');
}
