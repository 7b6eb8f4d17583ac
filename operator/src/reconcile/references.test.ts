import { describe, expect, it } from 'vitest';
import { collectReferences, isReferenced, selectResources } from './references.ts';
import { cluster, endpointSlice, route, secret, service, tenant } from './testing.ts';

describe('selectResources', () => {
  const all = cluster({
    modelRoutes: [route('chat', { secret: 'openai' }), route('local', { service: 'vllm' }), { kind: 'ModelRoute', metadata: { name: 'junk', namespace: 'ai' }, spec: 'nope' }],
    // compile() reads a jwt issuer's jwksSecretRef, so that Secret is referenced too.
    tenants: [tenant('acme', { secrets: ['acme-keys'] }),
      { kind: 'Tenant', metadata: { name: 'jwt', namespace: 'ai' }, spec: { jwt: { issuers: [{ issuer: 'https://login.example.com', jwksSecretRef: { name: 'jwks', key: 'jwks' } }] } } }],
    secrets: [secret('openai', { apiKey: 'x' }), secret('acme-keys', { k: 'v' }), secret('jwks', { jwks: '{}' }),
      secret('unrelated-token', { token: 't' }), secret('openai', { apiKey: 'y' }, 'other-ns')],
    services: [service('vllm'), service('other'), service('vllm', 'other-ns')],
    endpointSlices: [endpointSlice('vllm-abc', 'vllm', ['10.0.0.1']), endpointSlice('other-abc', 'other', ['10.0.0.2']),
      endpointSlice('vllm-xyz', 'vllm', ['10.0.0.3'], 'other-ns')],
  });

  it('keeps every custom resource but only the referenced Secrets, Services and their EndpointSlices, same namespace only', () => {
    const { resources, references } = selectResources(all);
    expect(resources.modelRoutes).toHaveLength(3);
    expect(resources.secrets.map((s) => (s['metadata'] as { name: string }).name).sort()).toEqual(['acme-keys', 'jwks', 'openai']);
    expect(resources.services).toHaveLength(1);
    expect(resources.endpointSlices.map((s) => (s['metadata'] as { name: string }).name)).toEqual(['vllm-abc']);
    expect([...references.secrets].sort()).toEqual(['ai/acme-keys', 'ai/jwks', 'ai/openai']);
    expect([...references.services]).toEqual(['ai/vllm']);
  });

  it('isReferenced filters informer events the same way', () => {
    const refs = collectReferences(all);
    expect(isReferenced('Secret', secret('openai', {}), refs)).toBe(true);
    expect(isReferenced('Secret', secret('openai', {}, 'other-ns'), refs)).toBe(false);
    expect(isReferenced('Secret', secret('jwks', {}), refs)).toBe(true);
    expect(isReferenced('Service', service('vllm'), refs)).toBe(true);
    expect(isReferenced('EndpointSlice', endpointSlice('x', 'vllm', []), refs)).toBe(true);
    expect(isReferenced('EndpointSlice', endpointSlice('x', 'other', []), refs)).toBe(false);
  });
});
