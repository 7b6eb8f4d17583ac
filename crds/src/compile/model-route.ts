import { ModelRouteSpec, type Backend } from '../api/model-route.ts';
import { IMPLEMENTED_ADAPTERS } from '../implemented-adapters.ts';
import type { BackendIR, RouteIR } from '../proxy-config.ts';
import type { KubeObject } from '../resources.ts';
import { checkBackendOptions } from './backend-options.ts';
import type { ServiceIndex } from './endpoints.ts';
import { serviceEndpoints } from './endpoints.ts';
import { formatZodIssues, summarise } from './issues.ts';
import { resolveFallbacks, resolveModelConflicts } from './model-names.ts';
import { checkModelRouteSpec } from './model-route-checks.ts';
import { prepare, specOf, type ObjectInfo } from './objects.ts';
import { backendIR, routeIR } from './route-ir.ts';
import { isProblem, secretValue, type SecretIndex } from './secrets.ts';
import {
  acceptedFalse, acceptedTrue, duplicateConditions, refsCondition, refsNotChecked,
  type BackendStatus, type ModelRouteObjectStatus, type Problem,
} from './status.ts';

type BackendOutcome = { name: string; ir: BackendIR } | { name: string; problem: Problem };

interface Candidate {
  info: ObjectInfo;
  spec: ModelRouteSpec;
  models: readonly string[];
  backends: BackendOutcome[];
}

export interface ModelRoutesResult {
  /** The routes in the config, sorted by id. */
  routes: RouteIR[];
  statuses: ModelRouteObjectStatus[];
}

export function compileModelRoutes(objects: readonly KubeObject[], secrets: SecretIndex, services: ServiceIndex): ModelRoutesResult {
  const statuses: ModelRouteObjectStatus[] = [];
  const { entries, conflicting } = prepare(objects);
  for (const info of conflicting) statuses.push(duplicateStatus(info));

  const candidates: Candidate[] = [];
  for (const { info, object } of entries) {
    const parsed = ModelRouteSpec.safeParse(specOf(object));
    const problems = parsed.success ? checkModelRouteSpec(parsed.data) : formatZodIssues(parsed.error);
    if (!parsed.success || problems.length > 0) {
      statuses.push(routeStatus(info, [acceptedFalse(info, 'Invalid', `${summarise(problems)}.`), refsNotChecked(info)], []));
      continue;
    }
    const spec = parsed.data;
    // An option the adapter would ignore is refused, not accepted and silently dropped.
    const optionProblems = checkBackendOptions(spec);
    const firstOption = optionProblems[0];
    if (firstOption) {
      const message = `${summarise(optionProblems.map((p) => p.message))}.`;
      statuses.push(routeStatus(info, [acceptedFalse(info, firstOption.reason, message), refsNotChecked(info, firstOption.reason)], []));
      continue;
    }
    const backends = spec.backends.map((b) => resolveBackend(b, info.namespace, secrets, services));
    candidates.push({ info, spec, models: spec.models, backends });
  }

  // Conflicts are decided on specs alone, so a route does not lose its names while a Secret it
  // needs is briefly missing.
  const losers = resolveModelConflicts(candidates);
  const served: { candidate: Candidate; route: RouteIR }[] = [];
  for (const c of candidates) {
    const irs = c.backends.flatMap((b) => ('ir' in b ? [b.ir] : []));
    if (!losers.has(c.info.id) && irs.length > 0) served.push({ candidate: c, route: routeIR(c.info, c.spec, irs) });
  }
  const routes = served.map((s) => s.route);
  const fallbackProblems = new Map<string, Problem[]>();
  for (const { candidate, route } of served) {
    const { models, problems } = resolveFallbacks(route, candidate.spec.fallback?.models ?? [], routes);
    route.fallbackModels = models;
    fallbackProblems.set(route.id, problems);
  }

  for (const c of candidates) {
    const backendProblems = c.backends.flatMap((b) => ('problem' in b ? [{ ...b.problem, message: `backend "${b.name}": ${b.problem.message}` }] : []));
    const resolvedCount = c.backends.length - backendProblems.length;
    const lost = losers.get(c.info.id);
    const problems = [...backendProblems, ...(fallbackProblems.get(c.info.id) ?? [])];
    const suffix = resolvedCount === 0
      ? 'No backend resolved: the route is not served'
      : backendProblems.length > 0 ? `Serving with ${resolvedCount} of ${c.backends.length} backends` : '';
    statuses.push(
      routeStatus(
        c.info,
        [lost ? acceptedFalse(c.info, 'ModelNameConflict', lost) : acceptedTrue(c.info), refsCondition(c.info, problems, 'All references resolved.', suffix)],
        c.backends.map((b): BackendStatus => ({ name: b.name, endpoints: 'ir' in b ? b.ir.endpoints.length : 0 })),
      ),
    );
  }
  return { routes, statuses };
}

function resolveBackend(b: Backend, namespace: string, secrets: SecretIndex, services: ServiceIndex): BackendOutcome {
  if (!IMPLEMENTED_ADAPTERS.includes(b.adapter)) {
    return {
      name: b.name,
      problem: { reason: 'UnsupportedAdapter', message: `adapter "${b.adapter}" is not available in this version (available: ${IMPLEMENTED_ADAPTERS.join(', ')})` },
    };
  }
  let endpoints: string[];
  if (b.serviceRef) {
    const resolved = serviceEndpoints(services, namespace, b.serviceRef);
    if (isProblem(resolved)) return { name: b.name, problem: resolved };
    endpoints = resolved;
  } else {
    endpoints = [b.url!.replace(/\/+$/, '')];
  }
  let credential: string | undefined;
  if (b.credentialsRef) {
    const secret = secretValue(secrets, namespace, b.credentialsRef);
    if (isProblem(secret)) return { name: b.name, problem: secret };
    credential = secret.value.trim();
    if (credential === '') {
      const { name, key } = b.credentialsRef;
      return { name: b.name, problem: { reason: 'SecretKeyEmpty', message: `key "${key}" of Secret "${name}" is empty` } };
    }
  }
  return { name: b.name, ir: backendIR(b, endpoints, credential) };
}

function routeStatus(info: ObjectInfo, conditions: ModelRouteObjectStatus['conditions'], backends: BackendStatus[]): ModelRouteObjectStatus {
  return { kind: 'ModelRoute', namespace: info.namespace, name: info.name, generation: info.generation, conditions, backends };
}

function duplicateStatus(info: ObjectInfo): ModelRouteObjectStatus {
  return routeStatus(info, duplicateConditions(info), []);
}
