// Zod-free, so the proxy's long-lived process can check snapshot versions without the schemas.
import { createHash } from 'node:crypto';

/** JSON with object keys sorted, so that equal content always serialises to equal bytes. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      const o = v as Record<string, unknown>;
      const sorted: Record<string, unknown> = {};
      for (const k of Object.keys(o).sort()) sorted[k] = o[k];
      return sorted;
    }
    return v;
  });
}

/** `sha256:<hex>` of the canonical JSON of a config body (everything but `version`). */
export function contentVersion(body: unknown): string {
  return 'sha256:' + createHash('sha256').update(canonicalJson(body)).digest('hex');
}
