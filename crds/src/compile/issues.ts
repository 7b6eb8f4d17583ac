import type { z } from 'zod';

/** At most this many problems are listed in one status message; the rest are counted. */
const MAX_LISTED = 8;

/** `spec.backends[0].url` from a zod path. */
function fieldPath(root: string, path: readonly PropertyKey[]): string {
  let out = root;
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : `.${String(p)}`;
  return out;
}

/**
 * One line per zod issue: `<field path>: <problem>`. zod messages never quote the input
 * value, so nothing from the object (least of all a secret) ends up in status.
 */
export function formatZodIssues(error: z.ZodError, root = 'spec'): string[] {
  return error.issues.flatMap((issue) => describe(issue, root));
}

function describe(issue: z.core.$ZodIssue, root: string): string[] {
  const path = fieldPath(root, issue.path);
  if (issue.code === 'invalid_union' && issue.errors.length > 0) return describeUnion(issue.errors, path);
  let message = issue.message;
  // Regex checks carry a description of the expected form as their message.
  if (issue.code === 'invalid_format' && issue.format === 'regex' && !/^invalid/i.test(message)) message = `expected ${message}`;
  return [`${path}: ${message}`];
}

/**
 * zod reports a failed union as "Invalid input" with one issue list per branch. Report the
 * branch the value was evidently meant for (the one that got past the type check), or else
 * what each branch expected.
 */
function describeUnion(branches: readonly (readonly z.core.$ZodIssue[])[], path: string): string[] {
  const rejectedOutright = (issues: readonly z.core.$ZodIssue[]) =>
    issues.every((i) => i.path.length === 0 && (i.code === 'invalid_type' || i.code === 'invalid_value'));
  const plausible = branches.filter((b) => !rejectedOutright(b));
  if (plausible.length === 1) return plausible[0]!.flatMap((i) => describe(i, path));
  const expected = branches.map((b) => b.map((i) => i.message.replace(/^Invalid (input|option): /, '')).join(', '));
  return [`${path}: Invalid input: ${expected.join(' or ')}`];
}

export function summarise(problems: readonly string[]): string {
  if (problems.length <= MAX_LISTED) return problems.join('; ');
  return `${problems.slice(0, MAX_LISTED).join('; ')}; and ${problems.length - MAX_LISTED} more`;
}
