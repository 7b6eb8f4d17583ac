// Child-process entry: reads the config files, compiles them and judges the result against
// what is served, sends the outcome back and exits. Running this in a short-lived process keeps
// zod, the schemas and the YAML parser out of the proxy's memory (a worker thread's memory is
// not given back to the OS after it ends) and keeps a large compile off the event loop that
// serves traffic.
import { readdirSync } from 'node:fs';
import { constants, setPriority } from 'node:os';
import { compile } from '@jairouter/crds';
import { judgeReload, loadFiles, servedIds } from './load.ts';
import type { CompileJob, CompileOutcome } from './compile-client.ts';

// The lowest CPU priority for every thread of this process (V8's compiler and GC threads too, which
// the parent's setPriority on the pid misses when they were started first): the compile takes
// only the CPU that traffic leaves. Linux lists threads in /proc/self/task; elsewhere the parent's
// setPriority is what there is.
try {
  for (const tid of readdirSync('/proc/self/task')) setPriority(Number(tid), constants.priority.PRIORITY_LOW);
} catch {
  // No /proc, or not allowed: the parent's setPriority, if it was allowed.
}

process.once('message', (job: CompileJob) => {
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
  process.send!(outcome, () => process.disconnect());
});
