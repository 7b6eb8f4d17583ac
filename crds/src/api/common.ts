import { z } from 'zod';
import { DURATION_PATTERN } from '../duration.ts';

export const GROUP = 'jairouter.io';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;

/** `250ms`, `30s`, `5m`, `1h`, `1d`; parsed by `parseDuration()`. */
export const Duration = z
  .string()
  .regex(DURATION_PATTERN, 'a duration like 250ms, 30s, 5m, 1h or 1d')
  .describe('A duration: an integer followed by ms, s, m, h or d (for example 250ms, 30s, 5m, 1h, 1d).');
export type Duration = z.infer<typeof Duration>;

export { parseDuration } from '../duration.ts';

export const SecretKeyRef = z
  .object({
    name: z.string().min(1).describe('Name of a Secret in the same namespace as the referring object.'),
    key: z.string().min(1).describe('Key inside the Secret\'s data.'),
  })
  .strict()
  .describe('A reference to one key of a Secret in the same namespace.');
export type SecretKeyRef = z.infer<typeof SecretKeyRef>;

export const SecretRef = z
  .object({
    name: z.string().min(1).describe('Name of a Secret in the same namespace as the referring object.'),
  })
  .strict()
  .describe('A reference to a Secret in the same namespace.');
export type SecretRef = z.infer<typeof SecretRef>;

export const ObjectMeta = z
  .object({
    name: z.string().min(1).max(253),
    namespace: z.string().min(1).max(63).optional(),
    uid: z.string().optional(),
    generation: z.number().int().optional(),
    resourceVersion: z.string().optional(),
    creationTimestamp: z.string().optional(),
    labels: z.record(z.string(), z.string()).optional(),
    annotations: z.record(z.string(), z.string()).optional(),
  })
  .passthrough();
export type ObjectMeta = z.infer<typeof ObjectMeta>;

export const ConditionType = z.enum(['Accepted', 'ResolvedRefs', 'Programmed']);
export type ConditionType = z.infer<typeof ConditionType>;

export const Condition = z
  .object({
    type: z.string().describe('Condition type: Accepted, ResolvedRefs or Programmed.'),
    status: z.enum(['True', 'False', 'Unknown']).describe('True, False or Unknown.'),
    reason: z.string().describe('A CamelCase reason for the last transition.'),
    message: z.string().describe('A human-readable explanation.'),
    observedGeneration: z.number().int().optional().describe('The .metadata.generation this condition was set for.'),
    lastTransitionTime: z.string().optional().describe('When the status last changed (RFC 3339).'),
  })
  .describe('A status condition per Kubernetes API conventions.');
export type Condition = z.infer<typeof Condition>;

export const BaseStatus = z.object({
  observedGeneration: z.number().int().optional().describe('The .metadata.generation that the status reflects.'),
  conditions: z
    .array(Condition)
    .optional()
    .describe('Accepted, ResolvedRefs and Programmed conditions.')
    .meta(listMapKeyedBy('type')),
});

/**
 * A rule over several fields of one object. The API server evaluates `rule` (CEL, with
 * `self` bound to the object) from the CRD's `x-kubernetes-validations`; standalone mode
 * has no API server and evaluates `holds` through zod instead. Both report `message`,
 * so a user sees the same words from kubectl and from the proxy's log.
 */
export interface CrossFieldRule<T> {
  rule: string;
  message: string;
  holds: (value: T) => boolean;
}

/** A rule that exactly one of two optional fields is set. */
export function exactlyOneOf<A extends string, B extends string>(a: A, b: B): CrossFieldRule<Partial<Record<A | B, unknown>>> {
  return {
    rule: `has(self.${a}) != has(self.${b})`,
    message: `exactly one of ${a} and ${b} must be set`,
    holds: (v) => (v[a] === undefined) !== (v[b] === undefined),
  };
}

/** A rule that an optional field is only set when `selector` (itself optional) equals `value`. */
export function onlyWith<F extends string, S extends string>(field: F, selector: S, value: string): CrossFieldRule<Partial<Record<F | S, unknown>>> {
  return {
    rule: `!has(self.${field}) || (has(self.${selector}) && self.${selector} == '${value}')`,
    message: `${field} is only allowed with ${selector} ${value}`,
    holds: (v) => v[field] === undefined || v[selector] === value,
  };
}

/**
 * Attaches cross-field rules to a schema: as CEL metadata for the CRD generator and as
 * zod refinements. A refined object schema can no longer be `.pick()`ed, `.omit()`ed or
 * `.partial()`ed (zod throws); `.safeExtend()` still works.
 */
export function withRules<S extends z.ZodType>(schema: S, rules: ReadonlyArray<CrossFieldRule<z.output<S>>>): S {
  let out = schema.meta({ 'x-kubernetes-validations': rules.map(({ rule, message }) => ({ rule, message })) });
  for (const r of rules) out = out.refine((v) => r.holds(v), { message: r.message });
  return out;
}

/**
 * Marks a list as a map keyed by `key` (`x-kubernetes-list-type: map`): the API server
 * rejects two items with the same key at no CEL cost, and server-side apply merges
 * items by key instead of replacing the whole list. Pair it with `uniqueKey()` so that
 * standalone mode rejects duplicates too.
 */
export function listMapKeyedBy(key: string): Record<string, unknown> {
  return { 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': [key] };
}

/** A zod check that `key` is unique among the items of a list; reports each repeat. */
export function uniqueKey<K extends string>(key: K, noun: string) {
  return (items: ReadonlyArray<Record<K, string>>, ctx: z.RefinementCtx): void => {
    const seen = new Set<string>();
    items.forEach((item, i) => {
      const value = item[key];
      if (seen.has(value)) {
        ctx.addIssue({ code: 'custom', path: [i, key], message: `${noun} ${JSON.stringify(value)} appears more than once; ${key}s must be unique`, input: value });
      }
      seen.add(value);
    });
  };
}
