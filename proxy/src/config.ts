import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { parseDuration } from '@jairouter/crds/duration';
import { DEFAULT_MAX_CONNECTIONS } from './upstream/pools.ts';

/** Subscribe to the operator's snapshot stream instead of compiling files (docs/distribution.md). */
export interface OperatorOptions {
  /** https://HOST:PORT of the operator's snapshot stream. */
  url: string;
  caFile: string;
  tokenFile: string;
  snapshotFile?: string;
  /** Pod name the proxy reports as. */
  proxyName: string;
}

/** Everything the proxy reads from its command line and environment, read once here. */
export interface ProxyOptions {
  /** Empty when `operator` is set. */
  configPaths: string[];
  operator?: OperatorOptions;
  listen: { host: string; port: number };
  adminListen: { host: string; port: number };
  maxBodyBytes: number;
  drainTimeoutMs: number;
  /** After SIGTERM, how long /readyz answers 503 while the listener still serves, before the drain. */
  shutdownDelayMs: number;
  /** The most connections open to one upstream origin; null = no cap. */
  upstreamMaxConnections: number | null;
  /** Node's requestTimeout: the whole request (headers and body) must arrive within it. */
  requestReadTimeoutMs: number;
  /** Origins browsers may call the API from (`*` = any); empty = CORS off. */
  corsOrigins: string[];
  logLevel: string;
  /** Redis for scope: Cluster limits and quotas (redis://, rediss://, with user:password@); undefined = none. */
  redisUrl?: string;
  /** Output tokens a token limit reserves for a request that names no max_tokens. */
  defaultMaxTokens: number;
  /** Where the audit trail goes: a file path, `stdout` or `stderr`; undefined = none. */
  auditLog?: string;
  /** Requests one tenant may have in flight; 0 = no cap. */
  maxInflightPerTenant: number;
  /** Log each forwarded request's prompt and answer text, masked (a debugging aid; off by default). */
  logContent: boolean;
  /** How long a Responses API answer served through chat is kept (previous_response_id, GET). */
  responseStoreTtlMs: number;
  /** The most this replica keeps of them in memory; 0 = none kept. */
  responseStoreMaxBytes: number;
}

export class UsageError extends Error {}

const USAGE = `Usage: jairouter-proxy --config <file-or-dir> [--config ...] [options]
       jairouter-proxy --operator https://HOST:PORT --operator-ca FILE --token-file FILE [options]

  --config PATH          YAML file or directory of *.yaml/*.yml files holding ModelRoute,
                         Tenant, RateLimitPolicy and v1 Secret objects (repeatable; watched)
  --operator URL         subscribe to the operator's snapshot stream instead of reading files
  --operator-ca FILE     CA bundle (PEM) the operator's certificate must chain to (re-read on
                         each connect; the ca.crt of ConfigMap jairouter-ca)
  --token-file FILE      ServiceAccount token sent to the operator, projected with audience
                         jairouter-operator (re-read on each connect: tokens rotate)
  --snapshot-file FILE   last snapshot written by the operator (the mounted jairouter-snapshot
                         Secret): served at start when the operator cannot be reached
  --proxy-name NAME      name reported to the operator (default env POD_NAME, else hostname)
  --listen HOST:PORT     API listener (default 0.0.0.0:8080)
  --admin-listen H:P     /healthz, /readyz, /metrics (default 0.0.0.0:9090)
  --max-body-size N      request body limit in bytes, or with KiB/MiB suffix (default 32MiB)
  --drain-timeout D      how long SIGTERM waits for in-flight requests (default 30s)
  --shutdown-delay D     after SIGTERM, keep serving this long with /readyz at 503 (answers say
                         Connection: close) before closing the listener, so a balancer that
                         polls /readyz stops sending first (default 0s; Kubernetes needs none:
                         the chart's preStop sleep does this)
  --upstream-max-connections N
                         connections open at once to one backend origin; requests beyond wait
                         for one (default ${DEFAULT_MAX_CONNECTIONS}; 0: no cap)
  --request-read-timeout D
                         how long a client may take to send its whole request, headers and
                         body (default 5m; the response, streams included, is not limited)
  --cors-allow-origin O  let browser pages from origin O (https://app.example.com, or * for any)
                         call the API: answers CORS preflights and adds the CORS headers;
                         repeatable (default: off, OPTIONS gets 405)
  --redis-url URL        Redis holding the counters of scope: Cluster limits and tenant quotas,
                         shared by every replica (redis://[user:password@]host:6379[/db], or
                         rediss:// for TLS; env JAIROUTER_REDIS_URL). Without it, or while it
                         is unreachable, each replica enforces its share: the limit divided by
                         the number of replicas
  --default-max-tokens N output tokens a token limit reserves for a request that names no
                         max_tokens, until its real usage settles it (default 1024)
  --max-inflight-per-tenant N
                         requests one tenant may have in flight on this replica; beyond it
                         503 with Retry-After (default 0: no cap)
  --audit-log TARGET     one JSON audit record per request (docs/audit.md) to a file (appended),
                         stdout or stderr (default: none)
  --log-level LEVEL      trace | debug | info | warn | error (default info; env LOG_LEVEL)
  --log-content          debugging: one more log line per request with its prompt and answer
                         text, masked (the tenant's rules, else every built-in detector), at
                         most 4,096 characters each (default off; env JAIROUTER_LOG_CONTENT=true)
  --response-store-ttl D how long the gateway keeps a Responses API answer it served through
                         chat completions, for previous_response_id, GET and input_items
                         (default 1h; in Redis too with --redis-url, else in this replica)
  --response-store-max-bytes N
                         memory this replica gives to kept responses, the least recently used
                         dropped first (default 64MiB; 0: none in memory, so kept in Redis
                         only with --redis-url, else not kept at all: answered store: false)
  -h, --help             this text

Traces (OpenTelemetry, OTLP/HTTP protobuf; docs/observability.md) are configured by the standard
environment: OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (off without one),
OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG (default parentbased_always_on), OTEL_SERVICE_NAME
(default jairouter-proxy), OTEL_RESOURCE_ATTRIBUTES, OTEL_SDK_DISABLED, OTEL_TRACES_EXPORTER=none`;

export function parseHostPort(flag: string, v: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(v);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new UsageError(`${flag}: expected HOST:PORT, got ${JSON.stringify(v)}`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}

export function parseSize(flag: string, v: string): number {
  const m = /^(\d+)\s*(|b|kib|k|mib|m|gib|g)$/i.exec(v.trim());
  if (!m) throw new UsageError(`${flag}: expected a byte count like 1048576 or 32MiB, got ${JSON.stringify(v)}`);
  const unit = (m[2] ?? '').toLowerCase();
  const mult = unit.startsWith('k') ? 1024 : unit.startsWith('m') ? 1024 ** 2 : unit.startsWith('g') ? 1024 ** 3 : 1;
  return Number(m[1]) * mult;
}

export function parseOptions(argv: string[], env: NodeJS.ProcessEnv): ProxyOptions | 'help' {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        config: { type: 'string', multiple: true },
        operator: { type: 'string' },
        'operator-ca': { type: 'string' },
        'token-file': { type: 'string' },
        'snapshot-file': { type: 'string' },
        'proxy-name': { type: 'string' },
        listen: { type: 'string' },
        'admin-listen': { type: 'string' },
        'max-body-size': { type: 'string' },
        'drain-timeout': { type: 'string' },
        'shutdown-delay': { type: 'string' },
        'upstream-max-connections': { type: 'string' },
        'request-read-timeout': { type: 'string' },
        'cors-allow-origin': { type: 'string', multiple: true },
        'log-level': { type: 'string' },
        'redis-url': { type: 'string' },
        'default-max-tokens': { type: 'string' },
        'audit-log': { type: 'string' },
        'max-inflight-per-tenant': { type: 'string' },
        'log-content': { type: 'boolean' },
        'response-store-ttl': { type: 'string' },
        'response-store-max-bytes': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    throw new UsageError(`${(e as Error).message}\n\n${USAGE}`);
  }
  if (values.help) return 'help';
  const operator = parseOperator(values, env);
  if (operator && values.config?.length) throw new UsageError('--config and --operator exclude each other: the config comes from files or from the operator');
  if (!operator && !values.config?.length) throw new UsageError(`--config is required\n\n${USAGE}`);
  const drainTimeoutMs = durationFlag('drain-timeout', values['drain-timeout'], '30s');
  const shutdownDelayMs = durationFlag('shutdown-delay', values['shutdown-delay'], '0s');
  const upstreamMaxConnections = wholeNumber('--upstream-max-connections', values['upstream-max-connections'] ?? String(DEFAULT_MAX_CONNECTIONS));
  const requestReadTimeoutMs = durationFlag('request-read-timeout', values['request-read-timeout'], '5m', '60s');
  if (requestReadTimeoutMs < 1000) throw new UsageError('--request-read-timeout: at least 1s');
  const responseStoreTtlMs = durationFlag('response-store-ttl', values['response-store-ttl'], '1h');
  if (responseStoreTtlMs < 1000) throw new UsageError('--response-store-ttl: at least 1s');
  const corsOrigins = values['cors-allow-origin'] ?? [];
  for (const o of corsOrigins) {
    if (o !== '*' && !/^https?:\/\/[^/\s]+$/.test(o.replace(/\/+$/, ''))) {
      throw new UsageError(`--cors-allow-origin: expected an origin like https://app.example.com (scheme, host, optional port) or *, got ${JSON.stringify(o)}`);
    }
  }
  const logLevel = values['log-level'] ?? env.LOG_LEVEL ?? 'info';
  if (!['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'].includes(logLevel)) {
    throw new UsageError(`--log-level: unknown level ${JSON.stringify(logLevel)}`);
  }
  const redisUrl = values['redis-url'] ?? (env.JAIROUTER_REDIS_URL || undefined);
  if (redisUrl !== undefined) {
    let u: URL | undefined;
    try {
      u = new URL(redisUrl);
    } catch {
      u = undefined;
    }
    // The URL may hold a password: never echo it.
    if (!u || (u.protocol !== 'redis:' && u.protocol !== 'rediss:') || !u.hostname) {
      throw new UsageError('--redis-url: expected redis://[user:password@]host[:port][/db] or rediss://... (value not shown: it may hold a password)');
    }
  }
  const dmt = values['default-max-tokens'] ?? '1024';
  if (!/^\d+$/.test(dmt) || Number(dmt) < 1) throw new UsageError(`--default-max-tokens: expected a whole number of tokens, at least 1, got ${JSON.stringify(dmt)}`);
  return {
    configPaths: values.config ?? [],
    ...(redisUrl !== undefined && { redisUrl }),
    defaultMaxTokens: Number(dmt),
    maxInflightPerTenant: wholeNumber('--max-inflight-per-tenant', values['max-inflight-per-tenant'] ?? '0'),
    logContent: values['log-content'] === true || env.JAIROUTER_LOG_CONTENT === 'true',
    ...(values['audit-log'] !== undefined && { auditLog: nonEmpty('--audit-log', values['audit-log']) }),
    ...(operator && { operator }),
    listen: parseHostPort('--listen', values.listen ?? '0.0.0.0:8080'),
    adminListen: parseHostPort('--admin-listen', values['admin-listen'] ?? '0.0.0.0:9090'),
    maxBodyBytes: parseSize('--max-body-size', values['max-body-size'] ?? '32MiB'),
    drainTimeoutMs,
    shutdownDelayMs,
    upstreamMaxConnections: upstreamMaxConnections === 0 ? null : upstreamMaxConnections,
    requestReadTimeoutMs,
    responseStoreTtlMs,
    responseStoreMaxBytes: parseSize('--response-store-max-bytes', values['response-store-max-bytes'] ?? '64MiB'),
    corsOrigins,
    logLevel,
  };
}

function parseOperator(values: Record<string, string | boolean | string[] | undefined>, env: NodeJS.ProcessEnv): OperatorOptions | undefined {
  const str = (k: string) => (typeof values[k] === 'string' ? (values[k] as string) : undefined);
  const url = str('operator');
  if (url === undefined) {
    for (const k of ['operator-ca', 'token-file', 'snapshot-file', 'proxy-name']) {
      if (str(k) !== undefined) throw new UsageError(`--${k} needs --operator`);
    }
    return undefined;
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`--operator: expected https://HOST:PORT, got ${JSON.stringify(url)}`);
  }
  if (parsed.protocol !== 'https:') throw new UsageError(`--operator: the snapshot stream carries credentials, so it must be https://, got ${JSON.stringify(url)}`);
  const caFile = str('operator-ca');
  if (!caFile) throw new UsageError('--operator needs --operator-ca FILE (the ca.crt of ConfigMap jairouter-ca)');
  const tokenFile = str('token-file');
  if (!tokenFile) throw new UsageError('--operator needs --token-file FILE (a projected ServiceAccount token with audience jairouter-operator)');
  const proxyName = str('proxy-name') ?? env.POD_NAME ?? hostname();
  const snapshotFile = str('snapshot-file');
  return {
    url: parsed.origin,
    caFile,
    tokenFile,
    ...(snapshotFile !== undefined && { snapshotFile }),
    proxyName,
  };
}

/** A duration flag's value in ms (`fallback` when unset); a usage error, with an example, when it is none. */
function durationFlag(flag: string, v: string | undefined, fallback: string, example = fallback): number {
  try {
    return parseDuration(v ?? fallback);
  } catch {
    throw new UsageError(`--${flag}: expected a duration like ${example}, got ${JSON.stringify(v)}`);
  }
}

function wholeNumber(flag: string, v: string): number {
  if (!/^\d+$/.test(v)) throw new UsageError(`${flag}: expected a whole number, got ${JSON.stringify(v)}`);
  return Number(v);
}

function nonEmpty(flag: string, v: string): string {
  if (v.trim() === '') throw new UsageError(`${flag}: expected a file path, stdout or stderr`);
  return v;
}

export { USAGE };
