// Configs for the measuring scripts. largeConfigDocs: `routes` ModelRoutes (two backends each,
// one with a provider credential) and `keys` API keys over ceil(keys / 100) Tenants.
import { stringify } from 'yaml';

export function largeConfigDocs(routes: number, keys: number): Record<string, unknown>[] {
  const tenants = Math.max(1, Math.ceil(keys / 100));
  const docs: Record<string, unknown>[] = [{ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'provider', namespace: 'ai' }, stringData: { apiKey: 'sk-upstream' } }];
  for (let r = 0; r < routes; r++) {
    docs.push({
      apiVersion: 'jairouter.io/v1alpha1', kind: 'ModelRoute', metadata: { name: `route-${r}`, namespace: 'ai' },
      spec: {
        models: [`model-${r}`],
        backends: [
          { name: 'a', adapter: 'openai', url: `http://10.0.${r % 250}.1:8000/v1`, credentialsRef: { name: 'provider', key: 'apiKey' } },
          { name: 'b', adapter: 'vllm', url: `http://10.1.${r % 250}.1:8000/v1` },
        ],
        loadBalancer: { strategy: r % 2 === 0 ? 'LeastConnections' : 'RoundRobin' },
      },
    });
  }
  for (let t = 0; t < tenants; t++) {
    const stringData: Record<string, string> = {};
    for (let k = 0; k < 100 && t * 100 + k < keys; k++) stringData[`k${k}`] = `sk-tenant-${t}-key-${k}-0123456789abcdef`;
    docs.push({ apiVersion: 'v1', kind: 'Secret', metadata: { name: `t${t}-keys`, namespace: 'ai' }, stringData });
    docs.push({ apiVersion: 'jairouter.io/v1alpha1', kind: 'Tenant', metadata: { name: `t${t}`, namespace: 'ai' }, spec: { apiKeys: { secretRefs: [{ name: `t${t}-keys` }] } } });
  }
  return docs;
}

export const toYamlStream = (docs: unknown[]): string => docs.map((d) => stringify(d)).join('---\n');

/** The small config of the measuring scripts: model `m` round-robin over `upstreams` (OpenAI-compatible base URLs ending in /v1), one tenant with API key `key`. */
export function oneRouteYaml(upstreams: string[], key: string): string {
  return toYamlStream([
    {
      apiVersion: 'jairouter.io/v1alpha1', kind: 'ModelRoute', metadata: { name: 'm', namespace: 'bench' },
      spec: { models: ['m'], loadBalancer: { strategy: 'RoundRobin' }, backends: upstreams.map((url, i) => ({ name: `up${i}`, adapter: 'openai', url })) },
    },
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'keys', namespace: 'bench' }, stringData: { k: key } },
    { apiVersion: 'jairouter.io/v1alpha1', kind: 'Tenant', metadata: { name: 't', namespace: 'bench' }, spec: { apiKeys: { secretRefs: [{ name: 'keys' }] } } },
  ]);
}
