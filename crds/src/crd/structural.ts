import { isJsonObject, isSafeIntegerBound, type JSONSchemaProps, type JsonObject } from './json-schema-props.ts';

/** Keywords copied unchanged from zod's JSON Schema into the CRD schema. */
const COPIED = new Set([
  'description', 'format', 'enum', 'pattern', 'minLength', 'maxLength', 'minimum', 'maximum',
  'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf', 'minItems', 'maxItems', 'minProperties',
  'maxProperties', 'default', 'required',
  'x-kubernetes-validations', 'x-kubernetes-list-type', 'x-kubernetes-list-map-keys',
  'x-kubernetes-preserve-unknown-fields', 'x-kubernetes-int-or-string',
]);

const TYPES = new Set(['object', 'array', 'string', 'integer', 'number', 'boolean']);

/**
 * Turns a zod-generated JSON Schema into a structural schema the API server accepts
 * (https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/#specifying-a-structural-schema):
 *
 * - `additionalProperties: false` (zod's `.strict()`) is dropped: it is not allowed next to
 *   `properties`; the API server prunes unknown fields instead, and compile() rejects them.
 * - A union of different types cannot be typed structurally. integer|string becomes
 *   `x-kubernetes-int-or-string`; anything else (the `options` values string|number|boolean,
 *   the masking rules string|object) becomes `x-kubernetes-preserve-unknown-fields` without
 *   a type, validated by compile() (the object gets Accepted=False with zod's message).
 * - zod's ±MAX_SAFE_INTEGER bounds of `.int()` are dropped.
 * - An enum string gets `maxLength` = its longest value, so that CEL cost estimation
 *   knows how long it is.
 * - Keywords come out in alphabetical order (like controller-gen), properties in
 *   declaration order, so the YAML is stable and reviewable.
 *
 * Anything it does not know (`$ref`, `allOf`, `not`, a type array, ...) throws with the
 * field path, so the generator fails instead of the API server.
 */
export function toStructural(node: unknown, at: string): JSONSchemaProps {
  if (!isJsonObject(node)) throw new Error(`${at}: expected a JSON Schema object`);
  const alternatives = node['anyOf'] ?? node['oneOf'];
  if (alternatives !== undefined) return unionToStructural(node, alternatives, at);

  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === '$schema') continue;
    if (key === 'type') {
      if (typeof value !== 'string' || !TYPES.has(value)) throw new Error(`${at}: unsupported type ${JSON.stringify(value)}`);
      out['type'] = value;
    } else if (key === 'properties') {
      if (!isJsonObject(value)) throw new Error(`${at}: properties must be an object`);
      const props: Record<string, JSONSchemaProps> = {};
      for (const [name, child] of Object.entries(value)) props[name] = toStructural(child, `${at}.${name}`);
      out['properties'] = props;
    } else if (key === 'items') {
      out['items'] = toStructural(value, `${at}[]`);
    } else if (key === 'additionalProperties') {
      if (value === false) continue;
      if (value === true || (isJsonObject(value) && Object.keys(value).length === 0) || node['properties'] !== undefined) {
        // passthrough objects and records of unknown: keep what users write
        out['x-kubernetes-preserve-unknown-fields'] = true;
      } else {
        out['additionalProperties'] = toStructural(value, `${at}{}`);
      }
    } else if (COPIED.has(key)) {
      out[key] = structuredClone(value);
    } else {
      throw new Error(`${at}: JSON Schema keyword ${JSON.stringify(key)} has no structural translation`);
    }
  }

  if (isSafeIntegerBound(out['minimum'])) delete out['minimum'];
  if (isSafeIntegerBound(out['maximum'])) delete out['maximum'];
  const values = out['enum'];
  if (out['type'] === 'string' && Array.isArray(values) && out['maxLength'] === undefined) {
    out['maxLength'] = Math.max(...values.map((v) => String(v).length));
  }
  return sortKeys(out) as JSONSchemaProps;
}

function unionToStructural(node: JsonObject, alternatives: unknown, at: string): JSONSchemaProps {
  if (!Array.isArray(alternatives)) throw new Error(`${at}: anyOf must be an array`);
  for (const key of Object.keys(node)) {
    if (key !== 'anyOf' && key !== 'oneOf' && key !== 'description') {
      throw new Error(`${at}: ${JSON.stringify(key)} next to a union has no structural translation`);
    }
  }
  const types = alternatives.map((a) => (isJsonObject(a) ? a['type'] : undefined));
  const distinct = [...new Set(types.map(String))].sort();
  const description = typeof node['description'] === 'string' ? node['description'] : `A ${joinOr(distinct)}.`;
  if (distinct.join() === 'integer,string' || distinct.join() === 'number,string') {
    // A closed set of values spelled either way (retryOn's 429): int-or-string plus a CEL
    // rule holding the allowed values, since enum cannot mix types structurally.
    const allowed = alternatives.flatMap((a) => (isJsonObject(a) ? enumValues(a) : [undefined]));
    if (allowed.every((v) => v !== undefined)) {
      const list = [...new Set(allowed.map(String))];
      return {
        description,
        'x-kubernetes-int-or-string': true,
        'x-kubernetes-validations': [
          { rule: `string(self) in [${list.map((v) => `'${v}'`).join(', ')}]`, message: `must be one of ${list.join(', ')}` },
        ],
      } as JSONSchemaProps;
    }
    if (distinct.join() === 'integer,string') return { description, 'x-kubernetes-int-or-string': true };
  }
  return { description, 'x-kubernetes-preserve-unknown-fields': true };
}

function enumValues(a: JsonObject): unknown[] {
  if (Array.isArray(a['enum'])) return a['enum'];
  if (a['const'] !== undefined) return [a['const']];
  return [undefined];
}

function joinOr(words: string[]): string {
  return words.length <= 1 ? words.join('') : `${words.slice(0, -1).join(', ')} or ${words.at(-1)}`;
}

function sortKeys(o: Record<string, unknown>): Record<string, unknown> {
  const sorted: Record<string, unknown> = {};
  for (const key of Object.keys(o).sort()) sorted[key] = o[key];
  return sorted;
}
