// Certificates and keys for a local control plane: a CA, the API server's serving certificate
// (so clients verify it against our CA instead of skipping verification), an admin client
// certificate in system:masters, and the service-account signing key pair (TokenRequest and
// TokenReview need it). Certificates come from the openssl CLI (node:crypto cannot issue
// X.509); keys are EC P-256, quick to generate.
import { execFile } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface Pki {
  dir: string;
  caCert: string;
  caKey: string;
  servingCert: string;
  servingKey: string;
  adminCert: string;
  adminKey: string;
  serviceAccountKey: string;
  serviceAccountPub: string;
}

// Our own config, so the machine's openssl.cnf adds nothing we did not ask for.
const OPENSSL_CNF = `[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign,digitalSignature
subjectKeyIdentifier = hash
[serving]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost,IP:127.0.0.1,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,IP:10.0.0.1
authorityKeyIdentifier = keyid
[client]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = clientAuth
authorityKeyIdentifier = keyid
`;

async function openssl(args: string[]): Promise<void> {
  try {
    await run('openssl', args);
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') throw new Error('the local control plane needs the openssl CLI (apt-get install openssl)');
    throw new Error(`openssl ${args[0]} failed: ${e.stderr ?? e.message}`);
  }
}

/** Where generatePki(dir) puts each file. */
export function pkiFiles(dir: string): Pki {
  const p = (name: string): string => join(dir, name);
  return {
    dir,
    caCert: p('ca.crt'),
    caKey: p('ca.key'),
    servingCert: p('serving.crt'),
    servingKey: p('serving.key'),
    adminCert: p('admin.crt'),
    adminKey: p('admin.key'),
    serviceAccountKey: p('sa.key'),
    serviceAccountPub: p('sa.pub'),
  };
}

export async function generatePki(dir: string): Promise<Pki> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const days = '365';
  const p = (name: string): string => join(dir, name);
  const cnf = p('openssl.cnf');
  await writeFile(cnf, OPENSSL_CNF);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

  await openssl(['req', '-x509', '-new', '-config', cnf, '-extensions', 'ca', ...ec,
    '-keyout', p('ca.key'), '-out', p('ca.crt'), '-days', days, '-subj', '/CN=jairouter-envtest-ca']);

  const issue = async (name: string, subject: string, extensions: string): Promise<void> => {
    await openssl(['req', '-new', '-config', cnf, ...ec, '-keyout', p(`${name}.key`), '-out', p(`${name}.csr`), '-subj', subject]);
    await openssl(['x509', '-req', '-in', p(`${name}.csr`), '-CA', p('ca.crt'), '-CAkey', p('ca.key'),
      '-set_serial', `0x${randomBytes(16).toString('hex').replace(/^[89a-f]/, '1')}`,
      '-days', days, '-extfile', cnf, '-extensions', extensions, '-out', p(`${name}.crt`)]);
  };
  await issue('serving', '/CN=kube-apiserver', 'serving');
  await issue('admin', '/O=system:masters/CN=admin', 'client');

  const sa = generateKeyPairSync('ec', {
    namedCurve: 'P-256',
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  await writeFile(p('sa.key'), sa.privateKey, { mode: 0o600 });
  await writeFile(p('sa.pub'), sa.publicKey);

  return pkiFiles(dir);
}
