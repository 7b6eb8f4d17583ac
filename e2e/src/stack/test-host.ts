// A test host in a network namespace of our own, joined to this machine by a veth pair: the
// addresses an EndpointSlice may hold (the API server refuses loopback ones) without sending
// test traffic anywhere but into a namespace this run made. Needs root and iproute2, as CI has.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { DEMO_BACKEND_BIN } from '@jairouter/testkit/demo-backend';

export interface TestHost {
  /** The host's address inside its namespace, e.g. 10.250.3.2. */
  address: string;
  /** Starts a demo OpenAI backend inside the namespace; resolves once it listens. */
  startBackend(name: string, port: number): Promise<void>;
  close(): void;
}

function ip(...args: string[]): void {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${(r.stderr || r.error?.message || '').trim()}`);
}

export function canMakeTestHosts(): boolean {
  return process.getuid?.() === 0 && spawnSync('ip', ['netns', 'list']).status === 0;
}

export function makeTestHost(): TestHost {
  const id = process.pid % 100_000;
  const ns = `jre2e${id}`;
  const outer = `jrv${id}`;
  const inner = `jrp${id}`;
  const net = `10.250.${id % 250}`;
  const children: ChildProcess[] = [];
  const close = (): void => {
    for (const c of children) c.kill('SIGKILL');
    spawnSync('ip', ['netns', 'del', ns]);
    spawnSync('ip', ['link', 'del', outer]);
  };
  close();
  try {
    ip('netns', 'add', ns);
    ip('link', 'add', outer, 'type', 'veth', 'peer', 'name', inner);
    ip('link', 'set', inner, 'netns', ns);
    ip('addr', 'add', `${net}.1/30`, 'dev', outer);
    ip('link', 'set', outer, 'up');
    ip('netns', 'exec', ns, 'ip', 'addr', 'add', `${net}.2/30`, 'dev', inner);
    ip('netns', 'exec', ns, 'ip', 'link', 'set', inner, 'up');
    ip('netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up');
  } catch (e) {
    close();
    throw e;
  }
  const address = `${net}.2`;
  return {
    address,
    close,
    startBackend(name, port) {
      const child = spawn('ip', ['netns', 'exec', ns, process.execPath, DEMO_BACKEND_BIN, '--host', address, '--port', String(port), '--name', name], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      children.push(child);
      return new Promise((resolve, reject) => {
        let out = '';
        const onData = (b: Buffer): void => {
          out += b.toString();
          if (/listening/i.test(out)) resolve();
        };
        child.stdout!.on('data', onData);
        child.stderr!.on('data', onData);
        child.once('exit', (code) => reject(new Error(`demo backend ${name} exited with ${code}: ${out.slice(-500)}`)));
      });
    },
  };
}
