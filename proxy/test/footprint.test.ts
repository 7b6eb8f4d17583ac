// What the proxy's own process loads (issue 14, memory). Compiling YAML happens in a short-lived
// child (source/compile-worker.ts), so the compiler, zod and the YAML parser must stay out of the
// long-running process: importing them there costs about 7 MB of RSS for nothing. A module hook
// preloaded into every process lists what each one loaded, by pid.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { modelRoute, tenantWithKeys, toYaml } from './config.ts';
import { startProxy, type ProxyHandle } from './harness.ts';

const dir = mkdtempSync(join(tmpdir(), 'jairouter-footprint-'));
const hook = join(dir, 'hook.mjs');
writeFileSync(hook, `import { registerHooks } from 'node:module';
import { appendFileSync } from 'node:fs';
registerHooks({ load(url, ctx, next) { appendFileSync(${JSON.stringify(dir)} + '/' + process.pid + '.txt', url + '\\n'); return next(url, ctx); } });
`);
let p: ProxyHandle | undefined;
afterAll(async () => {
  await p?.stop('SIGKILL').catch(() => undefined);
});

describe('the proxy process', () => {
  it('does not load the compiler, zod or the YAML parser (its compile child does)', async () => {
    p = await startProxy({
      configs: toYaml(tenantWithKeys('t', { k: 'sk-footprint-000000000000' }), modelRoute('m', { models: ['m'], backends: [{ name: 'b', url: 'http://127.0.0.1:9/v1' }] })),
      env: { NODE_OPTIONS: `${process.env['NODE_OPTIONS'] ?? ''} --import ${hook}` },
    });
    expect((await p.readyz()).status).toBe(200);
    const loaded = readFileSync(join(dir, `${p.proc.pid}.txt`), 'utf8').split('\n');
    // The hook works: the proxy's own modules are listed.
    expect(loaded.some((u) => u.includes('/proxy/src/proxy-server.ts'))).toBe(true);
    const heavy = loaded.filter((u) => /node_modules\/(zod|yaml)\/|\/crds\/src\/(compile\/|resources\.ts|index\.ts)/.test(u));
    expect(heavy).toEqual([]);
  });
});
