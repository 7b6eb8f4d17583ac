// SIGTERM to the process the user started drains the proxy and leaves no process behind, however
// it was started: by a Node too old for the TypeScript sources (the bin runs itself again under
// the repo's Node and stands in for it), or through npx (npm runs the bin under `sh -c`, and
// Debian's sh does not pass SIGTERM on). See @jairouter/crds/require-node.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { delimiter, dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chatReply, startFakeOpenAI } from '@jairouter/testkit/fake-openai';
import type { FakeBackend } from '@jairouter/testkit/fake-openai';
import { modelRoute, tenantWithKeys, toYaml } from './config.ts';
import { PROXY_BIN, startProxy, waitFor } from './harness.ts';
import type { ExitInfo, ProxyHandle, StartProxyOptions } from './harness.ts';

const KEY = 'sk-signals-tenant-5511';

/** A Node older than 22.18, which cannot run the sources itself: the machine's own, if it is one. */
const OLD_NODE = ((): string | undefined => {
  const candidate = '/usr/bin/node';
  const v = spawnSync(candidate, ['--version'], { encoding: 'utf8' }).stdout?.trim() ?? '';
  const m = /^v(\d+)\.(\d+)\./.exec(v);
  if (!m) return undefined;
  const [major, minor] = [Number(m[1]), Number(m[2])];
  return major < 22 || (major === 22 && minor < 18) ? candidate : undefined;
})();
/** npm's npx script (run by whichever `node` comes first on PATH). */
const NPX_CLI = (process.env['PATH'] ?? '')
  .split(delimiter)
  .map((d) => join(d, 'npx'))
  .find((f) => existsSync(f));
const SYSTEM_PATH = '/usr/bin:/bin';
/** Started directly, not by npm: without npm's variables the bin has no reason to watch its parent. */
const NOT_UNDER_NPM = { npm_lifecycle_event: undefined, npm_command: undefined };

interface Proc {
  pid: number;
  ppid: number;
  zombie: boolean;
}

/** Every live process whose command line mentions `text` (the proxy's unique temp config dir). */
function processesMentioning(text: string): Proc[] {
  const found: Proc[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (!readFileSync(`/proc/${name}/cmdline`, 'utf8').includes(text)) continue;
      found.push(stat(Number(name)));
    } catch {
      // Gone while we looked.
    }
  }
  return found.filter((p) => !p.zombie);
}

function stat(pid: number): Proc {
  // pid (comm) state ppid ...; comm may hold spaces and parentheses, so split after the last ')'.
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const [state, ppid] = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return { pid, ppid: Number(ppid), zombie: state === 'Z' || state === 'X' };
}

function alive(pid: number): boolean {
  try {
    return !stat(pid).zombie;
  } catch {
    return false;
  }
}

function portIsFree(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(Number(port), hostname, () => s.close(() => resolve(true)));
  });
}

async function closedWithin(closed: Promise<void>, ms: number, why: () => string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([closed, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(why())), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

let backend: FakeBackend;
beforeAll(async () => {
  backend = await startFakeOpenAI({ name: 'signals' });
  backend.setMode('slowStream', { chunkDelayMs: 40 });
});
afterAll(async () => {
  await backend?.close();
});

/**
 * Starts the proxy as `launch` says, opens a slow stream, sends SIGTERM to the process the user
 * started, and checks: the stream completes, the proxy logged draining and stopped, every process
 * of the chain is gone and both ports are free. Returns how the user's process ended.
 */
async function sigtermDrains(launch: NonNullable<StartProxyOptions['launch']>, env: NodeJS.ProcessEnv): Promise<{ exit: ExitInfo; chain: Proc[] }> {
  const p: ProxyHandle = await startProxy({
    launch,
    env,
    args: ['--drain-timeout', '20s'],
    configs: toYaml(tenantWithKeys('t', { k: KEY }), modelRoute('signals', { models: ['signals'], backends: [{ name: 'signals', url: backend.url }] })),
  });
  // Every holder of the stdout pipe (npm, sh, the stand-in, the proxy) has exited when it closes.
  const allClosed = new Promise<void>((resolve) => p.proc.once('close', () => resolve()));
  try {
    const chain = processesMentioning(p.configDir);
    // The proxy is the one process of the chain with no child in it.
    const leaves = chain.filter((c) => !chain.some((d) => d.ppid === c.pid));
    expect(leaves).toHaveLength(1);
    const proxyPid = leaves[0]!.pid;

    const messages = [{ role: 'user' as const, content: 'a slow answer that is still streaming when SIGTERM arrives' }];
    const stream = await p.client(KEY).chat.completions.create({ model: 'signals', messages, stream: true });
    const it = stream[Symbol.asyncIterator]();
    const first = await it.next();
    let text = first.done ? '' : (first.value.choices[0]?.delta.content ?? '');

    p.proc.kill('SIGTERM');
    for (;;) {
      const { value, done } = await it.next();
      if (done) break;
      text += value.choices[0]?.delta.content ?? '';
    }
    expect(text).toBe(chatReply('signals', messages));

    const exit = await p.exited;
    await closedWithin(allClosed, 10_000, () => {
      const left = processesMentioning(p.configDir).map((c) => `${c.pid} ${readFileSync(`/proc/${c.pid}/cmdline`, 'utf8').replaceAll('\0', ' ')}`);
      return `left running 10 s after SIGTERM to ${p.proc.pid}:\n${left.join('\n')}`;
    });
    expect(p.logs.find((l) => l.msg === 'draining')).toMatchObject({ signal: 'SIGTERM' });
    expect(p.logs.some((l) => l.msg === 'stopped')).toBe(true);
    await waitFor('no process of the chain left', () => !alive(proxyPid) && processesMentioning(p.configDir).length === 0, 5_000, 25);
    expect(await portIsFree(p.baseUrl)).toBe(true);
    expect(await portIsFree(p.adminUrl)).toBe(true);
    return { exit, chain };
  } finally {
    await p.stop('SIGKILL').catch(() => undefined);
    for (const c of processesMentioning(p.configDir)) process.kill(c.pid, 'SIGKILL');
  }
}

describe('SIGTERM to what the user started', () => {
  it.skipIf(!OLD_NODE)('`node proxy/bin/jairouter-proxy.js` on a Node < 22.18: the stand-in forwards it and exits 0 after the drain', async () => {
    const { exit, chain } = await sigtermDrains((args) => ({ command: OLD_NODE!, args: [PROXY_BIN, ...args] }), NOT_UNDER_NPM);
    // The stand-in and the proxy under the repo's Node.
    expect(chain).toHaveLength(2);
    expect(exit).toEqual({ code: 0, signal: null });
  });

  it.skipIf(!OLD_NODE || !NPX_CLI)('`npx jairouter-proxy` on a Node < 22.18: npm, sh, the stand-in and the proxy all end', async () => {
    const { exit, chain } = await sigtermDrains((args) => ({ command: OLD_NODE!, args: [NPX_CLI!, 'jairouter-proxy', ...args] }), {
      PATH: `${dirname(OLD_NODE!)}${delimiter}${SYSTEM_PATH}`,
      npm_config_update_notifier: 'false',
    });
    expect(chain.length).toBeGreaterThanOrEqual(3);
    // npm ends by its child's signal: sh died of the SIGTERM npm passed on.
    expect(exit).toEqual({ code: null, signal: 'SIGTERM' });
  });

  it.skipIf(!NPX_CLI)('`npx jairouter-proxy` on the repo\'s Node: the proxy stops though sh does not pass SIGTERM on', async () => {
    const { exit, chain } = await sigtermDrains((args) => ({ command: process.execPath, args: [NPX_CLI!, 'jairouter-proxy', ...args] }), {
      PATH: `${dirname(process.execPath)}${delimiter}${SYSTEM_PATH}`,
      npm_config_update_notifier: 'false',
    });
    expect(chain.length).toBeGreaterThanOrEqual(2);
    expect(exit).toEqual({ code: null, signal: 'SIGTERM' });
  });
});
