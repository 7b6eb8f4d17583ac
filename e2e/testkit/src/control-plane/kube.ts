// A minimal client for the local control plane: raw HTTPS requests with the admin client
// certificate (exact status codes and API error messages, no client library in between), a
// command runner (kubectl, helm) and kubectl bound to the control plane's kubeconfig.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { stringify } from 'yaml';

export interface KubeAccess {
  /** https://127.0.0.1:PORT */
  server: string;
  caCert: string;
  adminCert: string;
  adminKey: string;
  kubeconfig: string;
  kubectlPath: string;
}

export interface KubeResponse {
  status: number;
  text: string;
  /** The parsed JSON body, or undefined when the body is not JSON. */
  body: unknown;
}

export interface KubeRequestOptions {
  method?: string;
  /** An object is sent as JSON (or as YAML/JSON under the given contentType); a string as is. */
  body?: unknown;
  contentType?: string;
  timeoutMs?: number;
}

// Read per request: a control plane restarted in the same directory has new certificates.
function credsOf(access: KubeAccess): { ca: Buffer; cert: Buffer; key: Buffer } {
  return { ca: readFileSync(access.caCert), cert: readFileSync(access.adminCert), key: readFileSync(access.adminKey) };
}

/** A kubeconfig for kubectl, helm and the operator: the admin client certificate, inlined. */
export function kubeconfigYaml(access: Pick<KubeAccess, 'server' | 'caCert' | 'adminCert' | 'adminKey'>): string {
  const b64 = (f: string): string => readFileSync(f).toString('base64');
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'envtest', cluster: { server: access.server, 'certificate-authority-data': b64(access.caCert) } }],
    users: [{ name: 'admin', user: { 'client-certificate-data': b64(access.adminCert), 'client-key-data': b64(access.adminKey) } }],
    contexts: [{ name: 'envtest', context: { cluster: 'envtest', user: 'admin' } }],
    'current-context': 'envtest',
    preferences: {},
  });
}

/** One request to the API server as the admin user. Never throws on HTTP error statuses. */
export function kubeRequest(access: KubeAccess, path: string, opts: KubeRequestOptions = {}): Promise<KubeResponse> {
  const url = new URL(path, access.server);
  const payload = opts.body === undefined ? undefined : typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
  const headers: Record<string, string> = { accept: 'application/json' };
  if (payload !== undefined) headers['content-type'] = opts.contentType ?? 'application/json';
  return new Promise((resolve, reject) => {
    const req = request(url, { method: opts.method ?? 'GET', headers, ...credsOf(access), timeout: opts.timeoutMs ?? 15_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch {
          body = undefined;
        }
        resolve({ status: res.statusCode ?? 0, text, body });
      });
    });
    req.on('timeout', () => req.destroy(new Error(`${opts.method ?? 'GET'} ${url.pathname}: no answer in ${opts.timeoutMs ?? 15_000} ms`)));
    req.on('error', reject);
    req.end(payload);
  });
}

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command (kubectl, helm); resolves with its exit code (1 when killed by the timeout),
 * never throws on failure, only when it cannot be started. */
export function runCommand(
  cmd: string,
  args: string[],
  opts: { input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      cmd,
      args,
      { env: { ...process.env, ...opts.env }, timeout: opts.timeoutMs ?? 60_000, maxBuffer: 16 << 20 },
      (err, stdout, stderr) => {
        const e = err as (NodeJS.ErrnoException & { code?: unknown }) | null;
        if (e && typeof e.code === 'string') return reject(e);
        resolve({ code: e ? (typeof e.code === 'number' ? e.code : 1) : 0, stdout, stderr });
      },
    );
    child.stdin?.end(opts.input);
  });
}

/** Runs kubectl against the control plane; resolves with its exit code, never throws on failure. */
export function kubectl(access: KubeAccess, args: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<CommandResult> {
  return runCommand(access.kubectlPath, args, { ...opts, env: { KUBECONFIG: access.kubeconfig } });
}
