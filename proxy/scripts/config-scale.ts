// How long a large config takes, as the proxy loads it from files: YAML parse, compile(), and the
// Runtime the proxy builds from it (RuntimeSwap.apply). Issue 14's target: 1,000 routes and
// 10,000 API keys in at most 1 s. Not a test; `node proxy/scripts/config-scale.ts [routes] [keys]`.
import { compile, parseResourcesYaml } from '@jairouter/crds';
import { stringify } from 'yaml';
import { RuntimeSwap } from '../src/runtime/swap.ts';
import { createLogging } from '../src/telemetry/logger.ts';

const routes = Number(process.argv[2] ?? 1000);
const keys = Number(process.argv[3] ?? 10_000);
const tenants = Math.max(1, Math.ceil(keys / 100));
const docs: unknown[] = [{ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'provider', namespace: 'ai' }, stringData: { apiKey: 'sk-upstream' } }];
for (let r = 0; r < routes; r++) {
  docs.push({
    apiVersion: 'jairouter.io/v1alpha1', kind: 'ModelRoute', metadata: { name: `route-${r}`, namespace: 'ai' },
    spec: {
      models: [`model-${r}`],
      backends: [
        { name: 'a', adapter: 'openai', url: `http://10.0.${r % 250}.1:8000/v1`, credentialsRef: { name: 'provider', key: 'apiKey' } },
        { name: 'b', adapter: 'vllm', url: `http://10.1.${r % 250}.1:8000/v1` },
      ],
      loadBalancer: { strategy: r % 2 === 0 ? 'LeastConnections' : 'RoundRobin' },
    },
  });
}
for (let t = 0; t < tenants; t++) {
  const stringData: Record<string, string> = {};
  for (let k = 0; k < 100 && t * 100 + k < keys; k++) stringData[`k${k}`] = `sk-tenant-${t}-key-${k}-0123456789abcdef`;
  docs.push({ apiVersion: 'v1', kind: 'Secret', metadata: { name: `t${t}-keys`, namespace: 'ai' }, stringData });
  docs.push({ apiVersion: 'jairouter.io/v1alpha1', kind: 'Tenant', metadata: { name: `t${t}`, namespace: 'ai' }, spec: { apiKeys: { secretRefs: [{ name: `t${t}-keys` }] } } });
}
const yaml = docs.map((d) => stringify(d)).join('---\n');
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
