#!/usr/bin/env node
// Fills a Node.js module compile cache with every TypeScript module the binaries can load:
//   node scripts/warm-compile-cache.mjs DIR      (then run the binaries with NODE_COMPILE_CACHE=DIR)
// The binaries run their TypeScript sources as they are. Without a cache entry for a module, Node
// strips its types at load time, which loads the stripper (a WebAssembly build of swc) into the
// process for good: about 20-27 MB of resident memory in a proxy that otherwise idles near 90 MB.
// A container starts with an empty /tmp (the chart mounts an emptyDir there), so the image fills
// a cache under /app at build time and points NODE_COMPILE_CACHE at it; Node reads it from the
// read-only root filesystem and skips writing when it cannot.
import { spawnSync } from 'node:child_process';
import { constants, enableCompileCache, flushCompileCache } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dir = process.argv[2];
if (!dir) {
  console.error('usage: node scripts/warm-compile-cache.mjs DIR');
  process.exit(2);
}
const cacheDir = resolve(dir);
const enabled = enableCompileCache(cacheDir);
if (enabled.status !== constants.compileCacheStatus.ENABLED) {
  console.error(`warm-compile-cache: cannot use ${cacheDir}: ${enabled.message ?? `status ${enabled.status}`}`);
  process.exit(1);
}

// The modules each binary imports on its own (the rest are in their static graphs). A module
// loaded later that is not reached from here still works; Node strips its types when it loads.
const ENTRIES = [
  'proxy/src/limits/redis.ts', // jairouter-proxy --redis-url
  'proxy/src/source/compile-worker.ts', // the compile child of a standalone proxy
  'operator/src/main.ts', // jairouter-operator
  'operator/src/compile-command.ts', // jairouter-operator compile
  'operator/src/keys-command.ts', // jairouter-operator keys
  'e2e/testkit/src/fake-openai.ts', // jairouter-demo-backend
];
for (const path of ENTRIES) await import(pathToFileURL(join(root, path)).href);
flushCompileCache();

// The proxy's entry module runs the proxy when imported: `--help` loads its whole static graph,
// prints the usage and exits 0.
const help = spawnSync(process.execPath, [join(root, 'proxy/bin/jairouter-proxy.js'), '--help'], {
  env: { ...process.env, NODE_COMPILE_CACHE: cacheDir },
  stdio: ['ignore', 'ignore', 'inherit'],
});
if (help.status !== 0) {
  console.error(`warm-compile-cache: jairouter-proxy --help exited ${help.status ?? help.signal}`);
  process.exit(1);
}
console.log(`warm-compile-cache: the proxy, operator and demo backend modules cached in ${cacheDir}`);
// Imported modules may hold handles (compile-worker's message listener); the work is done.
process.exit(0);
