// A local Kubernetes control plane, envtest-style: etcd and kube-apiserver as plain processes on
// free loopback ports, an admin client certificate in system:masters, RBAC on. There is no
// controller-manager: no namespace deletion, no garbage collection, no default
// ServiceAccounts (use fresh namespaces and clean up explicitly).
//
// Everything lives in one directory (DIR/envtest.json records the processes), so a control
// plane started by `jairouter-envtest up` in one process is stopped by `down` in another.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, rmdir, symlink, writeFile } from 'node:fs/promises';
import { get as httpGet } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ensureBinaries, type K8sBinaries, type K8sVersions } from './binaries.ts';
import { e2eConfig } from '../config.ts';
import { kubeconfigYaml, kubeRequest, type KubeAccess } from './kube.ts';
import { generatePki, pkiFiles } from './pki.ts';
import { freePort } from './ports.ts';

export interface ControlPlaneOptions {
  /** Where certificates, etcd data, logs and the kubeconfig go. Default: a fresh temporary
   * directory, removed by stop(). A given directory is emptied of what we put there. */
  dir?: string;
  /** Default: built (when missing) under the cache directory of e2eConfig(). */
  binaries?: K8sBinaries;
  /** Keep the processes running after this Node process exits (jairouter-envtest up). */
  detached?: boolean;
  /** How long etcd + kube-apiserver may take to become ready. Default 90 s (2 busy cores). */
  readyTimeoutMs?: number;
  /** Extra kube-apiserver flags, appended (a later flag wins). */
  apiServerArgs?: string[];
  log?: (line: string) => void;
}

export interface ControlPlane extends KubeAccess {
  dir: string;
  /** http://127.0.0.1:PORT of etcd. */
  etcdUrl: string;
  /** DIR/bin, holding kubectl and helm links. */
  binDir: string;
  helmPath: string;
  versions: K8sVersions;
  /** Stopping and starting kube-apiserver alone (etcd keeps running), for outage tests; absent
   * on a cluster this process did not start. */
  apiServer?: {
    /** SIGTERM, then SIGKILL after 10 s; resolves once the process is gone (connections refused). */
    stop(): Promise<void>;
    /** Starts it again on the same port with the same flags; resolves once /readyz answers 200. */
    start(): Promise<void>;
  };
  stop(): Promise<void>;
}

interface ProcessRecord {
  name: string;
  pid: number;
  binary: string;
}

interface State {
  server: string;
  etcdUrl: string;
  removeDir: boolean;
  processes: ProcessRecord[];
}

const STATE = 'envtest.json';
// What start() creates in DIR, so stop() can leave anything else alone.
const ENTRIES = ['pki', 'etcd', 'apiserver', 'logs', 'bin', 'kubeconfig', STATE];

function paths(dir: string) {
  return {
    state: join(dir, STATE),
    pki: join(dir, 'pki'),
    etcdData: join(dir, 'etcd'),
    certDir: join(dir, 'apiserver'),
    logs: join(dir, 'logs'),
    bin: join(dir, 'bin'),
    kubectl: join(dir, 'bin', 'kubectl'),
    helm: join(dir, 'bin', 'helm'),
    kubeconfig: join(dir, 'kubeconfig'),
  };
}

export async function startControlPlane(opts: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const log = opts.log ?? (() => {});
  const bins = opts.binaries ?? (await ensureBinaries({ cacheDir: e2eConfig().cacheDir, log }));
  const removeDir = opts.dir === undefined;
  const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), 'jairouter-envtest-')));
  try {
    return await startIn(dir, bins, removeDir, opts, log);
  } catch (err) {
    if (!(err instanceof PortTakenError)) throw err;
    log(`jairouter-envtest: ${err.message}; retrying on other ports`);
    return await startIn(dir, bins, removeDir, opts, log);
  }
}

class PortTakenError extends Error {}

async function startIn(dir: string, bins: K8sBinaries, removeDir: boolean, opts: ControlPlaneOptions, log: (line: string) => void): Promise<ControlPlane> {
  const p = paths(dir);
  if ((await readControlPlane(dir))?.alive) throw new Error(`a control plane is already running in ${dir} (stop it first)`);
  await cleanDir(dir, false);
  await mkdir(dir, { recursive: true });
  await Promise.all([p.etcdData, p.certDir, p.logs, p.bin].map((d) => mkdir(d, { recursive: true, mode: 0o700 })));
  const pki = await generatePki(p.pki);
  const [etcdPort, peerPort, apiPort] = await distinctPorts(3);
  const etcdUrl = `http://127.0.0.1:${etcdPort}`;
  const peerUrl = `http://127.0.0.1:${peerPort}`;
  const server = `https://127.0.0.1:${apiPort}`;

  await symlink(bins.kubectl, p.kubectl);
  await symlink(bins.helm, p.helm);
  const access: KubeAccess = { server, caCert: pki.caCert, adminCert: pki.adminCert, adminKey: pki.adminKey, kubeconfig: p.kubeconfig, kubectlPath: p.kubectl };
  await writeFile(p.kubeconfig, kubeconfigYaml(access), { mode: 0o600 });
  const state: State = { server, etcdUrl, removeDir, processes: [] };
  const children: { name: string; child: ChildProcess; log: string; exited: boolean }[] = [];
  const launch = async (name: string, binary: string, args: string[]): Promise<void> => {
    const logFile = join(p.logs, `${name}.log`);
    const fd = openSync(logFile, 'a');
    // detached: its own process group, which stop() signals as a whole.
    const child = spawn(binary, args, { detached: true, stdio: ['ignore', fd, fd] });
    closeSync(fd);
    const entry = { name, child, log: logFile, exited: false };
    children.push(entry);
    child.on('exit', () => (entry.exited = true));
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    });
    child.unref();
    state.processes.push({ name, pid: child.pid!, binary });
    await writeFile(p.state, JSON.stringify(state, null, 2));
    if (!opts.detached) watchdog(child.pid!, removeDir ? dir : undefined);
  };
  const onExit = (): void => killSync(state, dir);
  if (!opts.detached) process.on('exit', onExit);

  const deadline = Date.now() + (opts.readyTimeoutMs ?? 90_000);
  // Fails fast when a process died (its log's tail says why) or the deadline passed.
  const waitReady = async (what: string, ready: () => Promise<boolean>, until = deadline): Promise<void> => {
    for (let delay = 50; ; delay = Math.min(delay * 2, 500)) {
      const dead = children.find((c) => c.exited);
      if (dead) {
        const tail = logTail(dead.log);
        const inUse = tail.split('\n').find((l) => /address already in use/i.test(l));
        if (inUse) throw new PortTakenError(`${dead.name} could not listen: ${inUse.trim().slice(-200)}`);
        throw new Error(`${dead.name} exited while starting; the end of ${dead.log}:\n${tail}`);
      }
      if (await ready().catch(() => false)) return;
      if (Date.now() > until) throw new Error(`${what} not ready after ${opts.readyTimeoutMs ?? 90_000} ms; logs in ${p.logs}`);
      await sleep(delay);
    }
  };

  const apiServerArgs = [
    `--etcd-servers=${etcdUrl}`,
    `--secure-port=${apiPort}`,
    '--bind-address=127.0.0.1',
    // Without it the server looks for a non-loopback interface to advertise.
    '--advertise-address=127.0.0.1',
    // The default reconciler would publish 127.0.0.1 as the kubernetes Service's endpoint,
    // which validation rejects (and logs about) forever.
    '--endpoint-reconciler-type=none',
    `--cert-dir=${p.certDir}`,
    `--tls-cert-file=${pki.servingCert}`,
    `--tls-private-key-file=${pki.servingKey}`,
    `--client-ca-file=${pki.caCert}`,
    '--authorization-mode=RBAC',
    '--disable-admission-plugins=ServiceAccount',
    '--service-cluster-ip-range=10.0.0.0/24',
    '--allow-privileged=true',
    `--service-account-issuer=${server}`,
    `--service-account-key-file=${pki.serviceAccountPub}`,
    `--service-account-signing-key-file=${pki.serviceAccountKey}`,
    '--profiling=false',
    ...(opts.apiServerArgs ?? []),
  ];
  /** Launches kube-apiserver and waits for its /readyz, at most until `until`. */
  const startApiServer = async (until: number): Promise<void> => {
    await launch('kube-apiserver', bins.kubeApiserver, apiServerArgs);
    await waitReady('kube-apiserver', async () => (await kubeRequest(access, '/readyz', { timeoutMs: 5_000 })).status === 200, until);
  };
  try {
    const t0 = Date.now();
    await launch('etcd', bins.etcd, [
      '--name=envtest',
      `--data-dir=${p.etcdData}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=envtest=${peerUrl}`,
      '--unsafe-no-fsync',
      '--log-level=warn',
    ]);
    await waitReady('etcd', () => etcdHealthy(etcdUrl));
    log(`jairouter-envtest: etcd ${bins.versions.etcd} ready on ${etcdUrl} (${Date.now() - t0} ms)`);

    const t1 = Date.now();
    await startApiServer(deadline);
    log(`jairouter-envtest: kube-apiserver ${bins.versions.kubernetes} ready on ${server} (${Date.now() - t1} ms)`);
  } catch (err) {
    process.off('exit', onExit);
    await stopControlPlane(dir);
    throw err;
  }
  let stopped: Promise<void> | undefined;
  return {
    ...access,
    dir,
    etcdUrl,
    binDir: p.bin,
    helmPath: p.helm,
    versions: bins.versions,
    apiServer: {
      async stop() {
        const i = children.findIndex((c) => c.name === 'kube-apiserver');
        const rec = state.processes.find((r) => r.name === 'kube-apiserver');
        if (i < 0 || !rec) return;
        await stopProcess(rec);
        children.splice(i, 1);
        state.processes = state.processes.filter((r) => r !== rec);
        await writeFile(p.state, JSON.stringify(state, null, 2));
      },
      async start() {
        if (children.some((c) => c.name === 'kube-apiserver')) throw new Error('kube-apiserver is running already');
        const t = Date.now();
        await startApiServer(t + (opts.readyTimeoutMs ?? 90_000));
        log(`jairouter-envtest: kube-apiserver started again (${Date.now() - t} ms)`);
      },
    },
    stop: () => {
      process.off('exit', onExit);
      stopped ??= stopControlPlane(dir);
      return stopped;
    },
  };
}

/** The control plane recorded in DIR (by start in this or another process), if its processes
 * are alive. */
export async function readControlPlane(dir: string): Promise<(KubeAccess & { etcdUrl: string; alive: boolean }) | undefined> {
  const state = await readState(dir);
  if (!state) return undefined;
  const p = paths(dir);
  const pki = pkiFiles(p.pki);
  return {
    server: state.server,
    etcdUrl: state.etcdUrl,
    caCert: pki.caCert,
    adminCert: pki.adminCert,
    adminKey: pki.adminKey,
    kubeconfig: p.kubeconfig,
    kubectlPath: p.kubectl,
    alive: state.processes.length > 0 && state.processes.every((r) => isRunning(r)),
  };
}

/** Stops the processes recorded in DIR (kube-apiserver first, SIGTERM to each process group,
 * SIGKILL after 10 s) and removes what start put there. Safe to call twice. */
export async function stopControlPlane(dir: string): Promise<void> {
  const state = await readState(dir);
  for (const rec of [...(state?.processes ?? [])].reverse()) await stopProcess(rec);
  await cleanDir(dir, state?.removeDir ?? false);
}

/** SIGTERM to the process group, SIGKILL after 10 s; resolves once it is gone. */
async function stopProcess(rec: ProcessRecord): Promise<void> {
  if (!isRunning(rec)) return;
  signalGroup(rec.pid, 'SIGTERM');
  const until = Date.now() + 10_000;
  while (isRunning(rec) && Date.now() < until) await sleep(50);
  if (isRunning(rec)) {
    signalGroup(rec.pid, 'SIGKILL');
    while (isRunning(rec)) await sleep(20);
  }
}

async function readState(dir: string): Promise<State | undefined> {
  try {
    return JSON.parse(await readFile(join(dir, STATE), 'utf8')) as State;
  } catch {
    return undefined;
  }
}

async function cleanDir(dir: string, removeDir: boolean): Promise<void> {
  if (removeDir) return rm(dir, { recursive: true, force: true });
  await Promise.all(ENTRIES.map((e) => rm(join(dir, e), { recursive: true, force: true })));
  // The directory itself only goes when nothing else is in it.
  if (existsSync(dir) && (await readdir(dir)).length === 0) await rmdir(dir).catch(() => {});
}

/** On process exit (tests that forgot stop(), a crash): no waiting possible, so SIGKILL. */
function killSync(state: State, dir: string): void {
  for (const rec of state.processes) if (isRunning(rec)) signalGroup(rec.pid, 'SIGKILL');
  if (state.removeDir) rmSync(dir, { recursive: true, force: true });
}

/** When this process dies without running its exit handlers (a signal, a test runner killing
 * its worker), a detached shell kills the server's process group (and removes a temporary
 * DIR); it ends by itself when the server stops first. */
function watchdog(serverPid: number, removeDir: string | undefined): void {
  const script = 'while kill -0 "$1" 2>/dev/null && kill -0 "$2" 2>/dev/null; do sleep 1; done; ' +
    'if kill -0 "$2" 2>/dev/null; then kill -s KILL -- "-$2" 2>/dev/null; sleep 1; [ -n "$3" ] && rm -rf -- "$3"; fi';
  spawn('sh', ['-c', script, 'jairouter-envtest-watchdog', String(process.pid), String(serverPid), removeDir ?? ''], {
    detached: true,
    stdio: 'ignore',
  }).unref();
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

/** Alive and still the binary we started: a recycled pid is not ours to kill. */
function isRunning(rec: ProcessRecord): boolean {
  try {
    const stat = readFileSync(`/proc/${rec.pid}/stat`, 'utf8');
    if (/^\d+ \(.*\) Z/.test(stat)) return false;
    const argv0 = readFileSync(`/proc/${rec.pid}/cmdline`, 'utf8').split('\0')[0];
    return argv0 === rec.binary;
  } catch {
    return false;
  }
}

async function distinctPorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}

function etcdHealthy(etcdUrl: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = httpGet(`${etcdUrl}/health`, { timeout: 2_000 }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString('utf8')));
      res.on('end', () => resolve(res.statusCode === 200 && /"health":\s*"true"/.test(text)));
      res.on('error', () => resolve(false));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

function logTail(file: string, lines = 25): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}
