import { createHash, createHmac, createSecretKey, type Hash, type Hmac, type KeyObject } from 'node:crypto';

/** AWS credentials as SigV4 needs them; `expiration` is set for temporary ones (web identity, SSO). */
export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string | undefined;
  expiration?: Date | undefined;
}

export type CredentialProvider = () => Promise<AwsCredentials>;

/**
 * HMAC keys as KeyObjects, made once per key the signer reuses: node:crypto's createHmac takes
 * 15 µs with a key given as a string or bytes against 3 µs with a KeyObject (Node 24: checking
 * what kind of key it was given costs more than the HMAC), and SigV4 makes two HMACs a request
 * with the same keys (the secret access key, for its signing-key cache; the day's signing key,
 * which that cache hands back as the same array).
 */
const stringKeys = new Map<string, KeyObject>();
const byteKeys = new WeakMap<object, KeyObject>();
const MAX_STRING_KEYS = 64; // rotated credentials would otherwise pile up

function keyOf(secret: string | ArrayBuffer | ArrayBufferView): KeyObject {
  if (typeof secret === 'string') {
    let k = stringKeys.get(secret);
    if (k === undefined) {
      if (stringKeys.size >= MAX_STRING_KEYS) stringKeys.clear();
      stringKeys.set(secret, (k = createSecretKey(Buffer.from(secret, 'utf8'))));
    }
    return k;
  }
  let k = byteKeys.get(secret);
  if (k === undefined) byteKeys.set(secret, (k = createSecretKey(toBytes(secret))));
  return k;
}

/** SHA-256 (or HMAC-SHA-256 with a secret) over node:crypto, in the shape the signer takes. */
export class Sha256 {
  private h: Hash | Hmac;
  private readonly secret: KeyObject | undefined;

  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.secret = secret === undefined ? undefined : keyOf(secret);
    this.h = this.fresh();
  }

  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.h.update(typeof data === 'string' ? data : toBytes(data));
  }

  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.h.digest()));
  }

  reset(): void {
    this.h = this.fresh();
  }

  private fresh(): Hash | Hmac {
    return this.secret === undefined ? createHash('sha256') : createHmac('sha256', this.secret);
  }
}

function toBytes(d: ArrayBuffer | ArrayBufferView): Uint8Array {
  return d instanceof ArrayBuffer ? new Uint8Array(d) : new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
}

export interface SignInput {
  credentials: AwsCredentials;
  region: string;
  /** scheme://host[:port] of the endpoint. */
  origin: string;
  path: string;
  /** Headers to sign besides host and the x-amz-* ones the signer adds. */
  headers: Record<string, string>;
  body: string;
  now: Date;
}

/**
 * The signer's module, imported on the first signed request (a proxy without SigV4 backends never
 * holds it), then kept: an `import()` resolves its specifier again every time it runs.
 */
let signerModule: Promise<typeof import('@smithy/signature-v4')> | undefined;

/**
 * SigV4 for service `bedrock`, signing what the AWS SDK signs: host, content-type,
 * content-length, x-amz-date, x-amz-content-sha256 (and x-amz-security-token for temporary
 * credentials). Returns those headers plus authorization; the host header itself is left to
 * the HTTP client, which sends the same value.
 */
export async function signRequest(input: SignInput): Promise<Record<string, string>> {
  const url = new URL(input.origin);
  const { SignatureV4 } = await (signerModule ??= import('@smithy/signature-v4'));
  const signer = new SignatureV4({
    service: 'bedrock',
    region: input.region,
    credentials: { accessKeyId: input.credentials.accessKeyId, secretAccessKey: input.credentials.secretAccessKey, ...(input.credentials.sessionToken ? { sessionToken: input.credentials.sessionToken } : {}) },
    sha256: Sha256,
  });
  const signed = await signer.sign(
    {
      method: 'POST',
      protocol: url.protocol,
      hostname: url.hostname,
      ...(url.port ? { port: Number(url.port) } : {}),
      path: input.path,
      query: {},
      headers: { ...input.headers, host: url.host },
      body: input.body,
    },
    { signingDate: input.now },
  );
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(signed.headers)) if (k !== 'host') out[k] = v;
  return out;
}

/** The region of a `bedrock-runtime[-fips].<region>.amazonaws.com` host (also VPC endpoint names), or undefined. */
export function regionFromHost(host: string): string | undefined {
  return /(?:^|\.)bedrock-runtime(?:-fips)?\.([a-z0-9-]+)\.(?:vpce\.)?amazonaws\.com(?:\.cn)?$/.exec(host)?.[1];
}

/** Refresh temporary credentials this long before they expire (the AWS SDK's own margin). */
const REFRESH_MARGIN_MS = 5 * 60 * 1000;

/**
 * One shared credential source, cached: the provider is asked again only when the cached
 * credentials come within five minutes of expiry; concurrent callers share one lookup, and a
 * failed lookup is not cached (the next request tries again).
 */
export function cachedCredentials(provider: CredentialProvider, now: () => number): CredentialProvider {
  let cached: AwsCredentials | null = null;
  let pending: Promise<AwsCredentials> | null = null;
  return () => {
    if (cached && (!cached.expiration || cached.expiration.getTime() - REFRESH_MARGIN_MS > now())) return Promise.resolve(cached);
    pending ??= provider().then(
      (c) => {
        cached = c;
        pending = null;
        return c;
      },
      (e: unknown) => {
        pending = null;
        throw e;
      },
    );
    return pending;
  };
}
