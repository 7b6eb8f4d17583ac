import type { TenantSpec } from '../api/tenant.ts';
import { customRegexProblem } from '../mask-regex.ts';
import { checkWildcards } from './model-route-checks.ts';

/**
 * Semantic checks the schema cannot express; each line is `<field path>: <problem>`.
 * jwksUri xor jwksSecretRef is the schema's own rule (withRules): a spec that parsed holds it.
 */
export function checkTenantSpec(spec: TenantSpec): string[] {
  const problems = checkWildcards(spec.access?.models ?? [], 'spec.access.models');
  spec.access?.roles?.forEach((r, i) => {
    problems.push(...checkWildcards(r.models, `spec.access.roles[${i}].models`));
    if (spec.access!.roles!.findIndex((o) => o.name === r.name) < i) problems.push(`spec.access.roles[${i}].name: role "${r.name}" is listed twice`);
  });
  spec.jwt?.issuers.forEach((iss, i) => {
    if (spec.jwt!.issuers.findIndex((o) => o.issuer === iss.issuer) < i) problems.push(`spec.jwt.issuers[${i}].issuer: "${iss.issuer}" is listed twice`);
  });
  for (const side of ['requests', 'responses'] as const) {
    spec.masking?.[side]?.forEach((rule, i) => {
      if (typeof rule === 'string') return;
      // The proxy's masking engine refuses the same (it would not build the rule otherwise).
      const problem = customRegexProblem(rule.regex);
      if (problem) problems.push(`spec.masking.${side}[${i}].regex: ${problem}`);
    });
  }
  return problems;
}
