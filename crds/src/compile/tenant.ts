import { createHash } from 'node:crypto';
import { TenantSpec } from '../api/tenant.ts';
import type { JwtIssuerIR, LimitIR, MaskRuleIR, TenantIR } from '../proxy-config.ts';
import type { KubeObject } from '../resources.ts';
import { formatZodIssues, summarise } from './issues.ts';
import { compareAge, precedence, prepare, specOf, type ObjectInfo } from './objects.ts';
import { NOT_IMPLEMENTED, tenantNotImplemented } from './not-implemented.ts';
import { isProblem, secretAnnotation, secretEntries, secretValue, type SecretIndex } from './secrets.ts';
import {
  acceptedFalse, acceptedTrue, duplicateConditions, refsCondition, refsNotChecked,
  type CompiledCondition, type Problem, type TenantObjectStatus,
} from './status.ts';
import { checkTenantSpec } from './tenant-checks.ts';

type ApiKey = TenantIR['apiKeys'][number];

/** The annotation of an API-key Secret that gives every key in it roles (comma- or space-separated). */
export const ROLES_ANNOTATION = 'jairouter.io/roles';

/** An API key or why a referenced key could not be loaded, in spec order. */
type KeyItem = { key: ApiKey } | { problem: Problem };

interface Candidate {
  info: ObjectInfo;
  spec: TenantSpec;
  items: KeyItem[];
  issuers: JwtIssuerIR[];
  issuerProblems: Problem[];
}

export interface TenantsResult {
  /** The tenants in the config (compile() sorts them). */
  tenants: TenantIR[];
  /** spec.quotas of the accepted tenants, as limits (compile() sorts them). */
  limits: LimitIR[];
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
    const { issuers, problems: issuerProblems } = loadIssuers(info, parsed.data, secrets);
    candidates.push({ info, spec: parsed.data, items: loadKeys(info, parsed.data, secrets), issuers, issuerProblems });
  }

  // A key identifies one tenant: when two tenants hold the same key, the older keeps it.
  const owners = new Map<string, { tenant: ObjectInfo; keyId: string }>();
  // A token names its tenant by issuer and audience: two tenants cannot both accept one token.
  const issuerOwners = new Map<string, { tenant: ObjectInfo; audiences: readonly string[] }[]>();
  const tenants: TenantIR[] = [];
  const limits: LimitIR[] = [];
  for (const c of [...candidates].sort((a, b) => compareAge(a.info, b.info))) {
    const keys: ApiKey[] = [];
    const problems: Problem[] = [...c.issuerProblems];
    const issuers: JwtIssuerIR[] = [];
    for (const iss of c.issuers) {
      const claimed = issuerOwners.get(iss.issuer) ?? [];
      const clash = claimed.find((o) => o.tenant.id !== c.info.id && audiencesOverlap(o.audiences, iss.audiences));
      if (clash) {
        problems.push({
          reason: 'JwtIssuerConflict',
          message: `issuer "${iss.issuer}" ${iss.audiences.length ? `with audiences ${iss.audiences.join(', ')} ` : ''}is already trusted by Tenant ${clash.tenant.id} for an overlapping audience (skipped; ${precedence(clash.tenant, c.info)}): give each tenant its own audience`,
        });
        continue;
      }
      claimed.push({ tenant: c.info, audiences: iss.audiences });
      issuerOwners.set(iss.issuer, claimed);
      issuers.push(iss);
    }
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
    tenants.push(tenantIR(c.info, c.spec, keys, issuers));
    limits.push(...quotaLimits(c.info, c.spec));
    statuses.push(tenantStatus(c.info, [acceptedTrue(c.info), refsCondition(c.info, problems, 'All references resolved.')], keys.length));
  }
  return { tenants, limits, statuses };
}

/** Two audience lists accept a common token: one is empty (any aud) or they share a value. */
function audiencesOverlap(a: readonly string[], b: readonly string[]): boolean {
  return a.length === 0 || b.length === 0 || a.some((x) => b.includes(x));
}

const PUBLIC_KEY_TYPES = new Set(['RSA', 'EC', 'OKP']);
/** JWK members that hold private key material (RFC 7518 6.2.2, 6.3.2; RFC 8037 2). */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

/** spec.jwt.issuers with jwksSecretRef read; an issuer whose key set cannot be used is left out, with why. */
function loadIssuers(info: ObjectInfo, spec: TenantSpec, secrets: SecretIndex): { issuers: JwtIssuerIR[]; problems: Problem[] } {
  const issuers: JwtIssuerIR[] = [];
  const problems: Problem[] = [];
  for (const iss of spec.jwt?.issuers ?? []) {
    const base: JwtIssuerIR = {
      issuer: iss.issuer,
      audiences: [...(iss.audiences ?? [])],
      userClaim: iss.claims?.user ?? 'sub',
      ...(iss.claims?.roles !== undefined ? { rolesClaim: iss.claims.roles } : {}),
    };
    if (iss.jwksUri !== undefined) {
      issuers.push({ ...base, jwksUri: iss.jwksUri });
      continue;
    }
    const ref = iss.jwksSecretRef!;
    const v = secretValue(secrets, info.namespace, ref);
    if (isProblem(v)) {
      problems.push({ reason: v.reason, message: `jwt issuer "${iss.issuer}": ${v.message} (issuer skipped)` });
      continue;
    }
    const jwks = publicJwks(v.value);
    if (typeof jwks !== 'string') {
      problems.push({ reason: 'JwksInvalid', message: `jwt issuer "${iss.issuer}": key "${ref.key}" of Secret "${ref.name}" ${jwks.invalid} (issuer skipped)` });
      continue;
    }
    issuers.push({ ...base, jwks });
  }
  return { issuers, problems };
}

/**
 * A JWKS document holding only public asymmetric keys, re-serialised; or why not. Private or
 * symmetric material is refused rather than dropped: it should not be in a Secret the gateway
 * reads, and an HS key would let anyone who can read it mint tokens.
 */
function publicJwks(text: string): string | { invalid: string } {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return { invalid: 'is not JSON (a JWKS document {"keys": [...]} is expected)' };
  }
  const keys = isRecordLike(doc) ? doc['keys'] : undefined;
  if (!Array.isArray(keys) || keys.length === 0) return { invalid: 'is not a JWKS document: it needs a non-empty "keys" array' };
  for (const [i, k] of keys.entries()) {
    if (!isRecordLike(k)) return { invalid: `keys[${i}] is not an object` };
    if (!PUBLIC_KEY_TYPES.has(String(k['kty']))) return { invalid: `keys[${i}] has kty ${JSON.stringify(k['kty'])}: only RSA, EC and OKP public keys are accepted` };
    const secret = PRIVATE_MEMBERS.find((m) => m in k);
    if (secret) return { invalid: `keys[${i}] holds private key material ("${secret}"): publish only the public keys` };
  }
  return JSON.stringify({ keys });
}

function isRecordLike(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * spec.quotas as limits on the whole tenant, shared by every proxy replica (scope Cluster: through
 * Redis, or the limit divided among the replicas without it). Per minute: a sliding window, so
 * a client cannot double its rate across a minute boundary. Per day: a fixed window on UTC days,
 * so a quota resets at midnight UTC as a user reading "per day" expects.
 */
function quotaLimits(info: ObjectInfo, spec: TenantSpec): LimitIR[] {
  const q = spec.quotas;
  if (!q) return [];
  const out: LimitIR[] = [];
  const add = (field: string, unit: LimitIR['unit'], limit: number | undefined, algorithm: LimitIR['algorithm'], periodMs: number) => {
    if (limit === undefined) return;
    out.push({
      id: `${info.id}/quota:${field}`, source: info.id, sourceKind: 'Tenant', name: `quota:${field}`,
      algorithm, key: ['tenant'], unit, limit, periodMs, burst: 0, scope: 'Cluster', routes: [], tenants: [info.id],
    });
  };
  add('requestsPerMinute', 'requests', q.requestsPerMinute, 'SlidingWindow', 60_000);
  add('tokensPerMinute', 'tokens', q.tokensPerMinute, 'SlidingWindow', 60_000);
  add('tokensPerDay', 'tokens', q.tokensPerDay, 'FixedWindow', 86_400_000);
  return out;
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
    const roles = parseRoles(secretAnnotation(secrets, info.namespace, name, ROLES_ANNOTATION));
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
      items.push({ key: { id, sha256: createHash('sha256').update(value, 'utf8').digest('hex'), roles } });
    }
  }
  return items;
}

/** `jairouter.io/roles: "admin, ops"` -> ["admin", "ops"] (sorted, unique). */
function parseRoles(annotation: string | undefined): string[] {
  if (annotation === undefined) return [];
  return [...new Set(annotation.split(/[\s,]+/).filter((r) => r !== ''))].sort();
}

/** Only what the proxy enforces: the fields tenantNotImplemented() refuses never get here. */
function tenantIR(info: ObjectInfo, spec: TenantSpec, apiKeys: ApiKey[], jwtIssuers: JwtIssuerIR[]): TenantIR {
  const budget = spec.quotas?.budget;
  return {
    id: info.id,
    namespace: info.namespace,
    name: info.name,
    generation: info.generation,
    apiKeys,
    jwtIssuers,
    access: {
      models: spec.access?.models ? [...spec.access.models] : ['*'],
      roles: (spec.access?.roles ?? []).map((r) => ({ name: r.name, models: [...r.models] })),
    },
    ...(budget ? { budget: { limit: budget.limit, period: budget.period } } : {}),
    ...(spec.masking?.requests?.length ? { maskRequests: spec.masking.requests.map(maskRuleIR) } : {}),
    ...(spec.masking?.responses?.length ? { maskResponses: spec.masking.responses.map(maskRuleIR) } : {}),
    suspended: spec.suspended ?? false,
  };
}

function maskRuleIR(r: NonNullable<NonNullable<TenantSpec['masking']>['requests']>[number]): MaskRuleIR {
  return typeof r === 'string' ? { builtin: r } : { name: r.name, regex: r.regex, ...(r.replacement !== undefined ? { replacement: r.replacement } : {}) };
}

function tenantStatus(info: ObjectInfo, conditions: CompiledCondition[], keys: number): TenantObjectStatus {
  return { kind: 'Tenant', namespace: info.namespace, name: info.name, generation: info.generation, conditions, keys };
}
