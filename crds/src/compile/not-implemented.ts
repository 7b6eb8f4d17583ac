import type { TenantSpec } from '../api/tenant.ts';
import { isRecord } from '../canonical-json.ts';

/**
 * Fields the API defines that the proxy of this release does not enforce yet, with the issue
 * that implements them. compile() refuses an object that sets one (reason NotImplemented)
 * instead of accepting it and serving it with a silent hole: a quota that limits nothing, a
 * role that grants every key of the tenant its models, masking that masks nothing.
 * crds/src/api/field-coverage.test.ts holds every schema field to this list or to a test that
 * shows the proxy enforcing it.
 */
const TENANT_FIELDS: readonly { path: readonly string[]; issue: number }[] = [];

export const NOT_IMPLEMENTED = 'NotImplemented';

/** Why a Tenant cannot be accepted yet, naming every such field it sets; undefined when none. */
export function tenantNotImplemented(spec: TenantSpec): string | undefined {
  const found = TENANT_FIELDS.filter((f) => valueAt(spec, f.path) !== undefined);
  if (found.length === 0) return undefined;
  const fields = found.map((f) => `spec.${f.path.join('.')} is not implemented yet (issue #${f.issue})`).join('; ');
  return `${fields}: remove ${found.length === 1 ? 'it' : 'them'}; this Tenant is not served until then.`;
}

function valueAt(value: unknown, path: readonly string[]): unknown {
  let v = value;
  for (const key of path) v = isRecord(v) ? v[key] : undefined;
  return v;
}
