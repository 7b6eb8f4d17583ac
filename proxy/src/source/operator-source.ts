import { readFile } from 'node:fs/promises';
import type { ProxyConfig } from '@jairouter/crds';
import {
  checkSnapshotConfig, HEARTBEAT_INTERVAL_MS, PROXY_HEADER, SCHEMA_VERSION, SERVED_PATH, SNAPSHOTS_PATH, USAGE_PATH, USAGE_REPORT_INTERVAL_MS,
} from '@jairouter/crds/snapshot-wire';
import { Agent, request } from 'undici';
import type { Logger } from '../telemetry/logger.ts';
import type { ApplyConfig, ConfigSource } from './types.ts';

export interface OperatorSourceOptions {
  /** https://HOST:PORT */
  url: string;
  caFile: string;
  tokenFile: string;
  snapshotFile?: string;
  proxyName: string;
  log: Logger;
  /** How long start() waits for a first config when the snapshot file gives none (default 10 s). */
  firstConfigTimeoutMs?: number;
  /** Reconnect backoff: base and cap (default 500 ms .. 30 s), with jitter. */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** No byte for this long on the stream means it is dead (default 3 heartbeats). */
  idleTimeoutMs?: number;
}

/** Served until the first snapshot arrives: no routes, no tenants (every request 401), not ready. */
const NOTHING: ProxyConfig = { schemaVersion: SCHEMA_VERSION, routes: [], tenants: [], limits: [], version: '' };

/**
 * Cluster mode: snapshots pushed by the operator over its HTTPS stream (protocol in
 * crds/src/snapshot-protocol.ts). At start the mounted snapshot Secret (`snapshotFile`) is
 * served at once if it holds a good config, so a proxy starts while the operator is down
 * (static stability); then the stream resumes from the version held. Each snapshot is checked
 * without zod (shape + content hash, see snapshot-wire.ts); a bad one is logged and the last
 * good config stays. The token and the CA are re-read on every connect: projected tokens and
 * the CA ConfigMap change under a running pod.
 */
export class OperatorSource implements ConfigSource {
  private readonly o: OperatorSourceOptions;
  private readonly log: Logger;
  /**
   * Proxies running, as the operator's heartbeat says: Cluster limits are split by it while
   * Redis is unavailable. Kept when the operator is unreachable (the last count is the best one).
   */
  replicas = 1;
  private held: ProxyConfig | null = null;
  private apply: ApplyConfig | null = null;
  /** The version being applied (built asynchronously), not yet served. */
  private applying: string | null = null;
  private firstWaiter: ((c: ProxyConfig) => void) | null = null;
  /** Between handing the first config to start()'s caller and the caller having built it. */
  private settling = false;
  private stopped = false;
  private readonly abort = new AbortController();
  /** Aborts only the current stream, to reopen it at once (see report()). */
  private streamAbort: AbortController | null = null;
  private reopenNow = false;
  private agent: Agent | null = null;
  private token = '';

  constructor(opts: OperatorSourceOptions) {
    this.o = opts;
    this.log = opts.log;
  }

  /** True once a real config (from the file or the operator) is served: drives /readyz. */
  hasConfig(): boolean {
    return this.held !== null;
  }

  async start(apply: ApplyConfig): Promise<ProxyConfig> {
    this.apply = apply;
    const fromFile = await this.readSnapshotFile();
    if (fromFile) this.held = fromFile;
    const first = fromFile
      ? Promise.resolve(fromFile)
      : new Promise<ProxyConfig>((resolve) => {
          const timer = setTimeout(() => {
            this.firstWaiter = null;
            this.log.warn({ operator: this.o.url, waitedMs: this.o.firstConfigTimeoutMs ?? 10_000 }, 'no config from the snapshot file or the operator yet: serving nothing and not ready; still trying');
            resolve(NOTHING);
          }, this.o.firstConfigTimeoutMs ?? 10_000);
          this.firstWaiter = (c) => {
            clearTimeout(timer);
            this.firstWaiter = null;
            resolve(c);
          };
        });
    void this.run();
    return first;
  }

  /**
   * Reports what `read()` gives (the UsageReport without the proxy name) every
   * USAGE_REPORT_INTERVAL_MS, to any operator replica. A lost report is replaced by the next.
   */
  reportUsage(read: () => Record<string, unknown>, intervalMs = USAGE_REPORT_INTERVAL_MS): void {
    const timer = setInterval(() => {
      if (this.stopped) return clearInterval(timer);
      if (!this.agent) return;
      this.post(USAGE_PATH, { proxy: this.o.proxyName, ...read() }).then(
        async (r) => {
          await r.body.dump();
          if (r.statusCode !== 204) throw new Error(`operator answered ${r.statusCode}`);
        },
      ).catch((e: Error) => {
        if (!this.stopped) this.log.debug({ err: e.message }, 'cannot report usage; the next report replaces it');
      });
    }, intervalMs);
    timer.unref();
  }

  stop(): void {
    this.stopped = true;
    this.abort.abort();
    void this.agent?.close().catch(() => {});
  }

  private async readSnapshotFile(): Promise<ProxyConfig | null> {
    const file = this.o.snapshotFile;
    if (!file) return null;
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (e) {
      this.log.info({ file, err: (e as NodeJS.ErrnoException).code ?? (e as Error).message }, 'no snapshot file to start from');
      return null;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      this.log.error({ file }, 'snapshot file is not JSON: ignored');
      return null;
    }
    const check = checkSnapshotConfig(parsed);
    if (!check.ok) {
      this.log.error({ file, reason: check.reason }, 'snapshot file refused');
      return null;
    }
    this.log.info({ file, version: check.config.version }, 'serving the snapshot file until the operator answers');
    return check.config;
  }

  /** Connects, reads the stream until it ends, and reconnects with capped exponential backoff and jitter. */
  private async run(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      let healthy = false;
      try {
        healthy = await this.streamOnce();
        if (!this.stopped && !this.reopenNow) this.log.warn({ operator: this.o.url }, 'operator stream ended');
      } catch (e) {
        if (this.stopped) break;
        if (!this.reopenNow) this.log.warn({ operator: this.o.url, err: (e as Error).message, failures: failures + 1 }, 'cannot stream from the operator');
      }
      if (this.stopped) break;
      if (this.reopenNow) {
        this.reopenNow = false;
        continue;
      }
      failures = healthy ? 0 : failures + 1;
      const base = this.o.backoffBaseMs ?? 500;
      const cap = this.o.backoffMaxMs ?? 30_000;
      const delay = Math.min(cap, base * 2 ** Math.min(failures, 16)) * (0.5 + Math.random() / 2);
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(t);
          resolve();
        };
        // Removed again when the timer fires: a long outage must not pile up abort listeners.
        const t = setTimeout(() => {
          this.abort.signal.removeEventListener('abort', wake);
          resolve();
        }, delay);
        this.abort.signal.addEventListener('abort', wake, { once: true });
      });
    }
  }

  /** One connection; resolves when it ends. True when the operator sent at least one line (backoff restarts). */
  private async streamOnce(): Promise<boolean> {
    const [ca, token] = await Promise.all([readFile(this.o.caFile, 'utf8'), readFile(this.o.tokenFile, 'utf8')]);
    this.token = token.trim();
    const old = this.agent;
    const idle = this.o.idleTimeoutMs ?? 3 * HEARTBEAT_INTERVAL_MS;
    this.agent = new Agent({ connect: { ca, timeout: 10_000 }, headersTimeout: idle, bodyTimeout: idle });
    void old?.close().catch(() => {});
    const have = this.held?.version ?? '';
    const streamAbort = new AbortController();
    this.streamAbort = streamAbort;
    const res = await request(`${this.o.url}${SNAPSHOTS_PATH}?have=${encodeURIComponent(have)}`, {
      dispatcher: this.agent,
      headers: { authorization: `Bearer ${this.token}`, [PROXY_HEADER]: this.o.proxyName },
      signal: AbortSignal.any([this.abort.signal, streamAbort.signal]),
    });
    if (res.statusCode !== 200) {
      const text = await res.body.text().catch(() => '');
      let message = text.slice(0, 500);
      try {
        message = (JSON.parse(text) as { message?: string }).message ?? message;
      } catch {
        // not JSON: keep the text
      }
      throw new Error(`operator answered ${res.statusCode}: ${message}`);
    }
    this.log.info({ operator: this.o.url, have: have || null }, 'subscribed to the operator');
    let buf = '';
    let lines = 0;
    for await (const chunk of res.body) {
      buf += chunk.toString('utf8');
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        lines++;
        if (line.trim()) this.onLine(line);
      }
    }
    return lines > 0;
  }

  private onLine(line: string): void {
    let msg: { type?: unknown; config?: unknown; proxies?: unknown };
    try {
      msg = JSON.parse(line) as typeof msg;
    } catch {
      this.log.error('operator sent a line that is not JSON: ignored');
      return;
    }
    if (msg.type === 'heartbeat') {
      if (typeof msg.proxies === 'number' && Number.isSafeInteger(msg.proxies) && msg.proxies >= 1) this.replicas = msg.proxies;
      return;
    }
    if (msg.type !== 'snapshot') return; // types from later versions
    if (this.settling) {
      setImmediate(() => this.onLine(line));
      return;
    }
    const check = checkSnapshotConfig(msg.config);
    if (!check.ok) {
      this.log.error({ reason: check.reason, serving: this.held?.version ?? null }, 'snapshot refused: keeping the last good config');
      return;
    }
    const config = check.config;
    if (config.version === this.held?.version) return;
    if (this.firstWaiter) {
      this.held = config;
      this.settling = true;
      this.firstWaiter(config);
      // start() resolves now and its caller builds the config; report once that has run.
      setImmediate(() => {
        this.settling = false;
        this.report(config.version);
      });
      return;
    }
    if (config.version === this.applying) return;
    // Held and reported as served once it is: the build may take a few turns of the loop.
    this.applying = config.version;
    Promise.resolve()
      .then(() => this.apply?.(config))
      .then(
        () => {
          this.held = config;
          this.report(config.version);
        },
        (e: unknown) => this.log.error({ version: config.version, err: (e as Error).message }, 'snapshot could not be applied: keeping the last good config'),
      )
      .finally(() => {
        if (this.applying === config.version) this.applying = null;
      });
  }

  /** Tells the operator which version is served; one retry, then the next stream's `have` says it. */
  /** An authenticated POST of `body` to the operator (the agent, token and proxy name of the stream). */
  private post(path: string, body: object) {
    return request(`${this.o.url}${path}`, {
      method: 'POST',
      dispatcher: this.agent!,
      headers: { authorization: `Bearer ${this.token}`, [PROXY_HEADER]: this.o.proxyName, 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: this.abort.signal,
    });
  }

  private report(version: string, retry = true): void {
    if (this.stopped || !this.agent) return;
    this.post(SERVED_PATH, { proxy: this.o.proxyName, version }).then(
      async (r) => {
        await r.body.dump();
        if (r.statusCode === 409 && this.held?.version === version) {
          // The report reached a replica without our stream (a Service spreads connections):
          // reopen the stream with have=<version>, which counts as the report where it lands.
          this.reopenNow = true;
          this.streamAbort?.abort(new Error('reopening the stream to report the served version'));
          return;
        }
        if (r.statusCode !== 204) throw new Error(`operator answered ${r.statusCode}`);
      },
    ).catch((e: Error) => {
      if (this.stopped) return;
      this.log.warn({ err: e.message, version }, 'cannot report the served version');
      if (retry) setTimeout(() => this.report(version, false), 1000).unref();
    });
  }
}
