import { PROXY_CONFIG_SCHEMA_VERSION, withVersion, type ProxyConfig } from '../proxy-config.ts';
import type { Resources } from '../resources.ts';
import { indexServices } from './endpoints.ts';
import { compileModelRoutes } from './model-route.ts';
import { compileRateLimitPolicies } from './rate-limit-policy.ts';
import { indexSecrets } from './secrets.ts';
import { compareStrings } from './order.ts';
import { compareStatuses, type ObjectStatus } from './status.ts';
import { compileTenants } from './tenant.ts';

export interface CompileResult {
  /** What the proxies run; its version is the content hash, so equal input gives equal version. */
  config: ProxyConfig;
  /** One entry per addressable ModelRoute, Tenant and RateLimitPolicy, sorted by kind, namespace, name. */
  statuses: ObjectStatus[];
}

/**
 * Resources -> ProxyConfig + status of every object. Pure and deterministic: no I/O, clock or
 * randomness, and the order of the input arrays does not matter. A broken object is left out
 * of the config and its status says why; it never takes another object with it (except where
 * the API says so: the newer of two routes claiming one model name).
 */
export function compile(resources: Resources): CompileResult {
  const secrets = indexSecrets(resources.secrets);
  const services = indexServices(resources.services, resources.endpointSlices);
  const routes = compileModelRoutes(resources.modelRoutes, secrets, services);
  const tenants = compileTenants(resources.tenants, secrets);
  const policies = compileRateLimitPolicies(
    resources.rateLimitPolicies,
    new Set(routes.routes.map((r) => r.id)),
    new Set(tenants.tenants.map((t) => t.id)),
  );
  const config = withVersion({
    schemaVersion: PROXY_CONFIG_SCHEMA_VERSION,
    routes: [...routes.routes].sort((a, b) => compareStrings(a.id, b.id)),
    tenants: [...tenants.tenants].sort((a, b) => compareStrings(a.id, b.id)),
    limits: [...tenants.limits, ...policies.limits].sort((a, b) => compareStrings(a.id, b.id)),
  });
  const statuses: ObjectStatus[] = [...routes.statuses, ...tenants.statuses, ...policies.statuses].sort(compareStatuses);
  return { config, statuses };
}
