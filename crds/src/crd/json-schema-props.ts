/**
 * The subset of apiextensions.k8s.io/v1 JSONSchemaProps that our CRDs use. Anything else
 * the zod converter emits is rejected by `toStructural()`, so a new zod feature shows up
 * as a generator error instead of an API server error at install time.
 */
export interface JSONSchemaProps {
  description?: string;
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  format?: string;
  enum?: unknown[];
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: boolean;
  exclusiveMaximum?: boolean;
  multipleOf?: number;
  minItems?: number;
  maxItems?: number;
  minProperties?: number;
  maxProperties?: number;
  default?: unknown;
  required?: string[];
  properties?: Record<string, JSONSchemaProps>;
  additionalProperties?: JSONSchemaProps;
  items?: JSONSchemaProps;
  'x-kubernetes-preserve-unknown-fields'?: true;
  'x-kubernetes-int-or-string'?: true;
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-validations'?: ValidationRule[];
}

/** One entry of `x-kubernetes-validations`. */
export interface ValidationRule {
  rule: string;
  message: string;
}

/** A JSON Schema as z.toJSONSchema() returns it: plain JSON, read defensively. */
export type JsonObject = Record<string, unknown>;

export function isJsonObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** zod writes `.int()` as bounded by ±Number.MAX_SAFE_INTEGER; that bound says nothing to a user. */
export function isSafeIntegerBound(n: unknown): boolean {
  return n === Number.MAX_SAFE_INTEGER || n === Number.MIN_SAFE_INTEGER;
}
