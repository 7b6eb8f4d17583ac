// The operator and the proxy as real processes (their bin files on this repo's Node), with their
// pino JSON lines collected so tests can wait for what a process says. Every process started
// here is SIGKILLed when the test process exits, so a failed test leaves nothing running.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { REPO_ROOT } from './config.ts';

export const OPERATOR_BIN = join(REPO_ROOT, 'operator', 'bin', 'jairouter-operator.js');
export const PROXY_BIN = join(REPO_ROOT, 'proxy', 'bin', 'jairouter-proxy.js');

/** One parsed log line, with the time this process saw it. */
export type LogLine = Record<string, unknown> & { msg?: string; seenAt: number };

export interface NodeProcess {
  readonly label: string;
  readonly child: ChildProcess;
  readonly lines: LogLine[];
  /** Resolves with the first line (past or future) matching `pred`; rejects on timeout or exit. */
  waitForLog(pred: (l: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  logged(msg: string): LogLine | undefined;
  readonly exited: Promise<void>;
  isRunning(): boolean;
  /** Sends the signal and waits for the exit (SIGKILL after 10 s). */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** The last lines, for failure messages. */
  tail(n?: number): string;
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of running) c.kill('SIGKILL');
});

export function startNode(label: string, bin: string, args: string[]): NodeProcess {
  const child = spawn(process.execPath, [bin, ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  const lines: LogLine[] = [];
  const raw: string[] = [];
  const waiters = new Set<() => void>();
  let done = false;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      running.delete(child);
      // Let readline deliver the last lines first.
      setImmediate(() => {
        done = true;
        for (const w of waiters) w();
        resolve();
      });
    });
  });
  const read = (stream: NodeJS.ReadableStream) =>
    createInterface({ input: stream }).on('line', (line) => {
      raw.push(line);
      if (raw.length > 400) raw.shift();
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        parsed = { msg: line };
      }
      // A line that is JSON but not an object (a bare string, a number) is kept as text.
      if (typeof parsed !== 'object' || parsed === null) parsed = { msg: line };
      lines.push({ ...(parsed as Record<string, unknown>), seenAt: Date.now() });
      for (const w of waiters) w();
    });
  read(child.stdout!);
  read(child.stderr!);

  const tail = (n = 40) => `--- last lines of ${label} ---\n${raw.slice(-n).join('\n')}`;

  function waitForLog(pred: (l: LogLine) => boolean, timeoutMs = 20_000): Promise<LogLine> {
    return new Promise((resolve, reject) => {
      let seen = 0;
      const check = () => {
        for (; seen < lines.length; seen++) {
          if (pred(lines[seen]!)) return finish(() => resolve(lines[seen]!));
        }
        if (done) finish(() => reject(new Error(`${label} exited (code ${child.exitCode}, signal ${child.signalCode}) before the awaited line\n${tail()}`)));
      };
      const timer = setTimeout(() => finish(() => reject(new Error(`${label}: no matching log line within ${timeoutMs} ms\n${tail()}`))), timeoutMs);
      const finish = (f: () => void) => {
        clearTimeout(timer);
        waiters.delete(check);
        f();
      };
      waiters.add(check);
      check();
    });
  }

  return {
    label,
    child,
    lines,
    waitForLog,
    logged: (msg) => lines.find((l) => l.msg === msg),
    exited,
    isRunning: () => !done && child.exitCode === null && child.signalCode === null,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (done) return;
      child.kill(signal);
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    },
    tail,
  };
}

export interface OperatorOptions {
  kubeconfig: string;
  namespaces: string[];
  podNamespace: string;
  podName: string;
  proxyServiceAccount: string;
  snapshotSecret: string;
  leaderElect?: boolean;
  /** More command-line arguments (e.g. --audit-log FILE). */
  extraArgs?: string[];
}

export interface OperatorProcess extends NodeProcess {
  /** https://127.0.0.1:PORT of the snapshot stream. */
  streamPort: number;
  adminUrl: string;
}

/** Starts jairouter-operator on ephemeral loopback ports and waits for `operator ready`. */
export async function startOperator(o: OperatorOptions): Promise<OperatorProcess> {
  const p = startNode(`operator ${o.podName}`, OPERATOR_BIN, [
    '--kubeconfig', o.kubeconfig,
    ...o.namespaces.flatMap((ns) => ['--namespace', ns]),
    '--listen', '127.0.0.1:0',
    '--admin-listen', '127.0.0.1:0',
    `--leader-elect=${o.leaderElect ?? true}`,
    '--pod-namespace', o.podNamespace,
    '--pod-name', o.podName,
    '--snapshot-secret', o.snapshotSecret,
    '--proxy-service-account', o.proxyServiceAccount,
    ...(o.extraArgs ?? []),
  ]);
  return whenReady(p, 'operator ready', 60_000, (ready) => {
    const stream = ready['stream'] as { port: number };
    const admin = ready['admin'] as { port: number };
    return { streamPort: stream.port, adminUrl: `http://127.0.0.1:${admin.port}` };
  });
}

/** Waits for the process's first `msg` line and adds what `read` takes from it; kills the
 * process when that fails (a timeout, an exit first, a line without the expected fields). */
async function whenReady<T extends object>(p: NodeProcess, msg: string, timeoutMs: number, read: (l: LogLine) => T): Promise<NodeProcess & T> {
  try {
    return Object.assign(p, read(await p.waitForLog((l) => l.msg === msg, timeoutMs)));
  } catch (e) {
    await p.stop('SIGKILL');
    throw e;
  }
}

export interface ProxyOptions {
  name: string;
  operatorUrl: string;
  caFile: string;
  tokenFile: string;
  snapshotFile: string;
  /** More command-line arguments (e.g. --audit-log FILE, --redis-url URL). */
  extraArgs?: string[];
}

export interface ProxyProcess extends NodeProcess {
  name: string;
  /** http://127.0.0.1:PORT (no /v1). */
  baseUrl: string;
  adminUrl: string;
}

/** Starts jairouter-proxy subscribed to the operator and waits for `proxy listening`. */
export async function startProxy(o: ProxyOptions): Promise<ProxyProcess> {
  const p = startNode(`proxy ${o.name}`, PROXY_BIN, [
    '--listen', '127.0.0.1:0',
    '--admin-listen', '127.0.0.1:0',
    '--operator', o.operatorUrl,
    '--operator-ca', o.caFile,
    '--token-file', o.tokenFile,
    '--snapshot-file', o.snapshotFile,
    '--proxy-name', o.name,
    ...(o.extraArgs ?? []),
  ]);
  return whenReady(p, 'proxy listening', 30_000, (l) => ({
    name: o.name,
    baseUrl: String(l['listen']).replace(/\/$/, ''),
    adminUrl: String(l['admin']).replace(/\/$/, ''),
  }));
}
