import { parseDuration } from '../api/common.ts';
import { RateLimitPolicySpec, type RateLimitRule } from '../api/rate-limit-policy.ts';
import type { LimitIR } from '../proxy-config.ts';
import type { KubeObject } from '../resources.ts';
import { formatZodIssues, summarise } from './issues.ts';
import { prepare, specOf, type ObjectInfo } from './objects.ts';
import {
  acceptedFalse, acceptedTrue, duplicateConditions, refsCondition, refsNotChecked,
  type CompiledCondition, type Problem, type RateLimitPolicyObjectStatus,
} from './status.ts';

export interface PoliciesResult {
  /** One limit per rule of every accepted policy that reaches at least one target (compile() sorts them). */
  limits: LimitIR[];
  statuses: RateLimitPolicyObjectStatus[];
}

/**
 * RateLimitPolicies -> limits. A policy's targets are the ModelRoutes and Tenants of its
 * namespace that are in the config (`routeIds`, `tenantIds`): a target that is missing or not
 * accepted is named in ResolvedRefs, and the rules hold for the targets that are there.
 */
export function compileRateLimitPolicies(objects: readonly KubeObject[], routeIds: ReadonlySet<string>, tenantIds: ReadonlySet<string>): PoliciesResult {
  const statuses: RateLimitPolicyObjectStatus[] = [];
  const limits: LimitIR[] = [];
  const { entries, conflicting } = prepare(objects);
  for (const info of conflicting) statuses.push(policyStatus(info, duplicateConditions(info)));
  for (const { info, object } of entries) {
    const parsed = RateLimitPolicySpec.safeParse(specOf(object));
    const problems = parsed.success ? checkRateLimitPolicySpec(parsed.data) : formatZodIssues(parsed.error);
    if (!parsed.success || problems.length > 0) {
      statuses.push(policyStatus(info, [acceptedFalse(info, 'Invalid', `${summarise(problems)}.`), refsNotChecked(info)]));
      continue;
    }
    const routes: string[] = [];
    const tenants: string[] = [];
    const missing: Problem[] = [];
    for (const ref of parsed.data.targetRefs) {
      const id = `${info.namespace}/${ref.name}`;
      const found = ref.kind === 'ModelRoute' ? routeIds.has(id) : tenantIds.has(id);
      if (!found) {
        missing.push({ reason: 'TargetNotFound', message: `${ref.kind} "${ref.name}" is not in namespace ${info.namespace} or is not accepted` });
        continue;
      }
      const list = ref.kind === 'ModelRoute' ? routes : tenants;
      if (!list.includes(id)) list.push(id);
    }
    routes.sort();
    tenants.sort();
    if (routes.length + tenants.length > 0) {
      for (const rule of parsed.data.rules) limits.push(limitIR(info, rule, routes, tenants));
    }
    const suffix = routes.length + tenants.length === 0 ? 'The policy limits nothing until a target exists' : 'The rules hold for the other targets';
    statuses.push(policyStatus(info, [acceptedTrue(info), refsCondition(info, missing, 'All targets found.', missing.length ? suffix : '')]));
  }
  return { limits, statuses };
}

function limitIR(info: ObjectInfo, rule: RateLimitRule, routes: string[], tenants: string[]): LimitIR {
  const unit = rule.limit.requests !== undefined ? 'requests' : 'tokens';
  return {
    id: `${info.id}/${rule.name}`,
    source: info.id,
    sourceKind: 'RateLimitPolicy',
    name: rule.name,
    algorithm: rule.algorithm ?? 'TokenBucket',
    key: rule.key && rule.key.length > 0 ? [...new Set(rule.key)] : ['tenant'],
    unit,
    limit: (rule.limit.requests ?? rule.limit.tokens)!,
    periodMs: parseDuration(rule.limit.per),
    burst: rule.burst ?? 0,
    ...(rule.warmUp ? { warmUp: { periodMs: parseDuration(rule.warmUp.period), coldFactor: rule.warmUp.coldFactor } } : {}),
    ...(rule.adaptive
      ? { adaptive: { latencyTargetMs: parseDuration(rule.adaptive.latencyTarget), min: rule.adaptive.min, max: rule.adaptive.max } }
      : {}),
    scope: rule.scope ?? 'Local',
    routes,
    tenants,
  };
}

/**
 * Semantic checks the schema cannot express; each line is `<field path>: <problem>`. Unique
 * rule names, requests xor tokens, warmUp/adaptive only with their algorithm and adaptive
 * min <= max are the schema's own rules (uniqueKey, withRules): a spec that parsed holds them.
 */
function checkRateLimitPolicySpec(spec: RateLimitPolicySpec): string[] {
  const problems: string[] = [];
  spec.rules.forEach((rule, i) => {
    const at = `spec.rules[${i}]`;
    if (!rule.warmUp && rule.algorithm === 'WarmUp') problems.push(`${at}.warmUp: required with algorithm WarmUp`);
    if (!rule.adaptive && rule.algorithm === 'Adaptive') problems.push(`${at}.adaptive: required with algorithm Adaptive`);
    if (parseDuration(rule.limit.per) === 0) problems.push(`${at}.limit.per: must be longer than 0`);
    if (rule.warmUp && parseDuration(rule.warmUp.period) === 0) problems.push(`${at}.warmUp.period: must be longer than 0`);
    if (rule.adaptive && parseDuration(rule.adaptive.latencyTarget) === 0) problems.push(`${at}.adaptive.latencyTarget: must be longer than 0`);
    if (rule.burst !== undefined && rule.burst > 0 && rule.algorithm !== undefined && !BURST_ALGORITHMS.has(rule.algorithm)) {
      problems.push(`${at}.burst: only TokenBucket and LeakyBucket use a burst; ${rule.algorithm} would ignore it`);
    }
  });
  return problems;
}

const BURST_ALGORITHMS = new Set(['TokenBucket', 'LeakyBucket']);

function policyStatus(info: ObjectInfo, conditions: CompiledCondition[]): RateLimitPolicyObjectStatus {
  return { kind: 'RateLimitPolicy', namespace: info.namespace, name: info.name, generation: info.generation, conditions };
}
