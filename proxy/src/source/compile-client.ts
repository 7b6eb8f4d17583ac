import { fork } from 'node:child_process';
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

/** Loads and compiles the config files in a short-lived child process (see compile-worker.ts). */
export function compileInWorker(job: CompileJob): Promise<CompileOutcome> {
  return new Promise((resolve, reject) => {
    const child = fork(WORKER, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced', execArgv: [] });
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
    let outcome: CompileOutcome | null = null;
    const parts: Record<PartName, unknown[]> = { routes: [], tenants: [], limits: [], statuses: [] };
    child.on('message', (raw) => {
      const m = raw as CompileMessage;
      if (m.part !== 'rest') {
        for (const item of m.items) parts[m.part].push(item);
        return;
      }
      const o = m.outcome;
      const config = { ...o.config, routes: parts.routes, tenants: parts.tenants, limits: parts.limits } as ProxyConfig;
      outcome = { ...o, config, statuses: parts.statuses as CompileOutcome['statuses'] };
    });
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      if (outcome) resolve(outcome);
      else reject(new Error(`config compiler exited with ${signal ?? `code ${code}`}`));
    });
    child.send(job);
  });
}
