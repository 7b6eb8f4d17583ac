// In-process harness: the proxy's own request path (ProxyServer, RuntimeSwap, handler,
// forward, attempts) in the test's process on port 0, fed a ProxyConfig compiled from the same
// YAML the binary reads. Faster than the binary and lets a test look at the runtime; the
// binary tests (harness.ts) stay the user's view.
import { compile, parseResourcesYaml } from '@jairouter/crds';
import OpenAI from 'openai';
import { ProxyServer } from '../src/proxy-server.ts';
import { RuntimeSwap } from '../src/runtime/swap.ts';
import { createAuditLog } from '../src/telemetry/audit.ts';
import { createLogging } from '../src/telemetry/logger.ts';
import { ProxyMetrics } from '../src/telemetry/metrics.ts';
import type { ProxyTracing } from '../src/telemetry/tracing.ts';
import type { LogLine } from './harness.ts';

export interface InProcessProxy {
  baseUrl: string;
  adminUrl: string;
  swap: RuntimeSwap;
  metrics: ProxyMetrics;
  /** Parsed log lines, in order. */
  logs: LogLine[];
  /** Compiles the YAML and swaps it in, as a file reload would; throws if an object is rejected. */
  apply(yaml: string): void;
  client(apiKey: string): OpenAI;
  post(path: string, apiKey: string, body: unknown, headers?: Record<string, string>): Promise<Response>;
  stop(): Promise<void>;
}

export interface InProcessOptions {
  corsOrigins?: string[];
  maxBodyBytes?: number;
  /** Audit records, parsed, as the proxy writes them (on: --audit-log). */
  audit?: Record<string, unknown>[];
  maxInflightPerTenant?: number;
  logContent?: boolean;
  /** Traces (telemetry/tracing.ts), e.g. createTracing() with an InMemorySpanExporter. */
  tracing?: ProxyTracing;
}

/** Compiles standalone YAML into the config the proxy serves; every object must be accepted. */
export function compileYaml(yaml: string) {
  const parsed = parseResourcesYaml(yaml, 'test.yaml');
  if (parsed.errors.length > 0) throw new Error(parsed.errors.join('\n'));
  const result = compile(parsed.resources);
  const rejected = result.statuses.flatMap((s) => s.conditions.filter((c) => c.status === 'False').map((c) => `${s.kind} ${s.name}: ${c.reason}: ${c.message}`));
  if (rejected.length > 0) throw new Error(rejected.join('\n'));
  return result.config;
}

/** A Sink that hands over whole lines. */
function lineSink(onLine: (line: string) => void) {
  let pending = '';
  return {
    write(s: string): boolean {
      pending += s;
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        onLine(pending.slice(0, nl));
        pending = pending.slice(nl + 1);
      }
      return true;
    },
    flush(cb?: (err?: Error) => void) {
      cb?.();
    },
    flushSync() {},
  };
}

export async function startInProcess(yaml: string, opts: InProcessOptions = {}): Promise<InProcessProxy> {
  const logs: LogLine[] = [];
  let pending = '';
  const sink = {
    write(s: string): boolean {
      pending += s;
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        logs.push(JSON.parse(pending.slice(0, nl)) as LogLine);
        pending = pending.slice(nl + 1);
      }
      return true;
    },
    flush(cb?: (err?: Error) => void) {
      cb?.();
    },
    flushSync() {},
  };
  const logging = createLogging('info', sink);
  const metrics = new ProxyMetrics();
  const swap = new RuntimeSwap(compileYaml(yaml), logging.log, undefined, { onScrape: (route, backend, ok) => metrics.capacity.scrapes.labels(route, backend, ok ? 'ok' : 'error').inc() });
  const server = new ProxyServer({
    swap,
    logging,
    metrics,
    maxBodyBytes: opts.maxBodyBytes ?? 32 * 1024 * 1024,
    requestReadTimeoutMs: 60_000,
    corsOrigins: opts.corsOrigins ?? [],
    configured: () => true,
    ...(opts.maxInflightPerTenant !== undefined && { maxInflightPerTenant: opts.maxInflightPerTenant }),
    ...(opts.logContent && { logContent: true }),
    ...(opts.tracing && { tracing: opts.tracing }),
    ...(opts.audit && { audit: createAuditLog('memory', lineSink((line) => opts.audit!.push(JSON.parse(line) as Record<string, unknown>))) }),
  });
  const urls = await server.listen({ host: '127.0.0.1', port: 0 }, { host: '127.0.0.1', port: 0 });
  return {
    baseUrl: urls.api,
    adminUrl: urls.admin,
    swap,
    metrics,
    logs,
    apply: (y) => void swap.apply(compileYaml(y)),
    client: (apiKey) => new OpenAI({ baseURL: `${urls.api}/v1`, apiKey, maxRetries: 0, timeout: 15_000 }),
    post: (path, apiKey, body, headers = {}) =>
      fetch(urls.api + path, {
        method: 'POST',
        headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json', ...headers },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      }),
    stop: () => server.drain(0),
  };
}
