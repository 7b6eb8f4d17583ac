import { UnsupportedRequest } from '../types.ts';

type Json = Record<string, unknown>;

/**
 * The keywords of Gemini's `Schema` (an OpenAPI 3.0 subset) that a JSON Schema may use as they
 * are. Everything else (`additionalProperties`, `$schema`, `$id`, `strict`, `examples`,
 * `patternProperties`, ...) is dropped: Gemini refuses a request that carries them, and none of
 * them widens what the model may answer.
 */
const KEPT = new Set([
  'type', 'format', 'title', 'description', 'nullable', 'enum', 'maxItems', 'minItems', 'properties', 'required',
  'minProperties', 'maxProperties', 'minLength', 'maxLength', 'pattern', 'example', 'anyOf', 'propertyOrdering',
  'default', 'items', 'minimum', 'maximum',
]);

/** How deep `$ref`s are inlined before a schema is taken as recursive (Gemini's Schema has no references). */
const MAX_DEPTH = 32;

/**
 * A JSON Schema (OpenAI `parameters`, `json_schema.schema`) as Gemini's Schema: local `$ref`s
 * inlined, `const` as a one-value `enum`, `oneOf` as `anyOf`, `type: [T, "null"]` as
 * `type: T, nullable: true`, unknown keywords dropped. `field` names the request field for the
 * error when the schema cannot be expressed (a recursive reference, `allOf`, a type list).
 */
export function toGeminiSchema(schema: unknown, field: string): Json {
  const root = isObject(schema) ? schema : {};
  return convert(root, root, field, 0) as Json;
}

function convert(node: unknown, root: Json, field: string, depth: number): unknown {
  if (!isObject(node)) return node;
  if (depth > MAX_DEPTH) throw new UnsupportedRequest(field, `${field}: the gemini adapter cannot send a recursive JSON schema (Gemini's schema has no references)`);
  if (typeof node.$ref === 'string') return convert(resolve(node.$ref, root, field), root, field, depth + 1);
  if (node.allOf !== undefined) throw new UnsupportedRequest(field, `${field}: the gemini adapter cannot send a JSON schema with allOf`);
  const out: Json = {};
  for (const [k, v] of Object.entries(node)) {
    if (k === 'type' && Array.isArray(v)) {
      const types = v.filter((t) => t !== 'null');
      if (types.length !== 1) throw new UnsupportedRequest(field, `${field}: the gemini adapter cannot send a JSON schema whose type lists several types`);
      out.type = types[0];
      if (types.length < v.length) out.nullable = true;
    } else if (k === 'const') {
      out.enum = [v];
    } else if (k === 'oneOf' || k === 'anyOf') {
      out.anyOf = (v as unknown[]).map((s) => convert(s, root, field, depth + 1));
    } else if (k === 'properties' && isObject(v)) {
      const props: Json = {};
      for (const [name, s] of Object.entries(v)) props[name] = convert(s, root, field, depth + 1);
      out.properties = props;
    } else if (k === 'items') {
      out.items = convert(v, root, field, depth + 1);
    } else if (KEPT.has(k)) {
      out[k] = v;
    }
  }
  // Gemini's enum holds strings only; other values would come back as strings.
  if (Array.isArray(out.enum) && out.enum.some((e) => typeof e !== 'string')) {
    throw new UnsupportedRequest(field, `${field}: the gemini adapter cannot send a JSON schema enum or const that is not a string`);
  }
  return out;
}

function resolve(ref: string, root: Json, field: string): unknown {
  if (!ref.startsWith('#/')) throw new UnsupportedRequest(field, `${field}: the gemini adapter cannot resolve the JSON schema reference ${ref}`);
  let at: unknown = root;
  for (const seg of ref.slice(2).split('/')) {
    const key = seg.replace(/~1/g, '/').replace(/~0/g, '~');
    at = isObject(at) ? at[key] : undefined;
  }
  if (at === undefined) throw new UnsupportedRequest(field, `${field}: the JSON schema reference ${ref} points nowhere`);
  return at;
}

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
