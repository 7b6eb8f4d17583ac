import type { ObjectInfo } from './objects.ts';
import { compareStrings } from './order.ts';

/** A condition as compile() computes it; the caller adds lastTransitionTime when it writes status. */
export interface CompiledCondition {
  type: 'Accepted' | 'ResolvedRefs';
  status: 'True' | 'False' | 'Unknown';
  /** CamelCase reason, e.g. Invalid, ModelNameConflict, SecretNotFound. */
  reason: string;
  message: string;
  observedGeneration: number;
}

export interface BackendStatus {
  name: string;
  /** Ready endpoints of the backend (0 when it did not resolve). */
  endpoints: number;
}

interface StatusBase {
  namespace: string;
  name: string;
  generation: number;
  /** Always [Accepted, ResolvedRefs]. */
  conditions: CompiledCondition[];
}

export interface ModelRouteObjectStatus extends StatusBase {
  kind: 'ModelRoute';
  backends: BackendStatus[];
}

export interface TenantObjectStatus extends StatusBase {
  kind: 'Tenant';
  /** API keys loaded into the config. */
  keys: number;
}

export interface RateLimitPolicyObjectStatus extends StatusBase {
  kind: 'RateLimitPolicy';
}

export type ObjectStatus = ModelRouteObjectStatus | TenantObjectStatus | RateLimitPolicyObjectStatus;

/** Why a reference did not resolve, or why part of an object was left out. */
export interface Problem {
  reason: string;
  message: string;
}

export function condition(
  meta: ObjectInfo,
  type: CompiledCondition['type'],
  status: CompiledCondition['status'],
  reason: string,
  message: string,
): CompiledCondition {
  return { type, status, reason, message, observedGeneration: meta.generation };
}

export function acceptedTrue(meta: ObjectInfo): CompiledCondition {
  return condition(meta, 'Accepted', 'True', 'Accepted', 'The spec is valid.');
}

export function acceptedFalse(meta: ObjectInfo, reason: string, message: string): CompiledCondition {
  return condition(meta, 'Accepted', 'False', reason, message);
}

/**
 * References are not looked at while the object cannot be accepted for a reason of its own;
 * `reason` is the Accepted=False reason (Invalid, NotImplemented, UnsupportedOption, ...).
 */
export function refsNotChecked(meta: ObjectInfo, reason = 'Invalid'): CompiledCondition {
  const message = reason === 'Invalid'
    ? 'References are not checked while the spec is invalid.'
    : 'References are not checked while the object is not accepted.';
  return condition(meta, 'ResolvedRefs', 'Unknown', reason, message);
}

/** The Kubernetes API cannot hold two objects of one name, files can: neither copy is used. */
export function duplicateConditions(meta: ObjectInfo): CompiledCondition[] {
  return [
    acceptedFalse(meta, 'DuplicateObject', 'Defined more than once in the input with different contents; no copy is used.'),
    condition(meta, 'ResolvedRefs', 'Unknown', 'DuplicateObject', 'References are not checked for an ambiguous object.'),
  ];
}

/**
 * ResolvedRefs from the problems found; the reason is the first problem's (problems come in
 * spec order), the message lists them all.
 */
export function refsCondition(meta: ObjectInfo, problems: readonly Problem[], okMessage: string, suffix = ''): CompiledCondition {
  const first = problems[0];
  if (!first) return condition(meta, 'ResolvedRefs', 'True', 'ResolvedRefs', okMessage);
  const message = problems.map((p) => p.message).join('; ') + (suffix ? `. ${suffix}.` : '.');
  return condition(meta, 'ResolvedRefs', 'False', first.reason, message);
}

const KIND_ORDER = { ModelRoute: 0, RateLimitPolicy: 1, Tenant: 2 } as const;

export function compareStatuses(a: ObjectStatus, b: ObjectStatus): number {
  return KIND_ORDER[a.kind] - KIND_ORDER[b.kind] || compareStrings(a.namespace, b.namespace) || compareStrings(a.name, b.name);
}

