import { homedir, hostname } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseDuration } from '@jairouter/crds/duration';

/** Everything the operator reads from its command line and environment, read once here. */
export interface OperatorOptions {
  /** Path of a kubeconfig; undefined = $KUBECONFIG, else ~/.kube/config, else in-cluster (kubeconfig.ts). */
  kubeconfig: string | undefined;
  /** $KUBECONFIG, looked at when --kubeconfig is not given. */
  kubeconfigEnv: string | undefined;
  /** ~/.kube/config, looked at after $KUBECONFIG. */
  homeKubeconfig: string;
  /** Namespaces to watch; empty = all. */
  namespaces: string[];
  /** Snapshot stream listener, handed to the distribution side (HOST:PORT or :PORT). */
  listen: string;
  adminListen: { host: string; port: number };
  leaderElect: boolean;
  podNamespace: string;
  podName: string;
  snapshotSecret: string;
  proxyServiceAccount: string;
  serviceName: string;
  relistMs: number;
  logLevel: string;
  /** The audit trail: a file path (appended), `stdout` or `stderr`; undefined = none. */
  auditLog?: string;
}

export class UsageError extends Error {}

export const USAGE = `Usage: jairouter-operator [options]
       jairouter-operator compile -f PATH [-f PATH ...]   (offline; see compile --help)

  --kubeconfig PATH            kubeconfig file (default: $KUBECONFIG, else ~/.kube/config, else
                               the ServiceAccount of the Pod it runs in)
  --namespace NS               watch only this namespace (repeatable; default: all namespaces)
  --listen HOST:PORT           snapshot stream for the proxies, HTTPS (default :8443)
  --admin-listen HOST:PORT     /healthz, /readyz, /metrics (default 0.0.0.0:9090)
  --leader-elect[=true|false]  elect one leader through a Lease (default true); --no-leader-elect
                               makes this replica write status on its own
  --pod-namespace NS           the operator's namespace: Lease, TLS and snapshot Secrets, CA
                               ConfigMap (default $POD_NAMESPACE or jairouter-system)
  --pod-name NAME              identity in the Lease and in Events (default $POD_NAME or the hostname)
  --snapshot-secret NAME       Secret the leader writes the snapshot to (default jairouter-snapshot)
  --proxy-service-account NS/NAME
                               ServiceAccount whose tokens may subscribe to the stream
                               (default jairouter-system/jairouter-proxy)
  --service-name NAME          the operator's Service, for the serving certificate (default jairouter-operator)
  --relist-period DURATION     full relist of every watch against silent stalls (default 5m)
  --audit-log TARGET           one JSON record per config version published and per object whose
                               outcome changed (docs/audit.md), to a file (appended), stdout or stderr
  --log-level LEVEL            trace | debug | info | warn | error (default info; env LOG_LEVEL)
  -h, --help                   this text`;

export function parseHostPort(flag: string, v: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(v);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new UsageError(`${flag}: expected HOST:PORT, got ${JSON.stringify(v)}`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

export function parseOptions(argv: string[], env: NodeJS.ProcessEnv): OperatorOptions | 'help' {
  // parseArgs has no `--flag=false` for booleans; Kubernetes manifests conventionally write it so.
  let leaderElectValue: boolean | undefined;
  const args: string[] = [];
  for (const a of argv) {
    const m = /^--leader-elect=(.*)$/.exec(a);
    if (!m) {
      args.push(a);
      continue;
    }
    if (m[1] !== 'true' && m[1] !== 'false') throw new UsageError(`--leader-elect: expected true or false, got ${JSON.stringify(m[1])}`);
    leaderElectValue = m[1] === 'true';
  }
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        kubeconfig: { type: 'string' },
        namespace: { type: 'string', multiple: true },
        listen: { type: 'string' },
        'admin-listen': { type: 'string' },
        'leader-elect': { type: 'boolean' },
        'pod-namespace': { type: 'string' },
        'pod-name': { type: 'string' },
        'snapshot-secret': { type: 'string' },
        'proxy-service-account': { type: 'string' },
        'service-name': { type: 'string' },
        'relist-period': { type: 'string' },
        'log-level': { type: 'string' },
        'audit-log': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
      allowNegative: true,
    }));
  } catch (e) {
    throw new UsageError(`${(e as Error).message}\n\n${USAGE}`);
  }
  if (values.help) return 'help';

  const namespaces = [...new Set(values.namespace ?? [])];
  for (const ns of namespaces) if (!DNS_LABEL.test(ns)) throw new UsageError(`--namespace: not a namespace name: ${JSON.stringify(ns)}`);
  const podNamespace = values['pod-namespace'] ?? env.POD_NAMESPACE ?? 'jairouter-system';
  if (!DNS_LABEL.test(podNamespace)) throw new UsageError(`--pod-namespace: not a namespace name: ${JSON.stringify(podNamespace)}`);
  const proxyServiceAccount = values['proxy-service-account'] ?? 'jairouter-system/jairouter-proxy';
  if (!/^[^/]+\/[^/]+$/.test(proxyServiceAccount)) throw new UsageError(`--proxy-service-account: expected NAMESPACE/NAME, got ${JSON.stringify(proxyServiceAccount)}`);
  const listen = values.listen ?? ':8443';
  parseHostPort('--listen', listen);
  let relistMs: number;
  try {
    relistMs = parseDuration(values['relist-period'] ?? '5m');
  } catch {
    throw new UsageError(`--relist-period: expected a duration like 5m, got ${JSON.stringify(values['relist-period'])}`);
  }
  if (relistMs < 1000) throw new UsageError('--relist-period: at least 1s');
  const logLevel = values['log-level'] ?? env.LOG_LEVEL ?? 'info';
  if (!['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'].includes(logLevel)) {
    throw new UsageError(`--log-level: unknown level ${JSON.stringify(logLevel)}`);
  }
  return {
    kubeconfig: values.kubeconfig,
    kubeconfigEnv: env.KUBECONFIG,
    homeKubeconfig: join(env.HOME || homedir(), '.kube', 'config'),
    namespaces,
    listen,
    adminListen: parseHostPort('--admin-listen', values['admin-listen'] ?? '0.0.0.0:9090'),
    leaderElect: leaderElectValue ?? values['leader-elect'] ?? true,
    podNamespace,
    podName: values['pod-name'] ?? env.POD_NAME ?? hostname(),
    snapshotSecret: values['snapshot-secret'] ?? 'jairouter-snapshot',
    proxyServiceAccount,
    serviceName: values['service-name'] ?? 'jairouter-operator',
    relistMs,
    logLevel,
    ...(values['audit-log'] ? { auditLog: values['audit-log'] } : {}),
  };
}
