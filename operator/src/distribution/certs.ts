// The operator's own small PKI: a self-signed CA and a serving certificate for the snapshot
// stream. node:crypto makes keys and reads certificates but cannot issue them, and no X.509
// library is installed, so issuing goes through the `openssl` CLI (OpenSSL 3: `req -x509 -CA`).
import { execFile } from 'node:child_process';
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const DAY_MS = 86_400_000;
export const CA_VALIDITY_DAYS = 3650;
export const SERVING_VALIDITY_DAYS = 365;
/** Renew the serving certificate when less than this is left. */
export const RENEW_BEFORE_MS = 30 * DAY_MS;
/** Renew the CA (and so everything) when less than this is left: proxies need time to pick up a new ca.crt. */
export const CA_RENEW_BEFORE_MS = 400 * DAY_MS;

export interface TlsBundle {
  caCert: string;
  caKey: string;
  /** Serving certificate (PEM) signed by the CA. */
  cert: string;
  key: string;
}

export class OpensslMissingError extends Error {}

function ecKey(): string {
  return generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
}

function openssl(args: string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('openssl', args, { cwd, timeout: 30_000 }, (err, _stdout, stderr) => {
      if (!err) return resolve();
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        reject(new OpensslMissingError('the openssl command is needed to issue the operator\'s TLS certificates and was not found on PATH; install it in the image (e.g. apt-get install openssl) or pre-create the Secret'));
      } else {
        reject(new Error(`openssl ${args[0]} failed: ${String(stderr).trim() || err.message}`));
      }
    });
  });
}

/**
 * Our own openssl config, so the machine's openssl.cnf (Debian's adds v3_ca extensions to every
 * `req -x509`) puts nothing into the certificates that we did not ask for.
 */
function opensslConfig(cn: string, sans: string): string {
  return `[req]
distinguished_name = dn
prompt = no
[dn]
O = jairouter
CN = ${cn}
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[serving]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
${sans ? `subjectAltName = ${sans}` : ''}
`;
}

async function inTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'jairouter-pki-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A new CA (10 years) and a serving certificate for `sans` signed by it. */
export async function generateBundle(sans: string[]): Promise<TlsBundle> {
  const caKey = ecKey();
  const caCert = await inTempDir(async (dir) => {
    await writeFile(join(dir, 'ca.key'), caKey, { mode: 0o600 });
    await writeFile(join(dir, 'openssl.cnf'), opensslConfig('jairouter-operator-ca', ''));
    await openssl(['req', '-x509', '-new', '-config', 'openssl.cnf', '-extensions', 'ca', '-key', 'ca.key', '-sha256', '-days', String(CA_VALIDITY_DAYS), '-out', 'ca.crt'], dir);
    return readFile(join(dir, 'ca.crt'), 'utf8');
  });
  return { caCert, caKey, ...(await issueServing({ caCert, caKey }, sans)) };
}

/** A serving certificate (1 year) for `sans` (DNS names and IP addresses), signed by the CA. */
export async function issueServing(ca: { caCert: string; caKey: string }, sans: string[]): Promise<{ cert: string; key: string }> {
  const key = ecKey();
  const san = sans.map((s) => (/^[\d.]+$|:/.test(s) ? `IP:${s}` : `DNS:${s}`)).join(',');
  const cert = await inTempDir(async (dir) => {
    await writeFile(join(dir, 'ca.key'), ca.caKey, { mode: 0o600 });
    await writeFile(join(dir, 'ca.crt'), ca.caCert);
    await writeFile(join(dir, 'tls.key'), key, { mode: 0o600 });
    await writeFile(join(dir, 'openssl.cnf'), opensslConfig(sans[0] ?? 'jairouter-operator', san));
    await openssl(
      ['req', '-x509', '-new', '-config', 'openssl.cnf', '-extensions', 'serving', '-key', 'tls.key', '-CA', 'ca.crt', '-CAkey', 'ca.key',
        '-sha256', '-days', String(SERVING_VALIDITY_DAYS), '-out', 'tls.crt'],
      dir,
    );
    return readFile(join(dir, 'tls.crt'), 'utf8');
  });
  return { cert, key };
}

function sanList(cert: X509Certificate): string[] {
  return (cert.subjectAltName ?? '')
    .split(',')
    .map((s) => s.trim().replace(/^(DNS|IP Address):/, ''))
    .filter(Boolean)
    .sort();
}

/**
 * What has to be (re)made for `bundle` to serve `sans` at `now`: nothing, the serving
 * certificate, or everything (no usable CA). Reasons are for the log.
 */
export function renewalNeeded(bundle: TlsBundle, sans: string[], now: number): { what: 'none' | 'serving' | 'all'; reason: string } {
  let ca: X509Certificate;
  let cert: X509Certificate;
  try {
    ca = new X509Certificate(bundle.caCert);
    cert = new X509Certificate(bundle.cert);
  } catch (e) {
    return { what: 'all', reason: `unreadable certificate: ${(e as Error).message}` };
  }
  if (Date.parse(ca.validTo) - now < CA_RENEW_BEFORE_MS) return { what: 'all', reason: `CA expires ${ca.validTo}` };
  if (!cert.verify(ca.publicKey)) return { what: 'serving', reason: 'serving certificate not signed by the CA' };
  if (Date.parse(cert.validTo) - now < RENEW_BEFORE_MS) return { what: 'serving', reason: `serving certificate expires ${cert.validTo}` };
  if (sanList(cert).join(',') !== [...sans].sort().join(',')) return { what: 'serving', reason: 'the service names changed' };
  return { what: 'none', reason: '' };
}

/** The names the serving certificate covers: the Service's DNS names, localhost and 127.0.0.1. */
export function servingNames(service: string, namespace: string): string[] {
  return [`${service}.${namespace}.svc`, `${service}.${namespace}.svc.cluster.local`, service, `${service}.${namespace}`, 'localhost', '127.0.0.1'];
}
