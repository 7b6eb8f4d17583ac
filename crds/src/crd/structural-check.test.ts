import { describe, expect, it } from 'vitest';
import { structuralProblems } from './structural-check.ts';

const root = (spec: object) => ({ type: 'object', properties: { metadata: { type: 'object' }, spec } });
const problemsOf = (spec: object) => structuralProblems(root(spec));

describe('structuralProblems', () => {
  it('accepts a structural schema', () => {
    expect(
      problemsOf({
        type: 'object',
        properties: {
          name: { type: 'string', pattern: '^[a-z]+$' },
          port: { 'x-kubernetes-int-or-string': true },
          any: { 'x-kubernetes-preserve-unknown-fields': true },
          labels: { type: 'object', additionalProperties: { type: 'string' } },
          items: {
            type: 'array',
            'x-kubernetes-list-type': 'map',
            'x-kubernetes-list-map-keys': ['name'],
            items: { type: 'object', required: ['name'], properties: { name: { type: 'string' } } },
          },
        },
        'x-kubernetes-validations': [{ rule: 'true', message: 'm' }],
      }),
    ).toEqual([]);
  });

  it.each([
    ['a node without type', { type: 'object', properties: { a: { description: 'x' } } }, 'root.spec.a: has no type'],
    ['$ref', { $ref: '#/$defs/x' }, '$ref is not allowed'],
    ['anyOf', { anyOf: [{ type: 'string' }, { type: 'object' }] }, 'anyOf is not allowed'],
    ['additionalProperties next to properties', { type: 'object', properties: { a: { type: 'string' } }, additionalProperties: { type: 'string' } }, 'mutually exclusive'],
    ['additionalProperties: false', { type: 'object', additionalProperties: false }, 'must be a schema'],
    ['an array without items', { type: 'array' }, 'array without items'],
    ['a type array', { type: ['string', 'null'] }, 'is not one of'],
    ['uniqueItems', { type: 'array', items: { type: 'string' }, uniqueItems: true }, 'uniqueItems'],
    ['a lookahead pattern', { type: 'string', pattern: '^(?!x)' }, 'not RE2-compatible'],
    ['a numeric exclusiveMinimum', { type: 'integer', exclusiveMinimum: 0 }, 'must be a boolean'],
    ['a required field that is not a property', { type: 'object', required: ['a'], properties: {} }, 'required field a'],
    ['a list map keyed by an optional field', { type: 'array', 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['name'], items: { type: 'object', properties: { name: { type: 'string' } } } }, 'must be required'],
    ['a list map without keys', { type: 'array', 'x-kubernetes-list-type': 'map', items: { type: 'object' } }, 'needs x-kubernetes-list-map-keys'],
    ['a CEL rule on an untyped node', { 'x-kubernetes-preserve-unknown-fields': true, 'x-kubernetes-validations': [{ rule: 'true', message: 'm' }] }, 'untyped node'],
    ['a CEL rule without message', { type: 'object', 'x-kubernetes-validations': [{ rule: 'true' }] }, 'has no message'],
    ['int-or-string with a type', { type: 'string', 'x-kubernetes-int-or-string': true }, 'must not have a type'],
  ])('rejects %s', (_name, spec, problem) => {
    expect(problemsOf(spec).join('\n')).toContain(problem);
  });

  it('walks into items and map values', () => {
    expect(problemsOf({ type: 'array', items: { type: 'object', additionalProperties: { description: 'x' } } })).toEqual([
      'root.spec[]{}: has no type (and is neither int-or-string nor preserve-unknown-fields)',
    ]);
  });

  it('wants the root to be an object with metadata {type: object} and no additionalProperties', () => {
    expect(structuralProblems({ type: 'string' })).toContain('root: type must be object');
    expect(structuralProblems({ type: 'object', properties: { metadata: { type: 'object', properties: { name: { type: 'string' } } } } })).toContain(
      'metadata: must be exactly {type: object}',
    );
    expect(structuralProblems({ type: 'object', additionalProperties: { type: 'string' } })).toContain(
      'root: additionalProperties is not allowed at the root',
    );
  });
});
