import { createHash } from 'node:crypto';
import { TenantSpec } from '../api/tenant.ts';
import type { TenantIR } from '../proxy-config.ts';
import type { KubeObject } from '../resources.ts';
import { formatZodIssues, summarise } from './issues.ts';
import { compareAge, precedence, prepare, specOf, type ObjectInfo } from './objects.ts';
import { NOT_IMPLEMENTED, tenantNotImplemented } from './not-implemented.ts';
import { isProblem, secretEntries, type SecretIndex } from './secrets.ts';
import {
  acceptedFalse, acceptedTrue, duplicateConditions, refsCondition, refsNotChecked,
  type CompiledCondition, type Problem, type TenantObjectStatus,
} from './status.ts';
import { checkTenantSpec } from './tenant-checks.ts';

type ApiKey = TenantIR['apiKeys'][number];

/** An API key or why a referenced key could not be loaded, in spec order. */
type KeyItem = { key: ApiKey } | { problem: Problem };

interface Candidate {
  info: ObjectInfo;
  spec: TenantSpec;
  items: KeyItem[];
}

export interface TenantsResult {
  /** The tenants in the config (compile() sorts them). */
  tenants: TenantIR[];
  statuses: TenantObjectStatus[];
}

export function compileTenants(objects: readonly KubeObject[], secrets: SecretIndex): TenantsResult {
  const statuses: TenantObjectStatus[] = [];
  const { entries, conflicting } = prepare(objects);
  for (const info of conflicting) statuses.push(tenantStatus(info, duplicateConditions(info), 0));

  const candidates: Candidate[] = [];
  for (const { info, object } of entries) {
    const parsed = TenantSpec.safeParse(specOf(object));
    const problems = parsed.success ? checkTenantSpec(parsed.data) : formatZodIssues(parsed.error);
    if (!parsed.success || problems.length > 0) {
      statuses.push(tenantStatus(info, [acceptedFalse(info, 'Invalid', `${summarise(problems)}.`), refsNotChecked(info)], 0));
      continue;
    }
    const notImplemented = tenantNotImplemented(parsed.data);
    if (notImplemented) {
      statuses.push(tenantStatus(info, [acceptedFalse(info, NOT_IMPLEMENTED, notImplemented), refsNotChecked(info, NOT_IMPLEMENTED)], 0));
      continue;
    }
    candidates.push({ info, spec: parsed.data, items: loadKeys(info, parsed.data, secrets) });
  }

  // A key identifies one tenant: when two tenants hold the same key, the older keeps it.
  const owners = new Map<string, { tenant: ObjectInfo; keyId: string }>();
  const tenants: TenantIR[] = [];
  for (const c of [...candidates].sort((a, b) => compareAge(a.info, b.info))) {
    const keys: ApiKey[] = [];
    const problems: Problem[] = [];
    for (const item of c.items) {
      if ('problem' in item) {
        problems.push(item.problem);
        continue;
      }
      const owner = owners.get(item.key.sha256);
      if (!owner) {
        owners.set(item.key.sha256, { tenant: c.info, keyId: item.key.id });
        keys.push(item.key);
      } else if (owner.tenant.id === c.info.id) {
        problems.push({ reason: 'DuplicateAPIKey', message: `API key "${item.key.id}" has the same value as "${owner.keyId}" (skipped)` });
      } else {
        const why = precedence(owner.tenant, c.info);
        problems.push({ reason: 'DuplicateAPIKey', message: `API key "${item.key.id}" is already used by Tenant ${owner.tenant.id} (skipped; ${why})` });
      }
    }
    tenants.push(tenantIR(c.info, c.spec, keys));
    statuses.push(tenantStatus(c.info, [acceptedTrue(c.info), refsCondition(c.info, problems, 'All references resolved.')], keys.length));
  }
  return { tenants, statuses };
}

/** Every entry of every referenced Secret is one key; only its SHA-256 leaves the compiler. */
function loadKeys(info: ObjectInfo, spec: TenantSpec, secrets: SecretIndex): KeyItem[] {
  const items: KeyItem[] = [];
  const names = [...new Set((spec.apiKeys?.secretRefs ?? []).map((r) => r.name))];
  for (const name of names) {
    const entries = secretEntries(secrets, info.namespace, name);
    if (isProblem(entries)) {
      items.push({ problem: entries });
      continue;
    }
    if (entries.length === 0) items.push({ problem: { reason: 'EmptySecret', message: `Secret "${name}" holds no keys` } });
    for (const entry of entries) {
      const id = `${name}/${entry.key}`;
      if ('invalid' in entry) {
        items.push({ problem: { reason: 'SecretKeyInvalid', message: `API key "${id}" ${entry.invalid} (skipped)` } });
        continue;
      }
      const value = entry.value.trim();
      if (value === '') {
        items.push({ problem: { reason: 'EmptyAPIKey', message: `API key "${id}" is empty (skipped)` } });
        continue;
      }
      items.push({ key: { id, sha256: createHash('sha256').update(value, 'utf8').digest('hex') } });
    }
  }
  return items;
}

/** Only what the proxy enforces: the fields tenantNotImplemented() refuses never get here. */
function tenantIR(info: ObjectInfo, spec: TenantSpec, apiKeys: ApiKey[]): TenantIR {
  return {
    id: info.id,
    namespace: info.namespace,
    name: info.name,
    generation: info.generation,
    apiKeys,
    access: { models: spec.access?.models ? [...spec.access.models] : ['*'] },
    suspended: spec.suspended ?? false,
  };
}

function tenantStatus(info: ObjectInfo, conditions: CompiledCondition[], keys: number): TenantObjectStatus {
  return { kind: 'Tenant', namespace: info.namespace, name: info.name, generation: info.generation, conditions, keys };
}
