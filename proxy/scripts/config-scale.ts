// How long a large config takes, as the proxy loads it from files: YAML parse, compile(), and the
// Runtime the proxy builds from it (RuntimeSwap.apply). Issue 14's target: 1,000 routes and
// 10,000 API keys in at most 1 s. Not a test; `node proxy/scripts/config-scale.ts [routes] [keys]`.
import { compile, parseResourcesYaml } from '@jairouter/crds';
import { RuntimeSwap } from '../src/runtime/swap.ts';
import { createLogging } from '../src/telemetry/logger.ts';
import { largeConfigDocs, toYamlStream } from './large-config.ts';

const routes = Number(process.argv[2] ?? 1000);
const keys = Number(process.argv[3] ?? 10_000);
const docs = largeConfigDocs(routes, keys);
const yaml = toYamlStream(docs);
const log = createLogging('silent').log;

const time = <T>(f: () => T): [T, number] => {
  const t0 = performance.now();
  const v = f();
  return [v, performance.now() - t0];
};
for (let run = 1; run <= 3; run++) {
  const [parsed, parseMs] = time(() => parseResourcesYaml(yaml, 'scale.yaml'));
  const [result, compileMs] = time(() => compile(parsed.resources));
  const [swap, buildMs] = time(() => new RuntimeSwap(result.config, log));
  const [, swapMs] = time(() => swap.apply(result.config));
  await swap.close();
  console.log(`run ${run}: ${routes} routes, ${keys} API keys (${(yaml.length / 1e6).toFixed(1)} MB of YAML): parse ${parseMs.toFixed(0)} ms, compile ${compileMs.toFixed(0)} ms, first Runtime ${buildMs.toFixed(0)} ms, swap to the same config ${swapMs.toFixed(0)} ms; total ${(parseMs + compileMs + buildMs).toFixed(0)} ms`);
}
