// Child-process entry: reads the config files, compiles them and judges the result against
// what is served, sends the outcome back and waits for the next job; it exits when the proxy
// disconnects (compile-client.ts does after a minute without a job). Running this in a process keeps
// zod, the schemas and the YAML parser out of the proxy's memory (a worker thread's memory is
// not given back to the OS after it ends) and keeps a large compile off the event loop that
// serves traffic.
import { readdirSync } from 'node:fs';
import { constants, setPriority } from 'node:os';
import { compile } from '@jairouter/crds';
import { judgeReload, loadFiles, servedIds } from './load.ts';
import { PART_ITEMS, type CompileJob, type CompileMessage, type CompileOutcome, type PartName } from './compile-client.ts';

// The lowest CPU priority for every thread of this process (V8's compiler and GC threads too, which
// the parent's setPriority on the pid misses when they were started first): the compile takes
// only the CPU that traffic leaves. Linux lists threads in /proc/self/task; elsewhere the parent's
// setPriority is what there is.
try {
  for (const tid of readdirSync('/proc/self/task')) setPriority(Number(tid), constants.priority.PRIORITY_LOW);
} catch {
  // No /proc, or not allowed: the parent's setPriority, if it was allowed.
}

process.on('message', (job: CompileJob) => {
  const loaded = loadFiles(job.paths);
  const result = compile(loaded.resources);
  const verdict = judgeReload(loaded, result, new Set(job.served));
  const outcome: CompileOutcome = {
    errors: loaded.errors,
    files: loaded.files,
    config: result.config,
    statuses: result.statuses,
    served: [...servedIds(result)],
    verdict,
  };
  void sendInParts(outcome);
});

/**
 * The outcome in messages of at most PART_ITEMS routes, tenants, limits or statuses each, then the
 * rest: the proxy deserializes each message in one piece on its event loop, and a thousand routes
 * in one message is 30-40 ms of it (compile-client.ts puts the parts back together).
 */
async function sendInParts(outcome: CompileOutcome): Promise<void> {
  const send = (m: CompileMessage) => new Promise<void>((resolve) => process.send!(m, () => resolve()));
  const { routes, tenants, limits, ...configRest } = outcome.config;
  const lists: [PartName, readonly unknown[]][] = [['routes', routes], ['tenants', tenants], ['limits', limits], ['statuses', outcome.statuses]];
  for (const [part, items] of lists) {
    for (let i = 0; i < items.length; i += PART_ITEMS) await send({ part, items: items.slice(i, i + PART_ITEMS) });
  }
  await send({ part: 'rest', outcome: { ...outcome, config: { ...configRest, routes: [], tenants: [], limits: [] }, statuses: [] } });
}
