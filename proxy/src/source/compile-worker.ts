// Child-process entry: reads the config files, compiles them and judges the result against
// what is served, sends the outcome back and exits. Running this in a short-lived process keeps
// zod, the schemas and the YAML parser out of the proxy's memory (a worker thread's memory is
// not given back to the OS after it ends) and keeps a large compile off the event loop that
// serves traffic.
import { compile } from '@jairouter/crds';
import { judgeReload, loadFiles, servedIds } from './load.ts';
import type { CompileJob, CompileOutcome } from './compile-client.ts';

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
