import { isJsonObject, type JsonObject } from './json-schema-props.ts';

const TYPES = new Set(['object', 'array', 'string', 'integer', 'number', 'boolean']);
const FORBIDDEN = ['$ref', '$defs', 'definitions', '$schema', 'allOf', 'anyOf', 'oneOf', 'not', 'nullable', 'const'];
// Go's RE2 (what the API server uses for `pattern`) has no lookaround and no backreferences.
const NOT_RE2 = /\(\?[=!<]|\\[1-9]/;

/**
 * Lists every way `schema` (an openAPIV3Schema) breaks the structural-schema rules the API
 * server enforces, plus the few extra rules our generator keeps to (no logical junctors
 * at all, RE2-compatible patterns). Empty means structural.
 *
 * Independent of `toStructural()` on purpose: it checks the generator's output, not its
 * intent.
 */
export function structuralProblems(schema: unknown): string[] {
  const problems: string[] = [];
  if (!isJsonObject(schema)) return ['root: not an object'];
  if (schema['type'] !== 'object') problems.push('root: type must be object');
  if (schema['additionalProperties'] !== undefined) problems.push('root: additionalProperties is not allowed at the root');
  const props = schema['properties'];
  if (isJsonObject(props) && props['metadata'] !== undefined) {
    const meta = props['metadata'];
    if (!isJsonObject(meta) || Object.keys(meta).join() !== 'type' || meta['type'] !== 'object') {
      problems.push('metadata: must be exactly {type: object}');
    }
  }
  walk(schema, 'root', problems);
  return problems;
}

function walk(node: JsonObject, at: string, problems: string[]): void {
  const say = (msg: string) => problems.push(`${at}: ${msg}`);
  for (const key of FORBIDDEN) if (key in node) say(`${key} is not allowed`);
  if (node['uniqueItems'] === true) say('uniqueItems: true is not allowed');

  const type = node['type'];
  const intOrString = node['x-kubernetes-int-or-string'];
  const preserve = node['x-kubernetes-preserve-unknown-fields'];
  if (intOrString !== undefined && intOrString !== true) say('x-kubernetes-int-or-string must be true');
  if (preserve !== undefined && preserve !== true) say('x-kubernetes-preserve-unknown-fields must be true');
  if (type === undefined) {
    if (intOrString !== true && preserve !== true) say('has no type (and is neither int-or-string nor preserve-unknown-fields)');
  } else if (typeof type !== 'string' || !TYPES.has(type)) {
    say(`type ${JSON.stringify(type)} is not one of ${[...TYPES].join(', ')}`);
  }
  if (intOrString === true && type !== undefined) say('x-kubernetes-int-or-string must not have a type');
  if (typeof node['description'] !== 'string' && node['description'] !== undefined) say('description must be a string');
  for (const key of ['exclusiveMinimum', 'exclusiveMaximum']) {
    if (node[key] !== undefined && typeof node[key] !== 'boolean') say(`${key} must be a boolean (OpenAPI v3.0)`);
  }

  const properties = node['properties'];
  const additional = node['additionalProperties'];
  const items = node['items'];
  if (properties !== undefined && additional !== undefined) say('additionalProperties and properties are mutually exclusive');
  if (typeof additional === 'boolean') say('additionalProperties must be a schema, not a boolean');
  if ((properties !== undefined || additional !== undefined) && type !== 'object') say('properties/additionalProperties need type object');
  if (type === 'array' && items === undefined) say('array without items');
  if (items !== undefined && type !== 'array') say('items need type array');
  if (Array.isArray(items)) say('tuple items are not allowed');

  if (type === 'string' && typeof node['pattern'] === 'string' && NOT_RE2.test(node['pattern'])) {
    say(`pattern ${node['pattern']} is not RE2-compatible`);
  }
  const values = node['enum'];
  if (values !== undefined) {
    if (!Array.isArray(values) || values.length === 0) say('enum must be a non-empty array');
    else if (type === 'string' && !values.every((v) => typeof v === 'string')) say('enum values must be strings');
  }
  const required = node['required'];
  if (required !== undefined) {
    if (!Array.isArray(required)) say('required must be an array');
    else for (const r of required) if (!isJsonObject(properties) || !(String(r) in properties)) say(`required field ${String(r)} is not a property`);
  }

  checkListType(node, say);
  checkValidations(node, say);

  if (isJsonObject(properties)) {
    for (const [name, child] of Object.entries(properties)) {
      if (isJsonObject(child)) walk(child, `${at}.${name}`, problems);
      else say(`property ${name} is not a schema`);
    }
  }
  if (isJsonObject(additional)) walk(additional, `${at}{}`, problems);
  if (isJsonObject(items)) walk(items, `${at}[]`, problems);
}

function checkListType(node: JsonObject, say: (msg: string) => void): void {
  const listType = node['x-kubernetes-list-type'];
  const keys = node['x-kubernetes-list-map-keys'];
  if (listType === undefined) {
    if (keys !== undefined) say('x-kubernetes-list-map-keys without x-kubernetes-list-type: map');
    return;
  }
  if (node['type'] !== 'array') say('x-kubernetes-list-type on a non-array');
  if (listType !== 'map') return;
  const items = node['items'];
  if (!isJsonObject(items) || items['type'] !== 'object') {
    say('x-kubernetes-list-type: map needs object items');
    return;
  }
  if (!Array.isArray(keys) || keys.length === 0) {
    say('x-kubernetes-list-type: map needs x-kubernetes-list-map-keys');
    return;
  }
  const props = isJsonObject(items['properties']) ? items['properties'] : {};
  const required = Array.isArray(items['required']) ? items['required'] : [];
  for (const key of keys) {
    const prop = props[String(key)];
    if (!isJsonObject(prop)) say(`list map key ${String(key)} is not a property of the items`);
    else if (!['string', 'integer', 'number', 'boolean'].includes(String(prop['type']))) say(`list map key ${String(key)} must be a scalar`);
    else if (!required.includes(key) && prop['default'] === undefined) say(`list map key ${String(key)} must be required or have a default`);
  }
}

function checkValidations(node: JsonObject, say: (msg: string) => void): void {
  const rules = node['x-kubernetes-validations'];
  if (rules === undefined) return;
  if (!Array.isArray(rules) || rules.length === 0) {
    say('x-kubernetes-validations must be a non-empty array');
    return;
  }
  // CEL cannot see untyped preserve-unknown-fields nodes, so a rule there could never compile;
  // an int-or-string node is `dyn` in CEL and takes rules.
  if (node['type'] === undefined && node['x-kubernetes-int-or-string'] !== true) say('x-kubernetes-validations on an untyped node');
  for (const r of rules) {
    if (!isJsonObject(r) || typeof r['rule'] !== 'string' || r['rule'] === '') say('a validation rule without rule');
    else if (typeof r['message'] !== 'string' || r['message'] === '') say(`rule ${r['rule']} has no message`);
  }
}
