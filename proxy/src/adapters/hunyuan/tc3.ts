import { createHash, createHmac } from 'node:crypto';

/**
 * Tencent Cloud API signature v3 (TC3-HMAC-SHA256) for a POST with a JSON body, signing the
 * content-type and host headers. Pure: the time comes in as `timestamp` (Unix seconds).
 */
export interface Tc3Request {
  secretId: string;
  secretKey: string;
  /** The product, e.g. `hunyuan`: the first label of the host and part of the credential scope. */
  service: string;
  host: string;
  contentType: string;
  payload: string | Uint8Array;
  /** Unix seconds; the date of the credential scope is its UTC date. */
  timestamp: number;
}

const ALGORITHM = 'TC3-HMAC-SHA256';
const SIGNED_HEADERS = 'content-type;host';

function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

/** The UTC date (YYYY-MM-DD) of a Unix-seconds timestamp. */
export function tc3Date(timestamp: number): string {
  return new Date(timestamp * 1000).toISOString().slice(0, 10);
}

export function canonicalRequest(r: Pick<Tc3Request, 'host' | 'contentType' | 'payload'>): string {
  const headers = `content-type:${r.contentType.trim().toLowerCase()}\nhost:${r.host.trim().toLowerCase()}\n`;
  return ['POST', '/', '', headers, SIGNED_HEADERS, sha256Hex(r.payload)].join('\n');
}

export function stringToSign(r: Omit<Tc3Request, 'secretId' | 'secretKey'>): string {
  const scope = `${tc3Date(r.timestamp)}/${r.service}/tc3_request`;
  return [ALGORITHM, String(r.timestamp), scope, sha256Hex(canonicalRequest(r))].join('\n');
}

/** The hex signature of a request. */
export function tc3Signature(r: Omit<Tc3Request, 'secretId'>): string {
  const secretDate = hmac(`TC3${r.secretKey}`, tc3Date(r.timestamp));
  const secretService = hmac(secretDate, r.service);
  const secretSigning = hmac(secretService, 'tc3_request');
  return createHmac('sha256', secretSigning).update(stringToSign(r), 'utf8').digest('hex');
}

/** The Authorization header value of a request. */
export function tc3Authorization(r: Tc3Request): string {
  const scope = `${tc3Date(r.timestamp)}/${r.service}/tc3_request`;
  return `${ALGORITHM} Credential=${r.secretId}/${scope}, SignedHeaders=${SIGNED_HEADERS}, Signature=${tc3Signature(r)}`;
}
