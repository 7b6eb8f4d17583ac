import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { toStructural } from './structural.ts';
import { zodJsonSchema } from './zod-json-schema.ts';

const convert = (schema: z.ZodType) => toStructural(zodJsonSchema(schema), 'x');

describe('toStructural', () => {
  it('drops additionalProperties: false of strict objects (the API server prunes instead)', () => {
    expect(convert(z.object({ a: z.string().describe('A.') }).strict())).toEqual({
      properties: { a: { description: 'A.', type: 'string' } },
      required: ['a'],
      type: 'object',
    });
  });

  it('turns a union of integer and string into x-kubernetes-int-or-string', () => {
    expect(convert(z.union([z.number().int(), z.string()]).describe('Port.'))).toEqual({
      description: 'Port.',
      'x-kubernetes-int-or-string': true,
    });
  });

  it('keeps other unions untyped and preserved, with a description naming the alternatives', () => {
    expect(convert(z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])))).toEqual({
      additionalProperties: { description: 'A boolean, number or string.', 'x-kubernetes-preserve-unknown-fields': true },
      type: 'object',
    });
    expect(convert(z.union([z.enum(['a']), z.object({ b: z.string() })]).describe('A or B.'))).toEqual({
      description: 'A or B.',
      'x-kubernetes-preserve-unknown-fields': true,
    });
  });

  it('preserves the unknown fields of passthrough objects and records of unknown', () => {
    expect(convert(z.object({ a: z.string() }).passthrough())).toMatchObject({ 'x-kubernetes-preserve-unknown-fields': true });
    expect(convert(z.object({ a: z.string() }).passthrough())).not.toHaveProperty('additionalProperties');
    expect(convert(z.record(z.string(), z.unknown()))).toEqual({ type: 'object', 'x-kubernetes-preserve-unknown-fields': true });
  });

  it('drops the safe-integer bounds of .int() but keeps real ones', () => {
    expect(convert(z.number().int())).toEqual({ type: 'integer' });
    expect(convert(z.number().int().min(1).max(5))).toEqual({ maximum: 5, minimum: 1, type: 'integer' });
  });

  it('bounds enum strings by their longest value, for CEL cost estimation', () => {
    expect(convert(z.enum(['ab', 'abcd']))).toEqual({ enum: ['ab', 'abcd'], maxLength: 4, type: 'string' });
  });

  it('carries CEL rules and list types from zod metadata', () => {
    const s = z
      .array(z.object({ name: z.string() }).meta({ 'x-kubernetes-validations': [{ rule: 'size(self.name) > 1', message: 'm' }] }))
      .meta({ 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['name'] });
    expect(convert(s)).toEqual({
      items: {
        properties: { name: { type: 'string' } },
        required: ['name'],
        type: 'object',
        'x-kubernetes-validations': [{ rule: 'size(self.name) > 1', message: 'm' }],
      },
      type: 'array',
      'x-kubernetes-list-map-keys': ['name'],
      'x-kubernetes-list-type': 'map',
    });
  });

  it('writes keywords in alphabetical order and properties in declaration order', () => {
    const out = convert(z.object({ z: z.string(), a: z.string() }).describe('D.'));
    expect(Object.keys(out)).toEqual(['description', 'properties', 'required', 'type']);
    expect(Object.keys(out.properties ?? {})).toEqual(['z', 'a']);
  });

  it('refuses what it cannot translate, naming the field', () => {
    expect(() => toStructural({ type: 'object', properties: { a: { allOf: [] } } }, 'spec')).toThrow('spec.a: JSON Schema keyword "allOf"');
    expect(() => toStructural({ $ref: '#/$defs/a' }, 'spec')).toThrow('"$ref"');
    expect(() => toStructural({ type: ['string', 'null'] }, 'spec')).toThrow('unsupported type');
  });
});
