import { hash } from 'node:crypto';
import type { BackendIR, ProxyConfig, RouteIR, TenantIR } from '@jairouter/crds';
import { adapterFor, type Adapter } from '../adapters/index.ts';
import { JwtVerifier, type JwksRegistry } from '../auth/jwt.ts';
import { createBalancer } from '../balance/index.ts';
import type { Balancer } from '../balance/types.ts';
import { EndpointHealth } from '../health/endpoint-health.ts';
import { LimitRuntime } from '../limits/engine.ts';
import { Masker, type MaskRuleSpec } from '../masking/masker.ts';
import type { PoolRegistry, UpstreamDispatcher } from '../upstream/pools.ts';
import { lacksOf } from './capabilities.ts';
import { ModelIndex, ModelMatcher } from './model-matcher.ts';

export interface EndpointRuntime {
  readonly index: number;
  readonly backend: BackendRuntime;
  readonly url: string;
  /** Scheme, host and port of `url`. */
  readonly origin: string;
  readonly basePath: string;
  readonly pool: UpstreamDispatcher;
  readonly health: EndpointHealth;
  /** Need bits its backend cannot serve (capabilities declared false, operations its adapter lacks). */
  readonly lacks: number;
  /** Its backend's contextWindow in tokens; Infinity when not declared. */
  readonly window: number;
}

export interface BackendRuntime {
  readonly ir: BackendIR;
  readonly name: string;
  readonly adapter: Adapter;
}

export interface RouteRuntime {
  readonly ir: RouteIR;
  readonly id: string;
  readonly endpoints: readonly EndpointRuntime[];
  /** Endpoint indices grouped by priority, lowest priority value first. */
  readonly tiers: readonly (readonly number[])[];
  readonly balancer: Balancer;
  /**
   * Scratch for selectEndpoint, reused by every pick (picks are synchronous): the in-flight
   * count of each candidate, copied from its EndpointHealth, the one count kept per endpoint.
   */
  readonly loads: Int32Array;
  /** Strategy and balanced endpoints (keys, weights, costs): equal signatures share balancer state. */
  readonly balanceSignature: string;
  /** Need bits some endpoint lacks: only these are looked for in a request (0 = no capability check). */
  readonly checks: number;
  /** Some backend declares a contextWindow: requests get a token estimate. */
  readonly windowed: boolean;
  /** The limits that target this route (RateLimitPolicy targetRefs). */
  readonly limits: LimitRuntime[];
  /** The highest input and output prices of its backends: what a budget reserves at. */
  readonly maxPricing: { inputPerMillion: number; outputPerMillion: number };
}

export interface TenantRuntime {
  readonly ir: TenantIR;
  readonly id: string;
  /** spec.access.models: what every identity of the tenant may call. */
  readonly allow: ModelMatcher;
  /** spec.access.roles: what holders of each role may call in addition. */
  readonly grants: ReadonlyMap<string, ModelMatcher>;
  /**
   * `GET /v1/models` bodies by role set (Identity.rolesKey), built on first use and again when
   * discovery changes (`modelsVersion`).
   */
  readonly modelsBodies: Map<string, string>;
  modelsVersion: number;
  /** The limits that target this tenant: its quotas and RateLimitPolicy targetRefs. */
  readonly limits: LimitRuntime[];
  /** Its limits merged with a route's, built on first use (the runtime never changes after build). */
  readonly limitsWith: Map<RouteRuntime, LimitRuntime[]>;
  /** spec.masking.requests, compiled once per config version; null = none. */
  readonly maskRequests: Masker | null;
  /** spec.masking.responses, compiled once per config version; null = none. */
  readonly maskResponses: Masker | null;
}

/**
 * Who is calling: a tenant, and within it an API key or a token's user, with roles. An API key's
 * identity is built once per config version; a token's per request.
 */
export class Identity {
  readonly tenant: TenantRuntime;
  /** `<secret>/<entry>` of the API key; '' for a token. */
  readonly keyId: string;
  /** The token's user claim; for an API key its id (so a `user` limit key counts per key). */
  readonly user: string;
  readonly roles: readonly string[];
  /** The roles, sorted and joined: identities with equal roles see the same model list. */
  readonly rolesKey: string;
  /** The grants of the roles that the tenant defines (unknown roles grant nothing). */
  private readonly granted: readonly ModelMatcher[];

  constructor(tenant: TenantRuntime, keyId: string, user: string, roles: readonly string[]) {
    this.tenant = tenant;
    this.keyId = keyId;
    this.user = user;
    this.roles = roles;
    this.rolesKey = [...roles].sort().join(',');
    const granted: ModelMatcher[] = [];
    for (const r of roles) {
      const g = tenant.grants.get(r);
      if (g && !granted.includes(g)) granted.push(g);
    }
    this.granted = granted;
  }

  /** Whether the caller may use `model`: the tenant's access.models, or a grant of one of its roles. */
  may(model: string): boolean {
    if (this.tenant.allow.matches(model)) return true;
    for (const g of this.granted) if (g.matches(model)) return true;
    return false;
  }
}

/**
 * Everything a request needs, built once per config version and never mutated afterwards
 * (health and pools are shared across versions by key). Requests hold on to the Runtime they
 * started with, so a swap never changes a request in flight. A route whose strategy and
 * endpoints did not change keeps its balancer (round-robin position, smooth-WRR weights,
 * latency averages) from `previous`: a change to another route or a tenant does not reset it.
 */
export class Runtime {
  readonly routes: RouteRuntime[] = [];
  readonly models = new ModelIndex<RouteRuntime>();
  readonly tenantsByKeyHash = new Map<string, { identity: Identity; sha256: string }>();
  readonly tenants: TenantRuntime[] = [];
  /** Every limit of the config, by id. */
  readonly limits = new Map<string, LimitRuntime>();
  /** Token issuers by `iss`: the tenants that trust each, with the audiences that pick one. */
  readonly issuers = new Map<string, { tenant: TenantRuntime; audiences: readonly string[]; verifier: JwtVerifier }[]>();
  /** Backends left out because this proxy has no adapter for them: `route/backend: adapter`. */
  readonly skipped: string[] = [];
  /** When this config version was built to be served (ms since the epoch). */
  appliedAt = Date.now();

  readonly config: ProxyConfig;

  constructor(config: ProxyConfig, health: Map<string, EndpointHealth>, pools: PoolRegistry, previous: Runtime | null = null, jwks: JwksRegistry | null = null, replicas: () => number = () => 1, deferred = false) {
    this.config = config;
    if (!deferred) for (const _ of this.steps(health, pools, previous, jwks, replicas));
  }

  /**
   * The same Runtime built in slices of about `sliceMs` of the event loop each, yielding to it in
   * between: a config of a thousand routes and ten thousand keys takes 25-40 ms to build, which,
   * in one piece, every request arriving meanwhile would wait for. Nobody sees the Runtime until
   * it is complete.
   */
  static async build(config: ProxyConfig, health: Map<string, EndpointHealth>, pools: PoolRegistry, previous: Runtime | null, jwks: JwksRegistry | null, replicas: () => number, sliceMs = 4): Promise<Runtime> {
    const rt = new Runtime(config, health, pools, previous, jwks, replicas, true);
    let start = performance.now();
    for (const _ of rt.steps(health, pools, previous, jwks, replicas)) {
      if (performance.now() - start < sliceMs) continue;
      await new Promise<void>((r) => setImmediate(r));
      start = performance.now();
    }
    rt.appliedAt = Date.now();
    return rt;
  }

  /** Builds the Runtime; yields after each route, tenant and batch of keys (a point where build() may pause). */
  private *steps(health: Map<string, EndpointHealth>, pools: PoolRegistry, previous: Runtime | null, jwks: JwksRegistry | null, replicas: () => number): Generator<void> {
    const config = this.config;
    const before = new Map<string, RouteRuntime>();
    if (previous) for (const r of previous.routes) before.set(r.id, r);
    for (const r of config.routes) {
      const route = this.buildRoute(r, health, pools, before.get(r.id), replicas);
      if (route) {
        this.routes.push(route);
        for (const m of r.models) this.models.add(m, route);
      }
      yield;
    }
    this.models.seal();
    for (const t of config.tenants) {
      const tenant: TenantRuntime = {
        ir: t,
        id: t.id,
        allow: new ModelMatcher(t.access.models),
        // An older operator's config has no roles: every identity then has the models alone.
        grants: new Map((t.access.roles ?? []).map((r) => [r.name, new ModelMatcher(r.models)])),
        modelsBodies: new Map(),
        modelsVersion: -1,
        limits: [],
        limitsWith: new Map(),
        maskRequests: t.maskRequests?.length ? new Masker(t.maskRequests as MaskRuleSpec[]) : null,
        maskResponses: t.maskResponses?.length ? new Masker(t.maskResponses as MaskRuleSpec[]) : null,
      };
      this.tenants.push(tenant);
      for (const iss of t.jwtIssuers ?? []) {
        if (!jwks) break;
        const verifier = new JwtVerifier([{
          issuer: iss.issuer,
          audiences: [...iss.audiences],
          userClaim: iss.userClaim,
          ...(iss.jwksUri !== undefined ? { jwksUri: iss.jwksUri } : {}),
          ...(iss.jwks !== undefined ? { jwks: iss.jwks } : {}),
          ...(iss.rolesClaim !== undefined ? { rolesClaim: iss.rolesClaim } : {}),
        }], jwks);
        const list = this.issuers.get(iss.issuer) ?? [];
        list.push({ tenant, audiences: iss.audiences, verifier });
        this.issuers.set(iss.issuer, list);
      }
      let n = 0;
      for (const k of t.apiKeys) {
        if (!this.tenantsByKeyHash.has(k.sha256)) {
          this.tenantsByKeyHash.set(k.sha256, { identity: new Identity(tenant, k.id, k.id, k.roles ?? []), sha256: k.sha256 });
        }
        if (++n % 100 === 0) yield;
      }
      yield;
    }
    const routesById = new Map(this.routes.map((r) => [r.id, r]));
    const tenantsById = new Map(this.tenants.map((t) => [t.id, t]));
    for (const l of config.limits ?? []) {
      const limit = new LimitRuntime(l, previous?.limits.get(l.id));
      this.limits.set(l.id, limit);
      for (const id of l.routes) routesById.get(id)?.limits.push(limit);
      for (const id of l.tenants) tenantsById.get(id)?.limits.push(limit);
    }
  }

  private buildRoute(r: RouteIR, health: Map<string, EndpointHealth>, pools: PoolRegistry, before: RouteRuntime | undefined, replicas: () => number): RouteRuntime | null {
    const endpoints: EndpointRuntime[] = [];
    for (const b of r.backends) {
      const adapter = adapterFor(b.adapter);
      if (!adapter) {
        this.skipped.push(`${r.id}/${b.name}: ${b.adapter}`);
        continue;
      }
      const backend: BackendRuntime = { ir: b, name: b.name, adapter };
      const lacks = lacksOf(b, (op) => adapter.supports(op));
      const window = b.capabilities.contextWindow ?? Infinity;
      for (const e of b.endpoints) {
        const u = new URL(e.url);
        const key = `${r.id}|${b.name}|${e.url}`;
        let h = health.get(key);
        if (!h) health.set(key, (h = new EndpointHealth(key)));
        h.lastSeenVersion = this.config.version;
        endpoints.push({
          index: endpoints.length,
          backend,
          url: e.url,
          origin: u.origin,
          basePath: u.pathname.replace(/\/+$/, ''),
          pool: pools.get(u.origin, r.timeouts.connectMs),
          health: h,
          lacks,
          window,
        });
      }
    }
    const priorities = [...new Set(endpoints.map((e) => e.backend.ir.priority))].sort((a, b) => a - b);
    const tiers = priorities.map((p) => endpoints.filter((e) => e.backend.ir.priority === p).map((e) => e.index));
    const balanced = endpoints.map((e) => ({
      key: `${e.backend.name} ${e.url}`,
      weight: e.backend.ir.weight,
      cost: e.backend.ir.pricing.inputPerMillion + e.backend.ir.pricing.outputPerMillion,
    }));
    const la = r.loadBalancer.loadAware;
    const loadAware = la && {
      weights: la.weights,
      ...(la.prefixAffinity && { prefixAffinity: { epsilon: la.prefixAffinity.epsilon } }),
      // Three reads missed: the engine's numbers no longer describe it.
      staleAfterMs: 3 * (r.engineMetrics?.intervalMs ?? 1000),
      replicas,
    };
    const balanceSignature = JSON.stringify([r.loadBalancer.strategy, balanced, loadAware ?? null]);
    const keep = before !== undefined && before.balanceSignature === balanceSignature;
    const views = endpoints.map((e) => ({ ...balanced[e.index]!, view: e.health }));
    const balancer = keep ? before.balancer : createBalancer(r.loadBalancer.strategy, views, Math.random, loadAware);
    let checks = 0;
    for (const e of endpoints) checks |= e.lacks;
    const windowed = endpoints.some((e) => e.window !== Infinity);
    const maxPricing = { inputPerMillion: 0, outputPerMillion: 0 };
    for (const e of endpoints) {
      maxPricing.inputPerMillion = Math.max(maxPricing.inputPerMillion, e.backend.ir.pricing.inputPerMillion);
      maxPricing.outputPerMillion = Math.max(maxPricing.outputPerMillion, e.backend.ir.pricing.outputPerMillion);
    }
    return { ir: r, id: r.id, endpoints, tiers, balancer, loads: new Int32Array(endpoints.length), balanceSignature, checks, windowed, limits: [], maxPricing };
  }

  /** The identity for a presented API key, comparing SHA-256 digests in constant time. */
  authenticate(key: string): Identity | undefined {
    // One-shot hash to hex: a Buffer result costs four times as much (about 1.2 vs 0.3 µs).
    const digest = hash('sha256', key);
    const hit = this.tenantsByKeyHash.get(digest);
    if (!hit || !sameHex(hit.sha256, digest)) return undefined;
    return hit.identity;
  }

  /**
   * The identity a bearer token proves, or why it proves none (a reason for the 401 that names
   * the check that failed and never echoes the token). The token's unverified iss and aud pick
   * the tenant (compile() gives each issuer and audience to one tenant); that tenant's issuer
   * entry then verifies the signature and claims.
   */
  async authenticateToken(token: string): Promise<Identity | { reason: string }> {
    const peek = JwtVerifier.peek(token);
    if (!peek) return { reason: 'the bearer token is neither an API key of this gateway nor a well-formed JWT' };
    const trusting = peek.iss === undefined ? undefined : this.issuers.get(peek.iss);
    if (!trusting) return { reason: 'the token\'s issuer (iss) is not trusted by any tenant' };
    const entry = trusting.find((e) => e.audiences.length === 0 || peek.aud.some((a) => e.audiences.includes(a)));
    if (!entry) return { reason: 'the token\'s audience (aud) is not accepted by any tenant that trusts its issuer' };
    const r = await entry.verifier.verify(token);
    if (!r.ok) return { reason: r.reason };
    return new Identity(entry.tenant, '', r.user, r.roles);
  }

  /** Whether any tenant trusts a token issuer (else a bearer value is only ever an API key). */
  get acceptsTokens(): boolean {
    return this.issuers.size > 0;
  }

  /**
   * `GET /v1/models` for a tenant: the exact names of the routes, and the names the backends of
   * prefix routes report serving (`discovered`, whose `version` says when to rebuild), each
   * only if it reaches its route and the tenant may use it.
   */
  modelsFor(identity: Identity, discovered: { version: number; names(): Iterable<string> } | null = null): string {
    const version = discovered?.version ?? 0;
    const tenant = identity.tenant;
    if (tenant.modelsVersion !== version) {
      tenant.modelsBodies.clear();
      tenant.modelsVersion = version;
    }
    let body = tenant.modelsBodies.get(identity.rolesKey);
    if (body === undefined) {
      const names = new Set(this.models.exactNames());
      if (discovered) for (const n of discovered.names()) if (this.models.get(n) !== undefined) names.add(n);
      const data = [...names]
        .filter((m) => identity.may(m))
        .sort()
        .map((id) => ({ id, object: 'model', created: 0, owned_by: 'jairouter' }));
      body = JSON.stringify({ object: 'list', data });
      // Role sets come from tokens, so their number is the IdP's to choose: keep a bounded few.
      if (tenant.modelsBodies.size >= 64) tenant.modelsBodies.clear();
      tenant.modelsBodies.set(identity.rolesKey, body);
    }
    return body;
  }
}

/** Equal hex digests, in time independent of where they differ (what timingSafeEqual does for Buffers). */
function sameHex(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return d === 0;
}
