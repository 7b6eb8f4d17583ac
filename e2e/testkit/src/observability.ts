// A real Prometheus (and promtool) and a real Jaeger for tests (@jairouter/testkit/observability),
// built from their Go modules by e2e/testkit/scripts/build-k8s-binaries.sh into the same cache as
// the control plane's binaries (missing ones are built on first use: minutes, once per machine).
// Each server runs in a temp dir of its own on free loopback ports, is SIGKILLed when the test
// process exits, and stop() removes its dir.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { stringify } from 'yaml';
import { e2eConfig } from './config.ts';
import {
  ensureObservabilityBinaries,
  missingBinaries,
  observabilityBinaries,
  type ObservabilityBinaries,
} from './control-plane/binaries.ts';
import { runCommand, type CommandResult } from './control-plane/kube.ts';
import { freePort } from './control-plane/ports.ts';

export { ensureObservabilityBinaries, observabilityBinaries, type ObservabilityBinaries, type ObservabilityVersions } from './control-plane/binaries.ts';

const config = e2eConfig();

function goOnPath(): boolean {
  try {
    execFileSync('go', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const missing = missingBinaries(observabilityBinaries(config.cacheDir)).length > 0;

/** For describe.skipIf(skipObservability): the binaries are missing and may not (JAIROUTER_SKIP_K8S=1)
 * or cannot (no Go on PATH) be built. When they are there, the tests run whatever the env says. */
export const skipObservability = missing && (config.skipK8s || !goOnPath());

/** A hook timeout that leaves room for building the binaries when they are missing. */
export function observabilitySetupTimeoutMs(): number {
  return missingBinaries(observabilityBinaries(config.cacheDir)).length > 0 ? 60 * 60_000 : 60_000;
}

/** The binaries, built first when missing (by default from the cache e2eConfig() names). */
export function observabilityReady(cacheDir: string = config.cacheDir): Promise<ObservabilityBinaries> {
  return ensureObservabilityBinaries({ cacheDir });
}

// ---------------------------------------------------------------------------------------------
// Processes

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of running) c.kill('SIGKILL');
});

class PortTakenError extends Error {}

interface Server {
  child: ChildProcess;
  log: string;
  exited: () => boolean;
  stop: () => Promise<void>;
}

function launch(binary: string, args: string[], dir: string, name: string): Promise<Server> {
  const log = join(dir, `${name}.log`);
  const fd = openSync(log, 'a');
  const child = spawn(binary, args, { cwd: dir, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  running.add(child);
  let exited = false;
  const exit = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      running.delete(child);
      resolve();
    }),
  );
  const stop = async (): Promise<void> => {
    if (exited) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exit;
    clearTimeout(timer);
  };
  return new Promise((resolve, reject) => {
    child.once('spawn', () => resolve({ child, log, exited: () => exited, stop }));
    child.once('error', reject);
  });
}

function logTail(file: string, lines = 30): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Polls `ready` until it holds; fails at once when the server exited (PortTakenError when it
 * could not listen, so the caller retries on other ports). */
async function waitReady(what: string, server: Server, ready: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let delay = 50; ; delay = Math.min(delay * 2, 500)) {
    if (server.exited()) {
      const tail = logTail(server.log);
      const inUse = tail.split('\n').find((l) => /address already in use/i.test(l));
      if (inUse) throw new PortTakenError(`${what} could not listen: ${inUse.trim().slice(-200)}`);
      throw new Error(`${what} exited while starting; the end of ${server.log}:\n${tail}`);
    }
    if (await ready().catch(() => false)) return;
    if (Date.now() > deadline) {
      await server.stop();
      throw new Error(`${what} not ready after ${timeoutMs} ms; the end of ${server.log}:\n${logTail(server.log)}`);
    }
    await sleep(delay);
  }
}

async function distinctPorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}

/** Starts a server on fresh ports, again on other ports (up to 3 times) when one was taken. */
async function withPortRetry<T>(start: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start();
    } catch (err) {
      if (!(err instanceof PortTakenError) || attempt >= 3) throw err;
    }
  }
}

async function getJson(url: string, timeoutMs = 10_000): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, body };
}

// ---------------------------------------------------------------------------------------------
// Prometheus

export interface PrometheusOptions {
  /** host:port of each target, all in one scrape job `test` (metrics path /metrics, http). */
  scrapeTargets: string[];
  /** Scrape and rule evaluation interval (default 1). */
  scrapeIntervalSeconds?: number;
  /** Rule files (paths) Prometheus loads and evaluates. */
  ruleFiles?: string[];
  /** Default: the binaries in e2eConfig().cacheDir, built when missing. */
  binaries?: ObservabilityBinaries;
  readyTimeoutMs?: number;
}

/** One sample of an instant query's vector result. */
export interface PromSample {
  metric: Record<string, string>;
  value: [number, string];
}

/** The `data` of /api/v1/query's answer. */
export type PromQueryResult =
  | { resultType: 'vector'; result: PromSample[] }
  | { resultType: 'matrix'; result: { metric: Record<string, string>; values: [number, string][] }[] }
  | { resultType: 'scalar' | 'string'; result: [number, string] };

/** One of /api/v1/targets' activeTargets (the fields tests look at). */
export interface PromTarget {
  labels: Record<string, string>;
  scrapeUrl: string;
  health: 'up' | 'down' | 'unknown';
  lastError: string;
  lastScrape: string;
}

export interface Prometheus {
  /** http://127.0.0.1:PORT */
  url: string;
  /** Its temp dir (config, data, prometheus.log). */
  dir: string;
  /** An instant query (/api/v1/query); throws when Prometheus answers with an error. */
  query(expr: string): Promise<PromQueryResult>;
  /** The active targets (/api/v1/targets). */
  targets(): Promise<PromTarget[]>;
  /** Waits until the target host:port was scraped with this health (default 'up'); returns it. */
  waitForTarget(target: string, opts?: { health?: PromTarget['health']; timeoutMs?: number }): Promise<PromTarget>;
  stop(): Promise<void>;
}

export async function startPrometheus(opts: PrometheusOptions): Promise<Prometheus> {
  const bins = opts.binaries ?? (await observabilityReady());
  const interval = `${opts.scrapeIntervalSeconds ?? 1}s`;
  const dir = await mkdtemp(join(tmpdir(), 'jairouter-prometheus-'));
  const configFile = join(dir, 'prometheus.yml');
  await writeFile(
    configFile,
    stringify({
      global: { scrape_interval: interval, scrape_timeout: interval, evaluation_interval: interval },
      rule_files: opts.ruleFiles ?? [],
      scrape_configs: [
        {
          job_name: 'test',
          // Prometheus 3 refuses an answer without a valid Content-Type unless told what to assume.
          fallback_scrape_protocol: 'PrometheusText0.0.4',
          static_configs: [{ targets: opts.scrapeTargets }],
        },
      ],
    }),
  );
  try {
    return await withPortRetry(async () => {
      const [port] = await distinctPorts(1);
      const url = `http://127.0.0.1:${port}`;
      const server = await launch(
        bins.prometheus,
        [
          `--config.file=${configFile}`,
          `--storage.tsdb.path=${join(dir, 'data')}`,
          `--web.listen-address=127.0.0.1:${port}`,
          '--log.level=warn',
        ],
        dir,
        'prometheus',
      );
      await waitReady(`prometheus ${bins.versions.prometheus}`, server, async () => (await fetch(`${url}/-/ready`)).status === 200, opts.readyTimeoutMs ?? 60_000);
      return prometheusClient(url, dir, server);
    });
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

function prometheusClient(url: string, dir: string, server: Server): Prometheus {
  const api = async <T>(path: string): Promise<T> => {
    const { status, body } = await getJson(`${url}${path}`);
    const b = body as { status?: string; data?: T; error?: string; errorType?: string };
    if (status !== 200 || b.status !== 'success') throw new Error(`prometheus ${path}: ${status} ${b.errorType ?? ''} ${b.error ?? JSON.stringify(body)}`);
    return b.data as T;
  };
  const targets = async (): Promise<PromTarget[]> => (await api<{ activeTargets: PromTarget[] }>('/api/v1/targets?state=active')).activeTargets;
  let stopped: Promise<void> | undefined;
  return {
    url,
    dir,
    query: (expr) => api<PromQueryResult>(`/api/v1/query?query=${encodeURIComponent(expr)}`),
    targets,
    async waitForTarget(target, o = {}) {
      const want = o.health ?? 'up';
      const deadline = Date.now() + (o.timeoutMs ?? 30_000);
      let last: PromTarget | undefined;
      for (;;) {
        last = (await targets()).find((t) => t.labels['instance'] === target);
        if (last?.health === want) return last;
        if (Date.now() > deadline) throw new Error(`target ${target} not ${want} after ${o.timeoutMs ?? 30_000} ms: ${last ? `${last.health} ${last.lastError}` : 'not among the active targets'}`);
        await sleep(200);
      }
    },
    stop() {
      stopped ??= (async () => {
        await server.stop();
        await rm(dir, { recursive: true, force: true });
      })();
      return stopped;
    },
  };
}

/** Runs promtool with ARGS; resolves with its exit code and output, never throws on failure. */
export async function promtool(args: string[], opts: { binaries?: ObservabilityBinaries; timeoutMs?: number } = {}): Promise<CommandResult> {
  const bins = opts.binaries ?? (await observabilityReady());
  return runCommand(bins.promtool, args, { timeoutMs: opts.timeoutMs ?? 60_000 });
}

// ---------------------------------------------------------------------------------------------
// Jaeger

export interface JaegerOptions {
  /** Default: the binaries in e2eConfig().cacheDir, built when missing. */
  binaries?: ObservabilityBinaries;
  readyTimeoutMs?: number;
}

/** A span as the Jaeger query API returns it (the fields tests look at). */
export interface JaegerSpan {
  traceID: string;
  spanID: string;
  operationName: string;
  startTime: number;
  duration: number;
  tags: { key: string; type: string; value: unknown }[];
  references: { refType: string; traceID: string; spanID: string }[];
  processID: string;
}

export interface JaegerTrace {
  traceID: string;
  spans: JaegerSpan[];
  processes: Record<string, { serviceName: string; tags: { key: string; type: string; value: unknown }[] }>;
}

export interface Jaeger {
  /** OTLP/HTTP receiver base, http://127.0.0.1:PORT: POST traces to `${otlpHttpUrl}/v1/traces`. */
  otlpHttpUrl: string;
  /** OTLP/gRPC receiver, 127.0.0.1:PORT. */
  otlpGrpcEndpoint: string;
  /** The query service and UI, http://127.0.0.1:PORT (its HTTP API under /api). */
  queryUrl: string;
  /** Its temp dir (config.yaml, jaeger.log). */
  dir: string;
  /** The traces of SERVICE (/api/traces?service=...: those that started in the last two days,
   * the newest LIMIT, default 100); [] when it has none yet. */
  traces(service: string, opts?: { limit?: number }): Promise<JaegerTrace[]>;
  /** The services that have spans (/api/services). */
  services(): Promise<string[]>;
  stop(): Promise<void>;
}

/** The config Jaeger v2 (an OpenTelemetry collector) runs with: in-memory storage, OTLP over HTTP
 * and gRPC, the query extension on its own ports, its own telemetry off: no metrics endpoint (:8888
 * by default) and no traces of its queries (by default sent to localhost:4317, which also makes its
 * shutdown wait 10 s for an exporter that is not there). It listens on those four ports only. */
export function jaegerConfig(ports: { otlpHttp: number; otlpGrpc: number; queryHttp: number; queryGrpc: number }): Record<string, unknown> {
  return {
    service: {
      extensions: ['jaeger_storage', 'jaeger_query'],
      pipelines: {
        traces: { receivers: ['otlp'], processors: [], exporters: ['jaeger_storage_exporter'] },
      },
      telemetry: { metrics: { level: 'none' }, logs: { level: 'warn' } },
    },
    extensions: {
      jaeger_storage: { backends: { memstore: { memory: { max_traces: 100_000 } } } },
      jaeger_query: {
        storage: { traces: 'memstore' },
        enable_tracing: false,
        http: { endpoint: `127.0.0.1:${ports.queryHttp}` },
        grpc: { endpoint: `127.0.0.1:${ports.queryGrpc}` },
      },
    },
    receivers: {
      otlp: {
        protocols: {
          grpc: { endpoint: `127.0.0.1:${ports.otlpGrpc}` },
          http: { endpoint: `127.0.0.1:${ports.otlpHttp}` },
        },
      },
    },
    exporters: { jaeger_storage_exporter: { trace_storage: 'memstore' } },
  };
}

export async function startJaeger(opts: JaegerOptions = {}): Promise<Jaeger> {
  const bins = opts.binaries ?? (await observabilityReady());
  const dir = await mkdtemp(join(tmpdir(), 'jairouter-jaeger-'));
  try {
    return await withPortRetry(async () => {
      const [otlpHttp, otlpGrpc, queryHttp, queryGrpc] = (await distinctPorts(4)) as [number, number, number, number];
      const configFile = join(dir, 'config.yaml');
      await writeFile(configFile, stringify(jaegerConfig({ otlpHttp, otlpGrpc, queryHttp, queryGrpc })));
      const server = await launch(bins.jaeger, ['--config', configFile], dir, 'jaeger');
      const queryUrl = `http://127.0.0.1:${queryHttp}`;
      const otlpHttpUrl = `http://127.0.0.1:${otlpHttp}`;
      await waitReady(
        `jaeger ${bins.versions.jaeger}`,
        server,
        async () => {
          if ((await fetch(`${queryUrl}/api/services`)).status !== 200) return false;
          // Any answer from the receiver (405 to a GET) means it listens.
          await fetch(`${otlpHttpUrl}/v1/traces`);
          return true;
        },
        opts.readyTimeoutMs ?? 60_000,
      );
      return jaegerClient({ otlpHttpUrl, otlpGrpcEndpoint: `127.0.0.1:${otlpGrpc}`, queryUrl, dir }, server);
    });
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

function jaegerClient(where: Pick<Jaeger, 'otlpHttpUrl' | 'otlpGrpcEndpoint' | 'queryUrl' | 'dir'>, server: Server): Jaeger {
  const api = async <T>(path: string): Promise<{ status: number; data: T | undefined; text: string }> => {
    const { status, body } = await getJson(`${where.queryUrl}${path}`);
    const data = (body as { data?: T } | undefined)?.data;
    return { status, data, text: typeof body === 'string' ? body : JSON.stringify(body) };
  };
  let stopped: Promise<void> | undefined;
  return {
    ...where,
    async traces(service, o = {}) {
      const q = new URLSearchParams({ service, limit: String(o.limit ?? 100) });
      const res = await api<JaegerTrace[]>(`/api/traces?${q}`);
      // An unknown service is a 404 with an error body in some versions, an empty list in others.
      if (res.status === 404) return [];
      if (res.status !== 200) throw new Error(`jaeger /api/traces?${q}: ${res.status} ${res.text.slice(0, 500)}`);
      return res.data ?? [];
    },
    async services() {
      const res = await api<string[]>('/api/services');
      if (res.status !== 200) throw new Error(`jaeger /api/services: ${res.status} ${res.text.slice(0, 500)}`);
      return res.data ?? [];
    },
    stop() {
      stopped ??= (async () => {
        await server.stop();
        await rm(where.dir, { recursive: true, force: true });
      })();
      return stopped;
    },
  };
}
