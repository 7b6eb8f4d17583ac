import { z } from 'zod';
import { isJsonObject, type JsonObject } from './json-schema-props.ts';

/**
 * The JSON Schema of a zod schema as both the CRD and the reference doc start from it:
 * OpenAPI 3.0 flavour (boolean exclusiveMinimum, no `const`), the input side (what users
 * write), every reused schema inlined. Cycles or unrepresentable types throw: a CRD
 * schema cannot express them anyway.
 */
export function zodJsonSchema(schema: z.ZodType): JsonObject {
  const json: unknown = z.toJSONSchema(schema, {
    target: 'openapi-3.0',
    io: 'input',
    reused: 'inline',
    cycles: 'throw',
    unrepresentable: 'throw',
  });
  if (!isJsonObject(json)) throw new Error('z.toJSONSchema() did not return an object');
  return json;
}
