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
    child.once('message', (m) => {
      outcome = m as CompileOutcome;
    });
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      if (outcome) resolve(outcome);
      else reject(new Error(`config compiler exited with ${signal ?? `code ${code}`}`));
    });
    child.send(job);
  });
}
