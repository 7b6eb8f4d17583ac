// Process-level harness: runs the real proxy binary (node proxy/bin/jairouter-proxy.js)
// on ephemeral ports, parses its pino JSON log lines, and stops it with a signal.
// Every listener uses port 0, so test files can run in parallel.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import OpenAI from 'openai';

export { waitFor } from '@jairouter/testkit/wait-for';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const PROXY_BIN = join(REPO_ROOT, 'proxy', 'bin', 'jairouter-proxy.js');

/** One parsed pino line; `msg`, `level` and `time` are pino's. */
export type LogLine = Record<string, unknown> & { msg?: string; level?: number };

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface StartProxyOptions {
  /** YAML text: written to `<tmp>/config.yaml` and that file is passed as --config. */
  configs?: string;
  /** YAML texts by file name, written to a temp dir; the dir is passed as --config. */
  yamlFiles?: Record<string, string>;
  /** Extra flags, e.g. ['--max-body-size', '65536']. */
  args?: string[];
  env?: NodeJS.ProcessEnv;
  /**
   * How the user starts the binary, given the proxy's arguments: e.g. `npx jairouter-proxy ARGS`.
   * Default: `node proxy/bin/jairouter-proxy.js ARGS` under the Node running the tests.
   */
  launch?: (proxyArgs: string[]) => { command: string; args: string[] };
}

export interface ProxyHandle {
  /** API base URL, e.g. http://127.0.0.1:41234 (no /v1). */
  baseUrl: string;
  adminUrl: string;
  proc: ChildProcess;
  /** Parsed JSON log lines, in order. */
  logs: LogLine[];
  /** Everything written to stdout / stderr so far. */
  stdout(): string;
  stderr(): string;
  /** Temp dir holding the YAML written for this proxy. */
  configDir: string;
  /** Resolves with the first log line (past or future) matching `pred`. Rejects on timeout or exit. */
  waitForLog(pred: (l: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  /** Resolves when the process has exited. */
  exited: Promise<ExitInfo>;
  /** Sends `signal` (default SIGTERM) and waits for the exit; SIGKILLs and rejects after `timeoutMs`. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<ExitInfo>;
  /** An OpenAI SDK client for this proxy; no SDK retries, so every request is seen as sent. */
  client(apiKey: string, opts?: { timeout?: number }): OpenAI;
  /** POST /v1/chat/completions with plain fetch, for what the SDK hides (status, headers, raw bytes). */
  postChat(apiKey: string, body: unknown): Promise<Response>;
  readyz(): Promise<{ status: number; body: { ready?: boolean; configVersion?: string } & Record<string, unknown> }>;
  /** Where the proxy reads YAML text given in `configs`/`yamlFiles`, to edit it in hot-reload tests. */
  configFile(name?: string): string;
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const p of running) p.kill('SIGKILL');
});

function tail(text: string, n = 4000): string {
  return text.length > n ? `…${text.slice(-n)}` : text;
}

export async function startProxy(opts: StartProxyOptions): Promise<ProxyHandle> {
  if (opts.configs === undefined && !opts.yamlFiles) throw new Error('startProxy: no configs given');
  const configDir = mkdtempSync(join(tmpdir(), 'jairouter-test-'));
  const configPaths: string[] = [];
  if (opts.configs !== undefined) {
    const file = join(configDir, 'config.yaml');
    writeFileSync(file, opts.configs);
    configPaths.push(file);
  }
  if (opts.yamlFiles) {
    for (const [name, text] of Object.entries(opts.yamlFiles)) writeFileSync(join(configDir, name), text);
    configPaths.push(configDir);
  }

  const proxyArgs = [
    ...configPaths.flatMap((p) => ['--config', p]),
    '--listen',
    '127.0.0.1:0',
    '--admin-listen',
    '127.0.0.1:0',
    ...(opts.args ?? []),
  ];
  const { command, args } = opts.launch?.(proxyArgs) ?? { command: process.execPath, args: [PROXY_BIN, ...proxyArgs] };
  const proc = spawn(command, args, {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...opts.env },
  });
  running.add(proc);

  const logs: LogLine[] = [];
  let out = '';
  let err = '';
  const listeners = new Set<(l: LogLine) => void>();
  let exitInfo: ExitInfo | undefined;
  const exitListeners = new Set<(e: ExitInfo) => void>();

  const exited = new Promise<ExitInfo>((resolveExit) => {
    proc.once('exit', (code, signal) => {
      running.delete(proc);
      exitInfo = { code, signal };
      // Let readline drain the last lines before anyone looks at the logs.
      setImmediate(() => {
        resolveExit(exitInfo!);
        for (const l of exitListeners) l(exitInfo!);
      });
    });
  });
  proc.stderr!.setEncoding('utf8');
  proc.stderr!.on('data', (d: string) => (err += d));
  const rl = createInterface({ input: proc.stdout! });
  rl.on('line', (line) => {
    out += `${line}\n`;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      return;
    }
    if (typeof parsed !== 'object' || parsed === null) return;
    const l = parsed as LogLine;
    logs.push(l);
    for (const fn of listeners) fn(l);
  });

  function waitForLog(pred: (l: LogLine) => boolean, timeoutMs = 10_000): Promise<LogLine> {
    const found = logs.find(pred);
    if (found) return Promise.resolve(found);
    return new Promise((resolveLog, reject) => {
      const done = () => {
        clearTimeout(timer);
        listeners.delete(onLine);
        exitListeners.delete(onExit);
      };
      const onLine = (l: LogLine) => {
        if (pred(l)) {
          done();
          resolveLog(l);
        }
      };
      const onExit = (e: ExitInfo) => {
        done();
        reject(new Error(`proxy exited (${JSON.stringify(e)}) before the awaited log line.\nstdout:\n${tail(out)}\nstderr:\n${tail(err)}`));
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no matching log line within ${timeoutMs}ms.\nstdout:\n${tail(out)}\nstderr:\n${tail(err)}`));
      }, timeoutMs);
      listeners.add(onLine);
      if (exitInfo) onExit(exitInfo);
      else exitListeners.add(onExit);
    });
  }

  async function stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 20_000): Promise<ExitInfo> {
    if (!exitInfo) proc.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        proc.kill('SIGKILL');
        reject(new Error(`proxy did not exit within ${timeoutMs}ms of ${signal}`));
      }, timeoutMs);
    });
    try {
      return await Promise.race([exited, timeout]);
    } finally {
      clearTimeout(timer);
      rmSync(configDir, { recursive: true, force: true });
    }
  }

  let listening: LogLine;
  try {
    listening = await waitForLog((l) => l.msg === 'proxy listening', 20_000);
  } catch (e) {
    if (!exitInfo) proc.kill('SIGKILL');
    rmSync(configDir, { recursive: true, force: true });
    throw e;
  }
  const baseUrl = String(listening['listen']).replace(/\/$/, '');
  const adminUrl = String(listening['admin']).replace(/\/$/, '');

  return {
    baseUrl,
    adminUrl,
    proc,
    logs,
    stdout: () => out,
    stderr: () => err,
    configDir,
    waitForLog,
    exited,
    stop,
    client(apiKey: string, o: { timeout?: number } = {}) {
      return new OpenAI({ baseURL: `${baseUrl}/v1`, apiKey, maxRetries: 0, timeout: o.timeout ?? 15_000 });
    },
    postChat(apiKey: string, body: unknown) {
      return fetch(`${baseUrl}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    },
    async readyz() {
      const res = await fetch(`${adminUrl}/readyz`);
      const text = await res.text();
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(text) as Record<string, unknown>;
      } catch {
        body = { raw: text };
      }
      return { status: res.status, body };
    },
    configFile(name = 'config.yaml') {
      return join(configDir, name);
    },
  };
}

/**
 * For "the line this change causes": take it before the change, await it with a timeout after;
 * it matches only lines logged after it was taken.
 */
export function logAfter(p: ProxyHandle, pred: (l: LogLine) => boolean): (timeoutMs: number) => Promise<LogLine> {
  const mark = p.logs.length;
  return (timeoutMs) => p.waitForLog((l) => p.logs.indexOf(l) >= mark && pred(l), timeoutMs);
}

/** A stack-trace-looking fragment: what an error body must never contain. */
export const STACK_TRACE = /\bat [\w.<>]+ \(|node:internal|\.ts:\d+:\d+|\.js:\d+:\d+|\n\s+at /;
