import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { ClientRequest, Operation } from '../adapters/types.ts';
import { Errors, type ApiError } from '../api/errors.ts';
import { Exchange } from '../exchange.ts';
import { COUNT_TOKENS, MESSAGES, countTokens, messagesRequest } from '../ingress/anthropic/index.ts';
import { ClientResponse } from '../response/client-response.ts';
import { looksLikeJwt } from '../auth/jwt.ts';
import { Budgets, microCost } from '../limits/budget.ts';
import { Limits, rateLimitHeaders, type LimitRuntime } from '../limits/engine.ts';
import { hashValue, keySource } from './request-keys.ts';
import type { UsageMeter } from '../limits/usage.ts';
import type { AuditLog } from '../telemetry/audit.ts';
import { requestedTokens } from '../runtime/capabilities.ts';
import { Identity, type RouteRuntime, type Runtime, type TenantRuntime } from '../runtime/runtime.ts';
import type { Logging } from '../telemetry/logger.ts';
import type { ProxyMetrics } from '../telemetry/metrics.ts';
import type { ProxyTracing } from '../telemetry/tracing.ts';
import { forward, type ForwardHooks } from '../upstream/forward.ts';
import type { CorsPolicy } from './cors.ts';
import { readTimedOut } from './errors.ts';
import { AuthFailureThrottle, nestedDeeperThan } from './abuse.ts';
import { maskRequest } from './mask-request.ts';
import { unmaskableField } from '../masking/response.ts';
import { ContentCapture } from '../masking/content-log.ts';
import { auditRecordOf, contentRecordOf, genAiRequestOf, servedBackend } from './records.ts';
import { isJson, readBody } from './read-body.ts';
import { FORM_OPERATIONS, formRequest, isMultipart, parseForm } from './multipart.ts';
import { operationRequest, streams } from './operations.ts';
import { OPERATION_PATHS } from './paths.ts';
import { storedResponsePath, storedResponseRequest } from '../responses/requests.ts';
import { DEFAULT_STORE_OPTIONS, MemoryResponseStore, isKeptId, type ResponseStore } from '../responses/store.ts';
import { keptResponses } from './kept-responses.ts';

/** Deepest nesting of a request body: chat requests need a handful of levels; a parser bomb needs thousands. */
const MAX_JSON_DEPTH = 64;
const MAX_MESSAGES = 10_000;
const MAX_TOOLS = 1_024;

const MODELS = '/v1/models';
const RESPONSES = '/v1/responses';

export interface HandlerDeps {
  current(): Runtime;
  draining(): boolean;
  maxBodyBytes: number;
  /** Cross-origin access for browsers; null = off (OPTIONS answers 405). */
  cors: CorsPolicy | null;
  /** What the backends of prefix routes serve, listed by GET /v1/models; null = exact names only. */
  discovered?: { version: number; names(): Iterable<string> } | null;
  logging: Logging;
  metrics: ProxyMetrics;
  /** Rate limits and quotas (default: counted in this process, one replica). */
  limits?: Limits | null;
  /** Tenant budgets (default: counted in this process, one replica). */
  budgets?: Budgets | null;
  /** Output tokens a token limit reserves for a request that names no max_tokens. */
  defaultMaxTokens?: number;
  /** Counts tenants' consumption for the operator's status (operator mode); null = not counted. */
  usage?: UsageMeter | null;
  /** The audit trail (`--audit-log`); null = none. */
  audit?: AuditLog | null;
  /** Requests one tenant may have in flight (`--max-inflight-per-tenant`); 0 = no cap. */
  maxInflightPerTenant?: number;
  /** `--log-content`: one log line per forwarded request with its prompt and answer text, masked. */
  logContent?: boolean;
  /** Failed authentications per client IP (default: 10 a minute, then an exponential lockout). */
  authThrottle?: AuthFailureThrottle;
  /** One trace per request (OTEL_* environment, telemetry/tracing.ts); null = off. */
  tracing?: ProxyTracing | null;
  /** Where Responses API answers served through chat are kept (default: this process's memory, 1 h, 64 MiB); null = not kept. */
  responses?: ResponseStore | null;
}

/** The API listener's request handler: parse, authenticate, authorise, route, forward, account. */
export function createHandler(deps: HandlerDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const { logging, metrics, cors } = deps;
  const limits = deps.limits ?? new Limits({ redis: null, replicas: () => 1 });
  const budgets = deps.budgets ?? new Budgets({ shared: null, replicas: () => 1 });
  const defaultMaxTokens = deps.defaultMaxTokens ?? 1024;
  const usage = deps.usage ?? null;
  const audit = deps.audit ?? null;
  const maxInflight = deps.maxInflightPerTenant ?? 0;
  const logContent = deps.logContent ?? false;
  /** Requests in flight by tenant id, across config versions (only with a cap). */
  const inflight = new Map<string, number>();
  const authThrottle = deps.authThrottle ?? new AuthFailureThrottle();
  const tracing = deps.tracing ?? null;
  const log = logging.log;
  const hooks: ForwardHooks = {
    now: () => performance.now(),
    onUpstreamError: (route, backend, reason, ex) => {
      if (reason === '429' && ex) ex.upstreamThrottled = true;
      metrics.upstreamErrors.labels(route.id, backend, reason).inc();
    },
    onEjected: (route, backend, url, until) =>
      log.warn({ route: route.id, backend, endpoint: url, ejectedForMs: Math.round(until - performance.now()) }, 'endpoint ejected'),
    onRestored: (route, i) => log.info({ route: route.id, backend: route.endpoints[i]!.backend.name, endpoint: route.endpoints[i]!.url }, 'endpoint restored'),
    onAttempt: (route, backend, retry) => metrics.countAttempt(route.id, backend, retry),
    onFallback: (from, to) => metrics.fallbacks.labels(from.id, to.id).inc(),
  };

  function finishRequest(ex: Exchange): void {
    const out = ex.out;
    if (ex.clientGone) out.clientClosed(readTimedOut.has(ex.req.socket));
    const route = ex.route?.id ?? '';
    const seconds = (performance.now() - ex.startedAt) / 1000;
    metrics.countRequest(route, ex.backend, out.status, seconds);
    if (ex.tokensIn || ex.tokensOut) metrics.countTokens(route, ex.backend, ex.tokensIn, ex.tokensOut);
    const served = servedBackend(ex);
    const pricing = served?.ir.pricing;
    const cost = pricing ? microCost(ex.tokensIn, ex.tokensOut, pricing) / 1e6 : 0;
    if (ex.route !== null) metrics.genAi.record(genAiRequestOf(ex, seconds, served, cost));
    if (ex.taken !== null) settle(ex, seconds);
    if (ex.budgetHold !== null) settleBudget(ex, pricing);
    if (usage !== null && ex.route !== null) usage.admitted(ex.identity!.tenant.id, ex.tokensIn + ex.tokensOut);
    for (const rule in ex.responseMasks) metrics.masks.labels(ex.identity!.tenant.id, rule, 'response').inc(ex.responseMasks[rule]);
    if (audit !== null) audit.write(auditRecordOf(ex, route, seconds, cost));
    if (ex.holdsSlot) {
      const t = ex.identity!.tenant.id;
      const n = inflight.get(t)! - 1;
      if (n === 0) inflight.delete(t);
      else inflight.set(t, n);
    }
    logging.request({
      requestId: ex.requestId,
      tenant: ex.identity?.tenant.id ?? '',
      keyId: ex.identity?.keyId ?? '',
      user: ex.identity && ex.identity.keyId === '' ? ex.identity.user : '',
      model: ex.client?.model ?? '',
      route,
      backend: ex.backend,
      status: out.status,
      error: out.errorCode,
      stream: ex.client?.stream ?? false,
      latencyMs: Math.round(seconds * 1e4) / 10,
      tokensIn: ex.tokensIn,
      tokensOut: ex.tokensOut,
      streamError: ex.streamError,
      clientGone: ex.clientGone,
      detail: ex.detail,
      trace: ex.trace,
    });
    if (ex.capture !== null) log.info(contentRecordOf(ex), 'request content');
  }

  /** The real cost at the serving backend's prices; unknown (null) as for token limits. */
  function settleBudget(ex: Exchange, pricing: { inputPerMillion: number; outputPerMillion: number } | undefined): void {
    const used = ex.tokensIn + ex.tokensOut;
    const cost = used === 0 && ex.clientGone ? null : pricing ? microCost(ex.tokensIn, ex.tokensOut, pricing) : 0;
    budgets.settle(ex.budgetHold!, cost);
    usage?.spent(ex.identity!.tenant.id, ex.budgetHold!.period, cost ?? ex.budgetHold!.reserved);
  }

  /**
   * Charges token limits the real usage instead of the reservation. Usage unknown because the
   * client left mid-answer: the reservation stands (the upstream likely generated it anyway).
   */
  function settle(ex: Exchange, seconds: number): void {
    const used = ex.tokensIn + ex.tokensOut;
    const known = used > 0 || !ex.clientGone;
    const answeredMs = ex.out.startedAt > 0 ? ex.out.startedAt - ex.startedAt : seconds * 1000;
    limits.settle(ex.taken!, known ? used : null, answeredMs, ex.upstreamThrottled);
  }

  function reject(ex: Exchange, e: ApiError, logCode?: string | Record<string, string>): void {
    if (typeof logCode === 'object') ex.out.error(e, logCode);
    else ex.out.error(e, undefined, logCode);
    finish(ex);
  }

  // Tracing picks its variants of the stages here, once: untraced, a request never looks at it
  // again after handle()'s one null check (no span, no context, no closure per request).
  const finish = tracing === null ? finishRequest : (ex: Exchange): void => {
    finishRequest(ex);
    ex.trace!.end(ex);
  };
  const authenticate = tracing === null ? checkCredentials : (ex: Exchange): boolean | Promise<boolean> => {
    const t = ex.trace!;
    t.stage('authenticate');
    const r = checkCredentials(ex);
    if (r === true) t.authenticated(ex);
    else if (r !== false) {
      return r.then((ok) => {
        if (ok) t.authenticated(ex);
        return ok;
      });
    }
    return r;
  };
  const chooseRoute = tracing === null ? routeFor : (ex: Exchange, model: string): RouteRuntime | null => {
    const t = ex.trace!;
    t.stage('route');
    const rt = routeFor(ex, model);
    if (rt !== null) t.routed(rt, ex.client);
    return rt;
  };
  const admitOnLimits = tracing === null ? admitLimits : async (ex: Exchange, rt: RouteRuntime, client: ClientRequest): Promise<RouteRuntime | null> => {
    const t = ex.trace!;
    t.stage('limits');
    const admitted = await admitLimits(ex, rt, client);
    if (admitted !== null) t.admitted(admitted, rt);
    return admitted;
  };
  const kept = keptResponses(deps.responses === undefined ? new MemoryResponseStore(DEFAULT_STORE_OPTIONS) : deps.responses, log, reject, finish);

  return function handle(req: IncomingMessage, res: ServerResponse): void {
    const incoming = req.headers['x-request-id'];
    const requestId = typeof incoming === 'string' && incoming.length > 0 && incoming.length <= 128 ? incoming : randomUUID();
    const path = req.url === undefined ? '' : req.url.split('?', 1)[0]!;
    // The API the client reads, decided once: error bodies, a cut stream's error event and response
    // masking follow it. The Anthropic ingress answers in Anthropic's schema from the first error
    // on; the Responses API (its stored responses too) in OpenAI's, with its own stream events.
    const schema = path === MESSAGES || path === COUNT_TOKENS ? 'anthropic' : path === RESPONSES || path.startsWith(RESPONSES + '/') ? 'responses' : 'openai';
    const ex = new Exchange(req, new ClientResponse(res, schema), requestId, performance.now(), deps.draining);
    ex.runtime = deps.current();
    if (tracing !== null) ex.trace = tracing.begin(req, path, requestId, ex.runtime);
    const out = ex.out;
    out.setHeader('x-request-id', requestId);
    if (deps.draining()) out.setHeader('connection', 'close');
    metrics.inflightCount++;
    res.once('close', () => {
      metrics.inflightCount--;
      if (!res.writableFinished) ex.stop('client-gone');
    });

    if (cors) {
      const allowed = cors.allow(req.headers.origin);
      if (req.method === 'OPTIONS') {
        if (allowed === null) return reject(ex, Errors.corsOriginNotAllowed(req.headers.origin ?? ''));
        out.empty(204, cors.preflightHeaders(allowed, req.headers));
        return finish(ex);
      }
      if (allowed !== null) {
        const h = cors.responseHeaders(allowed);
        for (const k in h) out.setHeader(k, h[k]!);
      }
    } else if (req.method === 'OPTIONS') {
      return reject(ex, Errors.corsDisabled());
    }

    const stored = storedResponsePath(path, req.method ?? '');
    if (stored !== null) {
      if ('status' in stored) return reject(ex, stored);
      if (isKeptId(stored.id)) return authenticated(ex, () => void kept.answer(ex, stored));
      return authenticated(ex, () => {
        const q = req.url!.indexOf('?');
        const r = storedResponseRequest(stored, q < 0 ? '' : req.url!.slice(q + 1), ex.identity!.tenant.id, ex.requestId);
        if ('status' in r) return reject(ex, r);
        ex.pin = r.origin;
        ex.client = r.client;
        void dispatch(ex, r.client);
      });
    }
    const op = OPERATION_PATHS[path];
    if (op === undefined && schema !== 'anthropic') {
      if (path === MODELS) return listModels(ex);
      if (path.startsWith(MODELS + '/')) return retrieveModel(ex, path.slice(MODELS.length + 1));
      return reject(ex, Errors.notFound(path));
    }
    if (req.method !== 'POST') return reject(ex, Errors.methodNotAllowed(req.method ?? '', path));
    const auth = authenticate(ex);
    if (auth === true) return receive(ex, op, path);
    if (auth !== false) void auth.then((ok) => ok && receive(ex, op, path));
  };

  /** Reads the body of an authenticated API request and routes it. */
  function receive(ex: Exchange, op: Operation | undefined, path: string): void {
    const { req, out } = ex;
    const type = req.headers['content-type'];
    const form = op !== undefined && FORM_OPERATIONS.has(op);
    if (form ? type === undefined || !isMultipart(type) : type !== undefined && !isJson(type)) {
      // The body is not read: the connection cannot be reused for another request.
      out.setHeader('connection', 'close');
      return reject(ex, Errors.unsupportedMediaType(type ?? '(none)', form));
    }
    readBody(req, deps.maxBodyBytes, (err, raw) => {
      if (err) {
        if (err === 'too-large') {
          // The rest of the body is read and discarded (up to a cap, see read-body.ts), so the
          // client gets to read the 413 instead of a broken pipe.
          return reject(ex, Errors.tooLarge(deps.maxBodyBytes));
        }
        ex.stop('client-gone');
        return finish(ex);
      }
      if (form) void formRoute(ex, op, raw!, type!);
      else if (op !== undefined) void route(ex, op, raw!);
      else void anthropicRoute(ex, path, raw!);
    });
  }

  /**
   * An API key is looked up at once; a JWT (when some tenant trusts an issuer) is verified
   * asynchronously. False (or a promise of it) once the request has been answered.
   */
  function checkCredentials(ex: Exchange): boolean | Promise<boolean> {
    const h = ex.req.headers;
    let key: string | undefined;
    const auth = h.authorization;
    if (auth !== undefined && auth.length > 7 && auth.slice(0, 7).toLowerCase() === 'bearer ') key = auth.slice(7).trim();
    else if (typeof h['x-api-key'] === 'string') key = h['x-api-key'];
    if (!key) {
      reject(ex, Errors.missingKey());
      return false;
    }
    // An address that keeps presenting wrong credentials waits before any is looked at again.
    const ip = ex.req.socket.remoteAddress ?? '';
    const locked = authThrottle.lockedFor(ip, Date.now());
    if (locked > 0) {
      const retryAfterS = Math.ceil(locked / 1000);
      reject(ex, Errors.authLockedOut(retryAfterS), { 'retry-after': String(retryAfterS) });
      return false;
    }
    const id = ex.runtime.authenticate(key);
    if (id) return admit(ex, id);
    if (ex.runtime.acceptsTokens && looksLikeJwt(key)) {
      return ex.runtime.authenticateToken(key).then((r) => {
        if (r instanceof Identity) return admit(ex, r);
        authThrottle.failed(ip, Date.now());
        ex.detail = r.reason;
        reject(ex, Errors.invalidToken(r.reason), 'invalid_token');
        return false;
      });
    }
    authThrottle.failed(ip, Date.now());
    reject(ex, Errors.invalidKey());
    return false;
  }

  function admit(ex: Exchange, id: Identity): boolean {
    ex.identity = id;
    if (id.tenant.ir.suspended) {
      reject(ex, Errors.suspended(id.tenant.ir.name));
      return false;
    }
    return true;
  }

  /** Runs `then` once the request is authenticated (at once for an API key); nothing if it was refused. */
  function authenticated(ex: Exchange, then: () => void): void {
    const auth = authenticate(ex);
    if (auth === true) then();
    else if (auth !== false) void auth.then((ok) => ok && then());
  }

  function listModels(ex: Exchange): void {
    if (ex.req.method !== 'GET') return reject(ex, Errors.methodNotAllowed(ex.req.method ?? '', MODELS));
    authenticated(ex, () => {
      ex.out.json(200, ex.runtime.modelsFor(ex.identity!, deps.discovered ?? null));
      finish(ex);
    });
  }

  /** `GET /v1/models/{id}` (the SDKs' models.retrieve): the model if the caller may use it, else 404 as for any unknown one. */
  function retrieveModel(ex: Exchange, encoded: string): void {
    if (ex.req.method !== 'GET') return reject(ex, Errors.methodNotAllowed(ex.req.method ?? '', `${MODELS}/{model}`));
    authenticated(ex, () => retrieveAuthenticated(ex, encoded));
  }

  function retrieveAuthenticated(ex: Exchange, encoded: string): void {
    let model: string;
    try {
      model = decodeURIComponent(encoded);
    } catch {
      model = encoded;
    }
    const rt = ex.runtime.models.get(model);
    if (!rt) return reject(ex, Errors.modelNotFound(model));
    if (!ex.identity!.may(model)) return reject(ex, Errors.modelNotFound(model), 'model_not_allowed');
    ex.out.json(200, JSON.stringify({ id: model, object: 'model', created: 0, owned_by: 'jairouter' }));
    finish(ex);
  }

  async function route(ex: Exchange, operation: Operation, raw: Buffer): Promise<void> {
    if (nestedDeeperThan(raw, MAX_JSON_DEPTH)) return reject(ex, Errors.tooDeep(MAX_JSON_DEPTH));
    let body: unknown;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch (e) {
      return reject(ex, Errors.invalidJson((e as Error).message));
    }
    if (body === null || typeof body !== 'object' || Array.isArray(body)) return reject(ex, Errors.notAnObject());
    const b = body as Record<string, unknown>;
    const model = b.model;
    if (model === undefined || model === null || model === '') return reject(ex, Errors.missingModel());
    if (typeof model !== 'string') return reject(ex, Errors.modelNotString(Array.isArray(model) ? 'an array' : `a ${typeof model}`));
    if (Array.isArray(b.messages) && b.messages.length > MAX_MESSAGES) return reject(ex, Errors.tooMany('messages', b.messages.length, MAX_MESSAGES));
    if (Array.isArray(b.tools) && b.tools.length > MAX_TOOLS) return reject(ex, Errors.tooMany('tools', b.tools.length, MAX_TOOLS));
    if (b.stream !== undefined && b.stream !== null && typeof b.stream !== 'boolean') return reject(ex, Errors.badField('stream', 'stream must be a boolean'));
    if (operation !== 'chat' && operation !== 'completions' && operation !== 'embeddings') {
      const checked = operationRequest(operation, b, ex.identity!.tenant.id);
      if (checked !== null) {
        if ('error' in checked) return reject(ex, checked.error);
        raw = checked.raw;
        ex.pin = checked.origin;
      } else if (operation === 'responses') {
        const continued = await kept.continued(ex, b);
        if (continued === false) return;
        if (continued !== null) raw = continued;
      }
    }
    const so = b.stream_options as { include_usage?: unknown } | undefined;
    ex.client = {
      operation,
      raw,
      body: b,
      model,
      stream: streams(operation, b),
      clientWantsUsage: !!so && typeof so === 'object' && so.include_usage === true,
      requestId: ex.requestId,
    };
    return dispatch(ex, ex.client);
  }

  /** A multipart/form-data request (http/multipart.ts), routed by its model field. */
  async function formRoute(ex: Exchange, op: Operation, raw: Buffer, type: string): Promise<void> {
    const parts = await parseForm(raw, type);
    const client = 'status' in parts ? parts : formRequest(op, parts, raw, ex.requestId);
    if ('status' in client) return reject(ex, client);
    return dispatch(ex, (ex.client = client));
  }

  /** `POST /v1/messages` and `/v1/messages/count_tokens`: the Anthropic ingress (ingress/anthropic/). */
  async function anthropicRoute(ex: Exchange, path: string, raw: Buffer): Promise<void> {
    if (nestedDeeperThan(raw, MAX_JSON_DEPTH)) return reject(ex, Errors.tooDeep(MAX_JSON_DEPTH));
    if (path === COUNT_TOKENS) {
      const counted = countTokens(raw);
      if ('status' in counted) return reject(ex, counted);
      if (!routeFor(ex, counted.model)) return;
      ex.out.json(200, counted.answer);
      return finish(ex);
    }
    const client = messagesRequest(raw, ex.req.headers, ex.requestId);
    if ('status' in client) return reject(ex, client);
    ex.client = client;
    return dispatch(ex, client);
  }

  /** The route serving `model` for the caller, or null after answering 404. */
  function routeFor(ex: Exchange, model: string): RouteRuntime | null {
    const rt: RouteRuntime | undefined = ex.runtime.models.get(model);
    if (!rt) {
      reject(ex, Errors.modelNotFound(model));
      return null;
    }
    // A model the caller may not use answers exactly as one that does not exist; the log says why.
    if (!ex.identity!.may(model)) {
      const id = ex.identity!;
      ex.detail = `${model} is in neither spec.access.models of Tenant ${id.tenant.id} nor a spec.access.roles grant of ` +
        (id.roles.length ? `the caller's roles (${id.roles.join(', ')})` : 'the caller, which holds no role');
      reject(ex, Errors.modelNotFound(model), 'model_not_allowed');
      return null;
    }
    return rt;
  }

  /** The limits a request on `route` by `tenant` is held to: the route's and the tenant's, each once. */
  function limitsOf(route: RouteRuntime, tenant: TenantRuntime): readonly LimitRuntime[] {
    if (tenant.limits.length === 0) return route.limits;
    if (route.limits.length === 0) return tenant.limits;
    // Both: merged once per route and config version, then reused.
    let all = tenant.limitsWith.get(route);
    if (all === undefined) {
      all = [...route.limits];
      for (const l of tenant.limits) if (!all.includes(l)) all.push(l);
      tenant.limitsWith.set(route, all);
    }
    return all;
  }

  /** Whether a request on `rt` by the caller is held to any limit or budget (else the stage is skipped). */
  function limited(ex: Exchange, rt: RouteRuntime): boolean {
    const tenant = ex.identity!.tenant;
    return rt.limits.length > 0 || tenant.limits.length > 0 || tenant.ir.budget !== undefined;
  }

  /**
   * Admits the request on `rt` under its limits, or on the first route of its fallback.models
   * that the caller may use and whose limits admit it. Null after answering 429.
   */
  async function admitLimits(ex: Exchange, rt: RouteRuntime, client: ClientRequest): Promise<RouteRuntime | null> {
    const budget = ex.identity!.tenant.ir.budget;
    let rules = limitsOf(rt, ex.identity!.tenant);
    // The prompt is estimated once, for token rules and the budget alike.
    const asked = rules.some((l) => l.tokens) || budget !== undefined ? requestedTokens(client.operation, client.body, defaultMaxTokens) : null;
    const tokens = asked === null ? 0 : asked.prompt + asked.output;
    let first = await limits.admit(rules, keySource(ex, client.model), tokens);
    let route = rt;
    if (!first.ok) {
      const refused = first;
      for (const fm of rt.ir.fallbackModels) {
        const fr = ex.runtime.models.get(fm);
        if (!fr || fr === rt || !ex.identity!.may(fm)) continue;
        rules = limitsOf(fr, ex.identity!.tenant);
        const again = await limits.admit(rules, keySource(ex, fm), tokens);
        if (again.ok) {
          first = again;
          route = fr;
          break;
        }
      }
      if (!first.ok) {
        const d = refused.decision;
        const retryAfterS = Math.max(1, Math.ceil(d.retryAfterMs / 1000));
        const l = refused.limit.ir;
        const what = l.sourceKind === 'Tenant' ? `Tenant ${l.source} ${l.name.replace(':', ' ')}` : `RateLimitPolicy ${l.source} rule ${l.name}`;
        ex.detail = `limited by ${what}`;
        metrics.rateLimited.labels(l.id).inc();
        usage?.throttled(ex.identity!.tenant.id, l.id);
        const headers: Record<string, string> = { 'retry-after': String(retryAfterS) };
        rateLimitHeaders([{ limit: refused.limit, decision: d }], (k, v) => (headers[k] = v));
        const oversize = d.oversize ? { needs: tokens, limit: d.limit } : undefined;
        reject(ex, Errors.rateLimited(what, l.unit, retryAfterS, oversize), headers);
        return null;
      }
    }
    ex.taken = first.taken.length > 0 ? first.taken : null;
    if (budget !== undefined) {
      const b = await budgets.admit(ex.identity!.tenant.id, budget, microCost(asked!.prompt, asked!.output, route.maxPricing));
      if (!b.ok) {
        if (ex.taken) limits.undo(ex.taken);
        ex.taken = null;
        const retryAfterS = Math.max(1, Math.ceil(b.retryAfterMs / 1000));
        ex.detail = `budget of Tenant ${ex.identity!.tenant.id} spent for this ${b.period}`;
        metrics.rateLimited.labels(`${ex.identity!.tenant.id}/budget`).inc();
        usage?.throttled(ex.identity!.tenant.id, `${ex.identity!.tenant.id}/budget`);
        reject(ex, Errors.budgetExceeded(ex.identity!.tenant.id, b.period, retryAfterS), { 'retry-after': String(retryAfterS) });
        return null;
      }
      ex.budgetHold = b.hold;
    }
    rateLimitHeaders(first.taken, (k, v) => ex.out.setHeader(k, v));
    if (first.delayMs > 0) {
      // LeakyBucket: admitted, but not before its turn.
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, first.ok ? first.delayMs : 0);
        ex.signal.addEventListener('abort', () => {
          clearTimeout(t);
          resolve();
        }, { once: true });
      });
    }
    return route;
  }

  async function dispatch(ex: Exchange, client: ClientRequest): Promise<void> {
    const found = chooseRoute(ex, client.model);
    if (!found) return;
    if (ex.identity!.tenant.maskResponses !== null) {
      const field = unmaskableField(client.body);
      if (field !== null) {
        return reject(ex, Errors.badField(field, `${field}: token log probabilities would carry the answer's text unmasked, and tenant ${ex.identity!.tenant.id} masks responses (Tenant.spec.masking.responses); leave ${field} out`));
      }
    }
    if (maxInflight > 0) {
      const t = ex.identity!.tenant.id;
      const n = inflight.get(t) ?? 0;
      if (n >= maxInflight) {
        ex.detail = `${n} requests of the tenant in flight`;
        return reject(ex, Errors.tenantBusy(t, maxInflight), { 'retry-after': '1' });
      }
      inflight.set(t, n + 1);
      ex.holdsSlot = true;
    }
    // Only a request held to a limit or budget pays for the (asynchronous) admission.
    const rt = limited(ex, found) ? await admitOnLimits(ex, found, client) : found;
    if (!rt) return;
    const masker = ex.identity!.tenant.maskRequests;
    if (masker !== null) {
      ex.client = maskRequest(ex.client, masker, ex.masks);
      for (const rule in ex.masks) metrics.masks.labels(ex.identity!.tenant.id, rule, 'request').inc(ex.masks[rule]);
    }
    if (ex.signal.aborted) {
      // Left while queued (LeakyBucket): it never ran, so it is given back.
      if (ex.taken) limits.undo(ex.taken);
      if (ex.budgetHold) budgets.undo(ex.budgetHold);
      ex.taken = null;
      ex.budgetHold = null;
      return finish(ex);
    }
    ex.route = rt;
    if (logContent) ex.capture = new ContentCapture(ex.identity!.tenant.maskResponses !== null);
    ex.out.setHeader('x-jairouter-route', rt.id);
    ex.hashValue = hashValue(ex, rt, client.body);
    try {
      await forward(ex, rt, hooks);
    } catch (e) {
      log.error({ requestId: ex.requestId, err: (e as Error).message }, 'forward failed');
      ex.out.error(Errors.badGateway('internal error'), undefined, 'internal_error');
    }
    finish(ex);
  }
}
