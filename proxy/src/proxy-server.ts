import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { createAdminServer } from './http/admin.ts';
import { CorsPolicy } from './http/cors.ts';
import { clientErrorResponse, readTimedOut } from './http/errors.ts';
import { createHandler } from './http/server.ts';
import type { Budgets } from './limits/budget.ts';
import type { Limits } from './limits/engine.ts';
import type { UsageMeter } from './limits/usage.ts';
import type { AuditLog } from './telemetry/audit.ts';
import type { RuntimeSwap } from './runtime/swap.ts';
import type { Logging } from './telemetry/logger.ts';
import type { ProxyMetrics } from './telemetry/metrics.ts';
import type { ProxyTracing } from './telemetry/tracing.ts';
import type { ResponseStore } from './responses/store.ts';

export interface ProxyServerOptions {
  swap: RuntimeSwap;
  logging: Logging;
  metrics: ProxyMetrics;
  maxBodyBytes: number;
  /** node:http's requestTimeout: the whole request (headers and body) must arrive within it. */
  requestReadTimeoutMs: number;
  /** Origins allowed for browser clients (`*` for any); empty = CORS off. */
  corsOrigins: readonly string[];
  /** Whether there is a config to serve (false while a cluster proxy waits for its first snapshot). */
  configured(): boolean;
  /** Rate limits and quotas (default: local counters only, one replica). */
  limits?: Limits;
  /** Tenant budgets (default: local counters only, one replica). */
  budgets?: Budgets;
  /** Counts tenants' consumption for the operator (operator mode). */
  usage?: UsageMeter;
  /** The audit trail (--audit-log). */
  audit?: AuditLog;
  /** Requests one tenant may have in flight (0: no cap). */
  maxInflightPerTenant?: number;
  /** `--log-content`: prompt and answer text in the log, masked. */
  logContent?: boolean;
  /** Output tokens a token limit reserves when a request names no max_tokens (default 1024). */
  defaultMaxTokens?: number;
  /** One trace per request (telemetry/tracing.ts); absent = off. */
  tracing?: ProxyTracing | null;
  /** Where Responses API answers served through chat are kept (default: memory, 1 h, 64 MiB); null = not kept. */
  responses?: ResponseStore | null;
  /** Closed after the drain (the Redis connection of Cluster limits). */
  onClose?(): Promise<void>;
}

/**
 * The API and admin listeners around one RuntimeSwap: what `jairouter-proxy` runs, and what
 * in-process tests start on port 0. Knows nothing of where configs come from.
 */
export class ProxyServer {
  readonly api: Server;
  readonly admin: Server;
  private draining = false;
  private readonly opts: ProxyServerOptions;

  constructor(opts: ProxyServerOptions) {
    this.opts = opts;
    const { swap, metrics } = opts;
    metrics.endpoints = () => swap.endpoints();
    metrics.capacity.rows = () => swap.capacity();
    metrics.config = () => (opts.configured() ? { version: swap.current.config.version, appliedAt: swap.current.appliedAt } : null);
    const handler = createHandler({
      current: () => swap.current,
      draining: () => this.draining,
      maxBodyBytes: opts.maxBodyBytes,
      cors: opts.corsOrigins.length > 0 ? new CorsPolicy(opts.corsOrigins) : null,
      discovered: swap.discovery,
      logging: opts.logging,
      metrics,
      limits: opts.limits ?? null,
      budgets: opts.budgets ?? null,
      usage: opts.usage ?? null,
      audit: opts.audit ?? null,
      maxInflightPerTenant: opts.maxInflightPerTenant ?? 0,
      logContent: opts.logContent ?? false,
      tracing: opts.tracing ?? null,
      ...(opts.responses !== undefined && { responses: opts.responses }),
      ...(opts.defaultMaxTokens !== undefined && { defaultMaxTokens: opts.defaultMaxTokens }),
    });
    const t = opts.requestReadTimeoutMs;
    this.api = createServer(
      {
        keepAliveTimeout: 65_000,
        requestTimeout: t,
        headersTimeout: Math.min(60_000, t),
        // How often node:http looks for requests past those limits (its default is 30 s).
        connectionsCheckingInterval: Math.min(30_000, Math.max(250, t / 10)),
      },
      handler,
    );
    this.api.on('clientError', (err: Error & { code?: string }, socket: Duplex & { _httpMessage?: { headersSent?: boolean } | null }) => {
      // A peer that reset the connection, a closed socket, or one whose response has begun (a raw
      // status line would land inside it; node's own handler checks the same) gets nothing more.
      if (err.code === 'ECONNRESET' || !socket.writable || socket._httpMessage?.headersSent) return void socket.destroy();
      if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') readTimedOut.add(socket);
      socket.end(clientErrorResponse(err));
    });
    this.admin = createAdminServer({
      metrics,
      ready: () => ({ ready: !this.draining && opts.configured(), configVersion: swap.current.config.version }),
    });
  }

  get isDraining(): boolean {
    return this.draining;
  }

  async listen(api: { host: string; port: number }, admin: { host: string; port: number }): Promise<{ api: string; admin: string }> {
    await Promise.all([listenOn(this.api, api), listenOn(this.admin, admin)]);
    return { api: urlOf(this.api), admin: urlOf(this.admin) };
  }

  /**
   * Not ready from now on (/readyz 503, answers carry Connection: close); after `delayMs` with
   * the listener still serving (so a balancer polling /readyz stops sending here first), stops
   * taking connections, lets the requests in flight (streams included) finish for up to
   * `timeoutMs`, then closes every connection and the upstream pools.
   */
  async drain(timeoutMs: number, delayMs = 0): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
    this.opts.swap.stopChecks();
    this.api.close();
    const deadline = Date.now() + timeoutMs;
    // Connections finishing their last response become idle: close them as they do.
    while (Date.now() < deadline) {
      this.api.closeIdleConnections();
      if (this.opts.metrics.inflightCount === 0) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    this.api.closeAllConnections();
    this.admin.close();
    this.admin.closeAllConnections();
    await this.opts.swap.close();
    await this.opts.onClose?.();
  }
}

function listenOn(s: Server, a: { host: string; port: number }): Promise<void> {
  return new Promise((resolve, reject) => {
    s.once('error', reject);
    s.listen(a.port, a.host, () => {
      s.off('error', reject);
      resolve();
    });
  });
}

function urlOf(s: Server): string {
  const a = s.address() as AddressInfo;
  const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
  return `http://${host}:${a.port}`;
}
