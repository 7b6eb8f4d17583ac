import { fork, type ChildProcess } from 'node:child_process';
import { constants, setPriority } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { CompileResult, ProxyConfig } from '@jairouter/crds';
import type { Verdict } from './load.ts';

export interface CompileJob {
  paths: string[];
  /** `Kind/namespace/name` of the objects served now (the reload must not degrade them). */
  served: string[];
}

export interface CompileOutcome {
  errors: string[];
  files: string[];
  config: ProxyConfig;
  statuses: CompileResult['statuses'];
  served: string[];
  verdict: Verdict;
}

/** What one message of the compile child carries (compile-worker.ts sends the outcome in parts). */
export type PartName = 'routes' | 'tenants' | 'limits' | 'statuses';
export type CompileMessage = { part: PartName; items: unknown[] } | { part: 'rest'; outcome: CompileOutcome };
export const PART_ITEMS = 100;

const WORKER = fileURLToPath(new URL('./compile-worker.ts', import.meta.url));

/**
 * How long the compile child stays up after its last compile. Starting it (Node, the compiler's
 * modules, zod) takes a core for 0.6 s even for a one-route config, and more than the compile
 * itself for most configs; a burst of edits (a GitOps sync writing several files, an editor
 * saving twice) then pays that once. After this long without a change it exits, and its memory
 * (60-80 MB) goes back to the system: an idle standalone proxy carries no compiler.
 */
export const COMPILER_IDLE_MS = 60_000;

/**
 * Loads and compiles the config files in a child process (compile-worker.ts) that is started on
 * the first compile and kept for `idleMs` after the last one. One compile at a time: a job given
 * while another runs waits for it. A child that dies mid-compile fails that compile only; the
 * next one starts a new child.
 */
export class Compiler {
  private child: ChildProcess | null = null;
  private idle: NodeJS.Timeout | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  /** Children started so far (the tests read it: a burst of compiles starts one). */
  started = 0;

  private readonly idleMs: number;

  constructor(idleMs = COMPILER_IDLE_MS) {
    this.idleMs = idleMs;
  }

  compile(job: CompileJob): Promise<CompileOutcome> {
    const run = this.queue.then(() => this.run(job));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** The running child's pid, or null when none is up. */
  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  /** Stops the child now (the proxy is shutting down); compiles after this fail. */
  close(): void {
    this.closed = true;
    this.stopChild();
  }

  private run(job: CompileJob): Promise<CompileOutcome> {
    if (this.closed) return Promise.reject(new Error('config compiler closed'));
    if (this.idle) clearTimeout(this.idle);
    this.idle = null;
    const child = this.child ?? this.startChild();
    child.channel?.ref();
    return new Promise<CompileOutcome>((resolve, reject) => {
      const parts: Record<PartName, unknown[]> = { routes: [], tenants: [], limits: [], statuses: [] };
      const onMessage = (raw: unknown) => {
        const m = raw as CompileMessage;
        if (m.part !== 'rest') {
          for (const item of m.items) parts[m.part].push(item);
          return;
        }
        done();
        const o = m.outcome;
        const config = { ...o.config, routes: parts.routes, tenants: parts.tenants, limits: parts.limits } as ProxyConfig;
        resolve({ ...o, config, statuses: parts.statuses as CompileOutcome['statuses'] });
        this.armIdle(child);
      };
      const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
        done();
        reject(new Error(`config compiler exited with ${signal ?? `code ${code}`}`));
      };
      const onError = (e: Error) => {
        done();
        this.stopChild();
        reject(e);
      };
      const done = () => {
        child.off('message', onMessage);
        child.off('exit', onExit);
        child.off('error', onError);
      };
      child.on('message', onMessage);
      child.once('exit', onExit);
      child.once('error', onError);
      child.send(job, (e) => {
        if (e) onError(e);
      });
    });
  }

  private startChild(): ChildProcess {
    const child = fork(WORKER, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced', execArgv: [] });
    this.started++;
    // The compile may take a core for a second or more (1,000 routes: YAML parsing alone is most
    // of it). At the lowest priority it takes only what traffic leaves: on a busy replica the
    // reload waits, not the requests (proxy/scripts/config-swap.ts measures it).
    if (child.pid !== undefined) {
      try {
        setPriority(child.pid, constants.priority.PRIORITY_LOW);
      } catch {
        // Not allowed here (a seccomp profile): it runs at the proxy's priority.
      }
    }
    // A waiting child does not keep the proxy's process alive (its channel is unref'd between jobs).
    child.unref();
    child.once('exit', () => {
      if (this.child === child) this.child = null;
    });
    this.child = child;
    return child;
  }

  private armIdle(child: ChildProcess): void {
    if (this.child !== child) return;
    // While it waits for the next job, the IPC channel must not hold the proxy's process open.
    child.channel?.unref();
    this.idle = setTimeout(() => this.stopChild(), this.idleMs);
    this.idle.unref();
  }

  private stopChild(): void {
    if (this.idle) clearTimeout(this.idle);
    this.idle = null;
    const child = this.child;
    this.child = null;
    if (child && child.connected) child.disconnect();
  }
}

/** One compile in a child of its own that exits right after (the tests, one-shot commands). */
export function compileInWorker(job: CompileJob): Promise<CompileOutcome> {
  const compiler = new Compiler(0);
  return compiler.compile(job).finally(() => compiler.close());
}
