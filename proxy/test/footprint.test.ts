// What the proxy's own process loads (issue 14, memory). Compiling YAML happens in a short-lived
// child (source/compile-worker.ts), so the compiler, zod and the YAML parser must stay out of the
// long-running process: importing them there costs about 7 MB of RSS for nothing. A module hook
// preloaded into every process lists what each one loaded, by pid.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { modelRoute, tenantWithKeys, toYaml } from './config.ts';
import { waitFor } from '@jairouter/testkit/wait-for';
import { REPO_ROOT, startProxy, type ProxyHandle } from './harness.ts';

const dir = mkdtempSync(join(tmpdir(), 'jairouter-footprint-'));
const hook = join(dir, 'hook.mjs');
writeFileSync(hook, `import { registerHooks } from 'node:module';
import { appendFileSync } from 'node:fs';
registerHooks({ load(url, ctx, next) { appendFileSync(${JSON.stringify(dir)} + '/' + process.pid + '.txt', url + '\\n'); return next(url, ctx); } });
`);
// On SIGUSR2, the Node internals a process has loaded (process.moduleLoadList), by pid.
const internals = join(dir, 'internals.mjs');
writeFileSync(internals, `import { writeFileSync } from 'node:fs';
process.on('SIGUSR2', () => writeFileSync(${JSON.stringify(dir)} + '/' + process.pid + '.internals', process.moduleLoadList.join('\\n')));
`);
const procs: ProxyHandle[] = [];
afterAll(async () => {
  await Promise.all(procs.map((h) => h.stop('SIGKILL').catch(() => undefined)));
});
const oneRoute = (models = ['m']) =>
  toYaml(tenantWithKeys('t', { k: 'sk-footprint-000000000000' }), modelRoute('m', { models, backends: [{ name: 'b', url: 'http://127.0.0.1:9/v1' }] }));

/** The pids whose parent is `pid` (field 4 of /proc/PID/stat). */
const childrenOf = (pid: number): number[] =>
  readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid;
      } catch {
        return false; // gone meanwhile
      }
    })
    .map(Number);

describe('the proxy process', () => {
  it('does not load the compiler, zod or the YAML parser (its compile child does)', async () => {
    const p = await startProxy({ configs: oneRoute(), env: { NODE_OPTIONS: `${process.env['NODE_OPTIONS'] ?? ''} --import ${hook}` } });
    procs.push(p);
    expect((await p.readyz()).status).toBe(200);
    const loaded = readFileSync(join(dir, `${p.proc.pid}.txt`), 'utf8').split('\n');
    // The hook works: the proxy's own modules are listed.
    expect(loaded.some((u) => u.includes('/proxy/src/proxy-server.ts'))).toBe(true);
    const heavy = loaded.filter((u) => /node_modules\/(zod|yaml)\/|\/crds\/src\/(compile\/|resources\.ts|index\.ts)/.test(u));
    expect(heavy).toEqual([]);
  });

  // The compile child of the start exits once the config is served: a proxy that is never edited
  // carries no compiler (60-300 MB). An edit starts one, which stays for a minute so a burst of
  // edits starts it once (source/compile-client.ts).
  it('runs no compile child once it serves, and keeps one after an edit', async () => {
    const p = await startProxy({ configs: oneRoute() });
    procs.push(p);
    expect((await p.readyz()).status).toBe(200);
    await waitFor('the start-up compile child to exit', () => childrenOf(p.proc.pid!).length === 0);
    const before = (await p.readyz()).body.configVersion;
    writeFileSync(p.configFile(), oneRoute(['m', 'm2']));
    await waitFor('the edit to be served', async () => (await p.readyz()).body.configVersion !== before);
    expect(childrenOf(p.proc.pid!)).toHaveLength(1);
  });

  // The image fills a compile cache at build time (Dockerfile, scripts/warm-compile-cache.mjs):
  // a container starts with an empty /tmp, and stripping the types of its TypeScript sources on
  // start keeps the stripper (swc built to WebAssembly) resident: about 28 MB of RSS (bench/README.md).
  it('does not load the TypeScript stripper when started on a compile cache filled by scripts/warm-compile-cache.mjs', async () => {
    const cache = join(dir, 'cache');
    const warm = spawnSync(process.execPath, [join(REPO_ROOT, 'scripts', 'warm-compile-cache.mjs'), cache], { encoding: 'utf8' });
    expect(warm.status, warm.stderr).toBe(0);
    const loadedInternals = async (cacheDir: string): Promise<string[]> => {
      const p = await startProxy({
        configs: oneRoute(),
        env: { NODE_COMPILE_CACHE: cacheDir, NODE_OPTIONS: `${process.env['NODE_OPTIONS'] ?? ''} --import ${internals}` },
      });
      procs.push(p);
      expect((await p.readyz()).status).toBe(200);
      const file = join(dir, `${p.proc.pid}.internals`);
      p.proc.kill('SIGUSR2');
      return (await waitFor('the internals list', () => existsSync(file) && readFileSync(file, 'utf8'))).split('\n');
    };
    const stripper = (list: string[]) => list.filter((m) => /amaro/.test(m));
    // An empty cache: the proxy strips its sources itself, so the probe sees the stripper.
    expect(stripper(await loadedInternals(join(dir, 'empty-cache'))).length).toBeGreaterThan(0);
    expect(stripper(await loadedInternals(cache))).toEqual([]);
  });
});
