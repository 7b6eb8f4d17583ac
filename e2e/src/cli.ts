// jairouter-envtest: a local kube-apiserver + etcd for people (and scripts) without Docker.
//   jairouter-envtest up --dir DIR     starts it in the background, prints KUBECONFIG=DIR/kubeconfig
//   jairouter-envtest down --dir DIR   stops it and removes its data
//   jairouter-envtest build            builds the binaries (kube-apiserver, etcd, kubectl, helm)
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { e2eConfig } from '@jairouter/testkit/config';
import { ensureBinaries, kubeRequest, readControlPlane, startControlPlane, stopControlPlane } from '@jairouter/testkit/control-plane';

const USAGE = `Usage:
  jairouter-envtest up --dir DIR [--timeout SECONDS]
      Starts etcd and kube-apiserver in the background (data, certificates, logs and a
      kubeconfig in DIR; kubectl and helm linked into DIR/bin) and prints KUBECONFIG=DIR/kubeconfig.
      Builds the binaries first when they are missing (needs Go; the first build takes minutes).
  jairouter-envtest down --dir DIR
      Stops both and removes what up put in DIR.
  jairouter-envtest build
      Only builds the binaries (cached under $JAIROUTER_CACHE/k8s, default ~/.cache/jairouter/k8s).`;

export async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { dir: { type: 'string' }, timeout: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
    });
  } catch (err) {
    console.error(`jairouter-envtest: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const command = positionals[0];
  if (values.help || command === undefined || command === 'help') {
    console.log(USAGE);
    return command === undefined && !values.help ? 2 : 0;
  }
  if (positionals.length > 1) {
    console.error(`jairouter-envtest: unexpected ${JSON.stringify(positionals[1])}\n${USAGE}`);
    return 2;
  }
  const log = (line: string): void => void process.stderr.write(`${line}\n`);
  const cacheDir = e2eConfig().cacheDir;
  try {
    switch (command) {
      case 'build': {
        const bins = await ensureBinaries({ cacheDir, log });
        for (const b of [bins.kubeApiserver, bins.etcd, bins.kubectl, bins.helm]) console.log(b);
        return 0;
      }
      case 'up': {
        const dir = requireDir(values.dir);
        let timeoutMs: number | undefined;
        if (values.timeout !== undefined) {
          timeoutMs = Number(values.timeout) * 1000;
          if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new UsageError(`--timeout must be a positive number of seconds, got ${JSON.stringify(values.timeout)}`);
        }
        const running = await readControlPlane(dir);
        if (running?.alive && (await kubeRequest(running, '/readyz').catch(() => undefined))?.status === 200) {
          log(`jairouter-envtest: already running in ${dir} (${running.server})`);
          console.log(`KUBECONFIG=${running.kubeconfig}`);
          return 0;
        }
        if (running) await stopControlPlane(dir); // left over from a crash or a reboot
        const bins = await ensureBinaries({ cacheDir, log });
        const cp = await startControlPlane({ dir, binaries: bins, detached: true, log, ...(timeoutMs ? { readyTimeoutMs: timeoutMs } : {}) });
        log(`jairouter-envtest: up; logs in ${dir}/logs. Try:\n  export KUBECONFIG=${cp.kubeconfig} PATH=${cp.binDir}:$PATH\n  kubectl get --raw /version\n  jairouter-envtest down --dir ${dir}`);
        console.log(`KUBECONFIG=${cp.kubeconfig}`);
        return 0;
      }
      case 'down': {
        const dir = requireDir(values.dir);
        const running = await readControlPlane(dir);
        await stopControlPlane(dir);
        log(running ? `jairouter-envtest: stopped and removed ${dir}` : `jairouter-envtest: nothing recorded in ${dir}`);
        return 0;
      }
      default:
        throw new UsageError(`unknown command ${JSON.stringify(command)}`);
    }
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`jairouter-envtest: ${err.message}\n${USAGE}`);
      return 2;
    }
    console.error(`jairouter-envtest: ${(err as Error).message}`);
    return 1;
  }
}

class UsageError extends Error {}

function requireDir(dir: string | undefined): string {
  if (!dir) throw new UsageError('--dir DIR is required');
  return resolve(dir);
}
