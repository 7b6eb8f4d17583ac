import { parseDuration } from '../api/common.ts';
import { RateLimitPolicySpec } from '../api/rate-limit-policy.ts';
import type { KubeObject } from '../resources.ts';
import { formatZodIssues, summarise } from './issues.ts';
import { NOT_IMPLEMENTED, rateLimitPolicyNotImplemented } from './not-implemented.ts';
import { prepare, specOf, type ObjectInfo } from './objects.ts';
import {
  acceptedFalse, duplicateConditions, refsNotChecked, type CompiledCondition, type RateLimitPolicyObjectStatus,
} from './status.ts';

/**
 * RateLimitPolicies are validated, then refused as NotImplemented: the proxy applies no limit
 * yet, and an Accepted=True policy would say that it does. Their targets are not resolved.
 */
export function compileRateLimitPolicies(objects: readonly KubeObject[]): RateLimitPolicyObjectStatus[] {
  const statuses: RateLimitPolicyObjectStatus[] = [];
  const { entries, conflicting } = prepare(objects);
  for (const info of conflicting) statuses.push(policyStatus(info, duplicateConditions(info)));
  for (const { info, object } of entries) {
    const parsed = RateLimitPolicySpec.safeParse(specOf(object));
    const problems = parsed.success ? checkRateLimitPolicySpec(parsed.data) : formatZodIssues(parsed.error);
    const conditions = !parsed.success || problems.length > 0
      ? [acceptedFalse(info, 'Invalid', `${summarise(problems)}.`), refsNotChecked(info)]
      : [acceptedFalse(info, NOT_IMPLEMENTED, rateLimitPolicyNotImplemented()), refsNotChecked(info, NOT_IMPLEMENTED)];
    statuses.push(policyStatus(info, conditions));
  }
  return statuses;
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
  });
  return problems;
}

function policyStatus(info: ObjectInfo, conditions: CompiledCondition[]): RateLimitPolicyObjectStatus {
  return { kind: 'RateLimitPolicy', namespace: info.namespace, name: info.name, generation: info.generation, conditions };
}
