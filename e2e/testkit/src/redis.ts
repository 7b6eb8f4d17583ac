// A throwaway redis-server for tests: a child process on a free loopback port, no persistence,
// killed with the test process. kill() and restart() simulate a crash and a recovery on the
// same port, as a proxy's Redis client sees them.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { connect, createServer } from 'node:net';

export interface RedisServer {
  /** redis://127.0.0.1:PORT */
  readonly url: string;
  readonly port: number;
  /** SIGTERM, and waits for the exit (SIGKILL after 5 s). */
  stop(): Promise<void>;
  /** SIGKILL, and waits for the exit: a crash, as clients see one. */
  kill(): Promise<void>;
  /** Starts a new server on the same port (empty: nothing is persisted), after kill() or stop(). */
  restart(): Promise<void>;
  /**
   * One command on a new connection, e.g. command('DBSIZE'): the reply of a simple string,
   * integer or bulk string (null for a nil); an error reply rejects. Not for array replies.
   */
  command(...args: string[]): Promise<string | number | null>;
}

export interface StartRedisOptions {
  /** Extra redis-server arguments, e.g. ['--requirepass', 'x'] (they may override the defaults). */
  args?: string[];
  /** The binary; default env REDIS_SERVER or `redis-server` on the PATH. */
  bin?: string;
  /** The longest wait for "Ready to accept connections" (default 10 s). */
  readyTimeoutMs?: number;
}

const MISSING = 'redis-server not found: install the Debian package redis-server (.ci/run does), or set REDIS_SERVER to its path';

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const p of running) p.kill('SIGKILL');
});

/** A free loopback port (e.g. a TLS port a server is told before it starts). */
export async function freePort(): Promise<number> {
  const srv = createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const port = (srv.address() as { port: number }).port;
  srv.close();
  await once(srv, 'close');
  return port;
}

/**
 * Spawns redis-server on `port` and resolves once it logs that it accepts connections, which it
 * does after binding every listener (plain, TLS, cluster bus): so this also works when PING over
 * plain TCP would not (a TLS-only server, a password).
 */
function spawnRedis(bin: string, port: number, extra: string[], timeoutMs: number): Promise<ChildProcess> {
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...extra];
  const proc = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(proc);
  proc.once('exit', () => running.delete(proc));
  let out = '';
  return new Promise((resolve, reject) => {
    const done = (err?: Error) => {
      clearTimeout(timer);
      proc.stdout!.removeListener('data', onData);
      proc.removeListener('exit', onExit);
      proc.removeListener('error', onError);
      if (err) reject(err);
      else resolve(proc);
    };
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('Ready to accept connections')) done();
    };
    const onExit = (code: number | null, signal: string | null) =>
      done(new Error(`redis-server on port ${port} exited (code ${code}, signal ${signal}) before it was ready:\n${out.slice(-2000)}`));
    const onError = (err: NodeJS.ErrnoException) => done(err.code === 'ENOENT' ? new Error(`${MISSING} (tried ${bin})`) : err);
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      done(new Error(`redis-server on port ${port} was not ready within ${timeoutMs} ms:\n${out.slice(-2000)}`));
    }, timeoutMs);
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    proc.once('exit', onExit);
    proc.once('error', onError);
  });
}

async function end(proc: ChildProcess | null, signal: NodeJS.Signals): Promise<void> {
  if (proc === null || proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = once(proc, 'exit');
  proc.kill(signal);
  const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
  try {
    await exited;
  } finally {
    clearTimeout(timer);
  }
}

/** Sends one command in RESP and reads one scalar reply (enough for tests to look inside). */
function command(port: number, args: string[], timeoutMs = 5000): Promise<string | number | null> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    const finish = (fn: () => void) => {
      clearTimeout(timer);
      sock.destroy();
      fn();
    };
    const timer = setTimeout(() => finish(() => reject(new Error(`redis ${args[0]}: no reply within ${timeoutMs} ms`))), timeoutMs);
    sock.on('error', (err) => finish(() => reject(err)));
    sock.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      const eol = buf.indexOf('\r\n');
      if (eol < 0) return;
      const head = buf.subarray(1, eol).toString();
      switch (buf[0]) {
        case 0x2b: // +
          return finish(() => resolve(head));
        case 0x2d: // -
          return finish(() => reject(new Error(`redis ${args[0]}: ${head}`)));
        case 0x3a: // :
          return finish(() => resolve(Number(head)));
        case 0x24: { // $
          const n = Number(head);
          if (n < 0) return finish(() => resolve(null));
          if (buf.length < eol + 2 + n + 2) return; // more to come
          return finish(() => resolve(buf.subarray(eol + 2, eol + 2 + n).toString()));
        }
        default:
          return finish(() => reject(new Error(`redis ${args[0]}: unsupported reply type ${String.fromCharCode(buf[0]!)}`)));
      }
    });
    sock.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`);
  });
}

/** Starts redis-server on a free port of 127.0.0.1 (no RDB, no AOF). */
export async function startRedis(opts: StartRedisOptions = {}): Promise<RedisServer> {
  const bin = opts.bin ?? (process.env['REDIS_SERVER'] || 'redis-server');
  const extra = opts.args ?? [];
  const timeoutMs = opts.readyTimeoutMs ?? 10_000;
  let proc: ChildProcess | null = null;
  let port = 0;
  // The free port may be taken between the probe and redis binding it: try another one.
  for (let attempt = 1; proc === null; attempt++) {
    port = await freePort();
    try {
      proc = await spawnRedis(bin, port, extra, timeoutMs);
    } catch (e) {
      const message = (e as Error).message;
      if (attempt >= 3 || !/address already in use/i.test(message)) throw e;
    }
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop: () => end(proc, 'SIGTERM'),
    kill: () => end(proc, 'SIGKILL'),
    async restart() {
      await end(proc, 'SIGKILL');
      proc = await spawnRedis(bin, port, extra, timeoutMs);
    },
    command: (...args) => command(port, args),
  };
}
