import { GROUP, VERSION, type KubeObject } from '@jairouter/crds';
import { CoreV1Api, CustomObjectsApi, DiscoveryV1Api, type KubeConfig, type KubernetesListObject, type KubernetesObject } from '@kubernetes/client-node';
import { PLURALS, type CustomKind } from '../reconcile/reconcile.ts';
import { informerFactory, type InformerFactory } from './informer.ts';

/** The six kinds the operator watches, in the order of Resources. */
export const WATCHED = ['modelRoutes', 'tenants', 'rateLimitPolicies', 'secrets', 'services', 'endpointSlices'] as const;
export type Watched = (typeof WATCHED)[number];

export const CUSTOM_KIND: Readonly<Record<'modelRoutes' | 'tenants' | 'rateLimitPolicies', CustomKind>> = {
  modelRoutes: 'ModelRoute', tenants: 'Tenant', rateLimitPolicies: 'RateLimitPolicy',
};

/**
 * Secret types that never hold a provider credential, API keys or a JWKS, and are many in a
 * busy cluster (a token per ServiceAccount in older clusters, a Secret per Helm release
 * revision): not cached at all.
 */
export const SECRET_FIELD_SELECTOR = 'type!=kubernetes.io/service-account-token,type!=helm.sh/release.v1';

/** Typed client lists hold class instances (Dates, renamed reserved words); the cache must hold what the watch delivers: plain JSON. */
function plain(list: unknown): KubernetesListObject<KubernetesObject> {
  return JSON.parse(JSON.stringify(list)) as KubernetesListObject<KubernetesObject>;
}

/**
 * One informer factory per watched kind and namespace scope. `namespace` undefined = the
 * whole cluster (one watch per kind); otherwise one watch per kind in that namespace.
 */
export function sourceFactories(kc: KubeConfig, namespace: string | undefined): Record<Watched, InformerFactory<KubernetesObject>> {
  const custom = kc.makeApiClient(CustomObjectsApi);
  const core = kc.makeApiClient(CoreV1Api);
  const discovery = kc.makeApiClient(DiscoveryV1Api);
  const ns = namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  const crd = (plural: string) =>
    informerFactory(kc, `/apis/${GROUP}/${VERSION}${ns}/${plural}`, async () => (namespace
      ? await custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural })
      : await custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural })) as KubernetesListObject<KubernetesObject>);
  return {
    modelRoutes: crd(PLURALS.ModelRoute),
    tenants: crd(PLURALS.Tenant),
    rateLimitPolicies: crd(PLURALS.RateLimitPolicy),
    secrets: informerFactory(kc, `/api/v1${ns}/secrets`, async () => plain(namespace
      ? await core.listNamespacedSecret({ namespace, fieldSelector: SECRET_FIELD_SELECTOR })
      : await core.listSecretForAllNamespaces({ fieldSelector: SECRET_FIELD_SELECTOR })), SECRET_FIELD_SELECTOR),
    services: informerFactory(kc, `/api/v1${ns}/services`, async () =>
      plain(namespace ? await core.listNamespacedService({ namespace }) : await core.listServiceForAllNamespaces())),
    endpointSlices: informerFactory(kc, `/apis/discovery.k8s.io/v1${ns}/endpointslices`, async () =>
      plain(namespace ? await discovery.listNamespacedEndpointSlice({ namespace }) : await discovery.listEndpointSliceForAllNamespaces())),
  };
}

export type { KubeObject };
