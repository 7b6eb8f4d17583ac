import { fork } from 'node:child_process';
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
