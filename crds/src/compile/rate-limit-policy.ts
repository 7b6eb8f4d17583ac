import { parseDuration } from '../api/common.ts';
import { RateLimitPolicySpec } from '../api/rate-limit-policy.ts';
import type { KubeObject } from '../resources.ts';
import { formatZodIssues, summarise } from './issues.ts';
import { prepare, specOf, type ObjectInfo } from './objects.ts';
import {
  acceptedFalse, acceptedTrue, duplicateConditions, refsCondition, refsNotChecked,
  type CompiledCondition, type Problem, type RateLimitPolicyObjectStatus,
} from './status.ts';

/**
 * RateLimitPolicies are validated and their targets resolved; they are not part of
 * ProxyConfig yet (enforcement comes with the limiter).
 */
export function compileRateLimitPolicies(
  objects: readonly KubeObject[],
  acceptedRoutes: ReadonlySet<string>,
  acceptedTenants: ReadonlySet<string>,
): RateLimitPolicyObjectStatus[] {
  const statuses: RateLimitPolicyObjectStatus[] = [];
  const { entries, conflicting } = prepare(objects);
  for (const info of conflicting) statuses.push(policyStatus(info, duplicateConditions(info)));
  for (const { info, object } of entries) {
    const parsed = RateLimitPolicySpec.safeParse(specOf(object));
    const problems = parsed.success ? checkRateLimitPolicySpec(parsed.data) : formatZodIssues(parsed.error);
    if (!parsed.success || problems.length > 0) {
      statuses.push(policyStatus(info, [acceptedFalse(info, 'Invalid', `${summarise(problems)}.`), refsNotChecked(info)]));
      continue;
    }
    const missing: Problem[] = [];
    const seen = new Set<string>();
    for (const ref of parsed.data.targetRefs) {
      const key = `${ref.kind}/${ref.name}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const accepted = ref.kind === 'ModelRoute' ? acceptedRoutes : acceptedTenants;
      if (!accepted.has(`${info.namespace}/${ref.name}`)) {
        missing.push({ reason: 'TargetNotFound', message: `${ref.kind} "${ref.name}" not found or not accepted in namespace ${info.namespace}` });
      }
    }
    statuses.push(policyStatus(info, [acceptedTrue(info), refsCondition(info, missing, 'All targets resolved.')]));
  }
  return statuses;
}

/** Semantic checks the schema cannot express; each line is `<field path>: <problem>`. */
export function checkRateLimitPolicySpec(spec: RateLimitPolicySpec): string[] {
  const problems: string[] = [];
  const names = new Map<string, number>();
  spec.rules.forEach((rule, i) => {
    const at = `spec.rules[${i}]`;
    const first = names.get(rule.name);
    if (first !== undefined) problems.push(`${at}.name: duplicate rule name "${rule.name}" (also spec.rules[${first}])`);
    else names.set(rule.name, i);
    const { requests, tokens } = rule.limit;
    if ((requests === undefined) === (tokens === undefined)) {
      problems.push(`${at}.limit: exactly one of requests and tokens must be set (${requests === undefined ? 'neither is' : 'both are'})`);
    }
    const algorithm = rule.algorithm ?? 'TokenBucket';
    if (rule.warmUp && algorithm !== 'WarmUp') problems.push(`${at}.warmUp: only valid with algorithm WarmUp (algorithm is ${algorithm})`);
    if (!rule.warmUp && algorithm === 'WarmUp') problems.push(`${at}.warmUp: required with algorithm WarmUp`);
    if (rule.adaptive && algorithm !== 'Adaptive') problems.push(`${at}.adaptive: only valid with algorithm Adaptive (algorithm is ${algorithm})`);
    if (!rule.adaptive && algorithm === 'Adaptive') problems.push(`${at}.adaptive: required with algorithm Adaptive`);
    if (rule.adaptive && rule.adaptive.min > rule.adaptive.max) {
      problems.push(`${at}.adaptive: min ${rule.adaptive.min} is greater than max ${rule.adaptive.max}`);
    }
    if (parseDuration(rule.limit.per) === 0) problems.push(`${at}.limit.per: must be longer than 0`);
  });
  return problems;
}

function policyStatus(info: ObjectInfo, conditions: CompiledCondition[]): RateLimitPolicyObjectStatus {
  return { kind: 'RateLimitPolicy', namespace: info.namespace, name: info.name, generation: info.generation, conditions };
}
