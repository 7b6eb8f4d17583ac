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
