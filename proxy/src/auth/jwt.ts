import { decodeJwt, decodeProtectedHeader, errors, jwtVerify, type CompactJWSHeaderParameters, type CryptoKey, type JWTPayload } from 'jose';
import { JwksRegistry, KeysUnavailable, StaticKeySet, type KeySource } from './jwks.ts';

export { JwksRegistry, type JwksRegistryOptions } from './jwks.ts';

export interface JwtIssuerSpec {
  issuer: string;
  /** Empty: aud is not checked. Otherwise aud must contain one of them. */
  audiences: string[];
  /** Exactly one of jwksUri and jwks. */
  jwksUri?: string;
  /** A JWKS JSON document (from a Secret). */
  jwks?: string;
  /** Claim naming the user; a top-level name, or a dotted path (see `readClaim`). */
  userClaim: string;
  /** Claim holding roles: an array of strings, or a space/comma separated string. */
  rolesClaim?: string;
}

export type JwtResult =
  | { ok: true; issuer: string; user: string; roles: string[]; expiresAt?: number }
  | { ok: false; reason: string };

/** Asymmetric only: a symmetric alg would let anyone holding the public JWKS sign (alg confusion). */
export const ACCEPTED_ALGORITHMS: readonly string[] = [
  'RS256', 'RS384', 'RS512',
  'PS256', 'PS384', 'PS512',
  'ES256', 'ES384', 'ES512',
  'EdDSA', 'Ed25519',
];
const ACCEPTED = new Set(ACCEPTED_ALGORITHMS);

/** Seconds of clock skew tolerated on exp and nbf. */
export const CLOCK_TOLERANCE_S = 60;

/**
 * Cheap shape test, no crypto: three base64url segments, the first decoding to a JSON
 * object with a string alg. The third may be empty so that an unsecured (`alg: none`)
 * token is still told apart from an API key and refused as such.
 */
export function looksLikeJwt(token: string): boolean {
  return headerOf(token) !== undefined;
}

interface IssuerEntry {
  readonly spec: JwtIssuerSpec;
  /** Undefined when the spec is unusable; `problem` then says why. */
  readonly source: KeySource | undefined;
  readonly problem: string | undefined;
}

/** Verifies tokens for a set of issuers (one tenant's, or all tenants': the caller decides). */
export class JwtVerifier {
  readonly #byIssuer = new Map<string, IssuerEntry[]>();
  readonly #now: () => number;
  /** The JWKS URIs this verifier reads: pass the union over live verifiers to `JwksRegistry.retainOnly` after a config swap. */
  readonly jwksUris: readonly string[];

  /** Never throws: an unusable spec (both or neither JWKS source, a bad document) refuses its tokens with the reason. */
  constructor(issuers: JwtIssuerSpec[], registry: JwksRegistry) {
    this.#now = registry.now;
    this.jwksUris = [...new Set(issuers.flatMap((spec) => (spec.jwksUri === undefined ? [] : [spec.jwksUri])))];
    for (const spec of issuers) {
      const entry = makeEntry(spec, registry);
      const list = this.#byIssuer.get(spec.issuer);
      if (list) list.push(entry);
      else this.#byIssuer.set(spec.issuer, [entry]);
    }
  }

  /** The unverified iss and aud of a token (to pick the tenant before verifying); undefined if not a JWT. */
  static peek(token: string): { iss?: string; aud: string[] } | undefined {
    if (!headerOf(token)) return undefined;
    const payload = payloadOf(token);
    if (!payload) return undefined;
    const raw: unknown[] = typeof payload.aud === 'string' ? [payload.aud] : Array.isArray(payload.aud) ? payload.aud : [];
    const aud = raw.filter((a): a is string => typeof a === 'string');
    return typeof payload.iss === 'string' ? { iss: payload.iss, aud } : { aud };
  }

  /**
   * Picks the issuer spec by the token's (unverified) iss, then verifies fully. Never
   * throws. When several specs share the issuer, the first that accepts the token wins;
   * if none does, the first one's reason is returned.
   */
  async verify(token: string): Promise<JwtResult> {
    try {
      const header = headerOf(token);
      if (!header) return refuse('not a JWT');
      // Refused before any key lookup, so a forged alg never costs a JWKS fetch.
      if (header.alg === 'none') return refuse('alg none is not accepted');
      if (!ACCEPTED.has(header.alg)) return refuse(`alg ${quote(header.alg)} is not accepted (asymmetric algorithms only)`);
      const payload = payloadOf(token);
      if (!payload) return refuse('not a JWT: the payload is not a JSON object');
      if (typeof payload.iss !== 'string') return refuse('token has no iss claim');
      const entries = this.#byIssuer.get(payload.iss);
      if (!entries) return refuse(`issuer ${quote(payload.iss)} not trusted`);
      let first: JwtResult | undefined;
      for (const entry of entries) {
        const result = await this.#verifyWith(entry, token, header);
        if (result.ok) return result;
        first ??= result;
      }
      return first ?? refuse('issuer not trusted');
    } catch {
      // Not expected: every known failure is mapped below. No detail, it could echo input.
      return refuse('token could not be verified');
    }
  }

  async #verifyWith(entry: IssuerEntry, token: string, header: JWSHeader): Promise<JwtResult> {
    const { spec, source } = entry;
    if (!source) return refuse(`issuer ${quote(spec.issuer)} is misconfigured: ${entry.problem ?? 'no keys'}`);
    let keys: CryptoKey[];
    try {
      keys = await source.keys(header);
    } catch (err) {
      return refuse(keyLookupReason(err, spec.issuer, header));
    }
    let payload: JWTPayload | undefined;
    let failure: unknown;
    // More than one key only for a token without kid; any of them may have signed it.
    for (const key of keys) {
      try {
        ({ payload } = await jwtVerify(token, key, {
          algorithms: ACCEPTED_ALGORITHMS as string[],
          issuer: spec.issuer,
          ...(spec.audiences.length > 0 ? { audience: spec.audiences } : {}),
          clockTolerance: CLOCK_TOLERANCE_S,
          requiredClaims: ['exp'],
          currentDate: new Date(this.#now()),
        }));
        break;
      } catch (err) {
        failure = err;
        // A claim failure means the signature verified: no other key will do better.
        if (!(err instanceof errors.JWSSignatureVerificationFailed)) break;
      }
    }
    if (!payload) return refuse(verifyReason(failure, spec));

    const user = readClaim(payload, spec.userClaim);
    if (typeof user !== 'string' && typeof user !== 'number') {
      return refuse(`user claim ${quote(spec.userClaim)} is missing or not a string`);
    }
    const userText = String(user);
    if (userText === '') return refuse(`user claim ${quote(spec.userClaim)} is empty`);
    const result: JwtResult = {
      ok: true,
      issuer: spec.issuer,
      user: userText,
      roles: spec.rolesClaim === undefined ? [] : rolesOf(readClaim(payload, spec.rolesClaim)),
    };
    if (typeof payload.exp === 'number') result.expiresAt = payload.exp * 1000;
    return result;
  }
}

type JWSHeader = CompactJWSHeaderParameters;

function makeEntry(spec: JwtIssuerSpec, registry: JwksRegistry): IssuerEntry {
  if ((spec.jwksUri === undefined) === (spec.jwks === undefined)) {
    return { spec, source: undefined, problem: 'exactly one of jwksUri and jwks must be set' };
  }
  if (spec.jwksUri !== undefined) return { spec, source: registry.keySet(spec.jwksUri), problem: undefined };
  try {
    return { spec, source: new StaticKeySet(spec.jwks ?? ''), problem: undefined };
  } catch (err) {
    const detail = err instanceof errors.JWKSInvalid ? ` (${err.message})` : '';
    return { spec, source: undefined, problem: `the JWKS document is not usable${detail}` };
  }
}

function headerOf(token: string): JWSHeader | undefined {
  const parts = token.split('.');
  if (parts.length !== 3 || !B64URL.test(parts[0] ?? '') || !B64URL.test(parts[1] ?? '') || !B64URL_OR_EMPTY.test(parts[2] ?? '')) {
    return undefined;
  }
  try {
    const header = decodeProtectedHeader(token);
    return typeof header.alg === 'string' ? (header as JWSHeader) : undefined;
  } catch {
    return undefined;
  }
}
const B64URL = /^[A-Za-z0-9_-]+$/;
const B64URL_OR_EMPTY = /^[A-Za-z0-9_-]*$/;

function payloadOf(token: string): JWTPayload | undefined {
  try {
    return decodeJwt(token);
  } catch {
    return undefined;
  }
}

/**
 * A claim by name. A name present as a top-level claim is taken as is (namespaced
 * claims such as `https://example.com/roles` contain dots); otherwise a dotted name is
 * a path into nested objects, e.g. Keycloak's `realm_access.roles`.
 */
export function readClaim(payload: JWTPayload, name: string): unknown {
  if (Object.hasOwn(payload, name)) return payload[name];
  let value: unknown = payload;
  for (const part of name.split('.')) {
    if (typeof value !== 'object' || value === null || Array.isArray(value) || !Object.hasOwn(value, part)) {
      return undefined;
    }
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

/** Roles from an array of strings or a space/comma separated string; anything else gives none. */
export function rolesOf(value: unknown): string[] {
  if (typeof value === 'string') return value.split(/[\s,]+/).filter((r) => r !== '');
  if (Array.isArray(value)) return value.filter((r): r is string => typeof r === 'string' && r !== '');
  return [];
}

function keyLookupReason(err: unknown, issuer: string, header: JWSHeader): string {
  if (err instanceof KeysUnavailable) return `no keys for issuer ${quote(issuer)}: ${err.message}`;
  if (err instanceof errors.JWKSNoMatchingKey) {
    const kid = typeof header.kid === 'string' ? `kid ${quote(header.kid)}` : `alg ${header.alg} (no kid)`;
    return `no key of issuer ${quote(issuer)} matches ${kid}`;
  }
  if (err instanceof errors.JOSENotSupported || err instanceof errors.JWKInvalid || err instanceof errors.JWKSInvalid) {
    return `the key of issuer ${quote(issuer)} for this token cannot be used (${err.code})`;
  }
  return `key lookup for issuer ${quote(issuer)} failed`;
}

function verifyReason(err: unknown, spec: JwtIssuerSpec): string {
  if (err instanceof errors.JWTExpired) return 'token expired';
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'signature does not verify';
  if (err instanceof errors.JWTClaimValidationFailed) {
    switch (err.claim) {
      case 'nbf':
        return 'token not yet valid (nbf)';
      case 'iat':
        return 'token issued in the future (iat)';
      case 'aud': {
        const aud = err.payload.aud;
        const got = aud === undefined ? 'none' : quoteList(typeof aud === 'string' ? [aud] : aud);
        return `audience ${got} not accepted (accepted: ${quoteList(spec.audiences)})`;
      }
      case 'iss':
        return `issuer not trusted`;
      case 'exp':
        return err.reason === 'missing' ? 'token has no exp claim' : 'exp claim is not a number';
      default:
        return `claim ${quote(err.claim)} is not valid (${err.reason})`;
    }
  }
  if (err instanceof errors.JOSEAlgNotAllowed) return 'alg is not accepted';
  if (err instanceof errors.JWTInvalid || err instanceof errors.JWSInvalid) return 'malformed token';
  if (err instanceof errors.JOSENotSupported) return `token uses an unsupported feature (${err.code})`;
  // jose's own check of the key against the alg, e.g. an RSA key under 2048 bits.
  if (err instanceof TypeError) return `the key of issuer ${quote(spec.issuer)} cannot verify this token's alg`;
  return 'token could not be verified';
}

function refuse(reason: string): JwtResult {
  return { ok: false, reason };
}

/** Token-supplied text in a reason: quoted, printable, bounded (reasons end up in logs). */
function quote(value: unknown): string {
  const text = typeof value === 'string' ? value : String(value);
  const clean = text.replace(/[^\x20-\x7e]/g, '?');
  return JSON.stringify(clean.length > 100 ? `${clean.slice(0, 100)}...` : clean);
}

function quoteList(values: unknown[]): string {
  const shown = values.slice(0, 5).map(quote).join(', ');
  return `[${shown}${values.length > 5 ? ', ...' : ''}]`;
}
