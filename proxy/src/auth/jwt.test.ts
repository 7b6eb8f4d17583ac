import { once } from 'node:events';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  base64url,
  exportJWK,
  exportSPKI,
  generateKeyPair,
  SignJWT,
  type CryptoKey,
  type JWK,
  type JWTPayload,
} from 'jose';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { JwksRegistry, JwtVerifier, looksLikeJwt, type JwtIssuerSpec, type JwtResult } from './jwt.ts';

const ISS = 'https://login.example.com';
const T0 = Date.UTC(2026, 0, 1, 12, 0, 0); // the fake clock's start, ms
const T0S = T0 / 1000;

interface SigningKey {
  alg: string;
  kid: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  jwk: JWK;
}

async function signingKey(alg: string, kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg);
  return { alg, kid, privateKey, publicKey, jwk: { ...(await exportJWK(publicKey)), kid, use: 'sig' } };
}

let rsa: SigningKey;
let ec: SigningKey;
let ed: SigningKey;
let ecNext: SigningKey;
let rogue: SigningKey;

beforeAll(async () => {
  [rsa, ec, ed, ecNext, rogue] = await Promise.all([
    signingKey('RS256', 'rsa-1'),
    signingKey('ES256', 'ec-1'),
    signingKey('EdDSA', 'ed-1'),
    signingKey('ES256', 'ec-2'),
    signingKey('ES256', 'rogue'),
  ]);
});

/** A token signed by `key` with sane defaults: iss, sub, aud jairouter, iat T0, exp T0 + 1 h. */
/** A claim set to undefined is left out. */
function token(key: SigningKey, claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}): Promise<string> {
  const payload: JWTPayload = { iss: ISS, sub: 'alice', aud: 'jairouter', iat: T0S, exp: T0S + 3600, ...claims };
  return new SignJWT(payload)
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT', ...header })
    .sign(key.privateKey);
}

/** An IdP's JWKS endpoint. `mode` decides the next answers; `hits` counts requests. */
class Idp {
  keys: JWK[] = [];
  mode: 'ok' | '500' | 'junk' | 'empty' | 'hang' = 'ok';
  hits = 0;
  readonly #server: Server;
  readonly #held: ServerResponse[] = [];

  constructor() {
    this.#server = createServer((_req, res) => {
      this.hits++;
      switch (this.mode) {
        case 'ok':
          res.setHeader('content-type', 'application/json').end(JSON.stringify({ keys: this.keys }));
          return;
        case '500':
          res.writeHead(500).end('upstream trouble');
          return;
        case 'junk':
          res.setHeader('content-type', 'text/html').end('<html>maintenance</html>');
          return;
        case 'empty':
          res.setHeader('content-type', 'application/json').end('{"keys":[]}');
          return;
        case 'hang':
          this.#held.push(res);
          return;
      }
    });
  }

  async start(): Promise<this> {
    this.#server.listen(0, '127.0.0.1');
    await once(this.#server, 'listening');
    return this;
  }

  get uri(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/.well-known/jwks.json`;
  }

  /** Answers the requests held in 'hang' mode with the current keys. */
  release(): void {
    for (const res of this.#held.splice(0)) res.setHeader('content-type', 'application/json').end(JSON.stringify({ keys: this.keys }));
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    this.#server.close();
    await once(this.#server, 'close');
  }
}

// Per-test state, torn down after each.
let idp: Idp | undefined;
let registry: JwksRegistry | undefined;
let clock = T0;

async function setUp(
  opts: { keys?: SigningKey[]; spec?: Partial<JwtIssuerSpec>; fetchTimeoutMs?: number; mode?: Idp['mode'] } = {},
) {
  idp = await new Idp().start();
  idp.keys = (opts.keys ?? [rsa, ec, ed]).map((k) => k.jwk);
  idp.mode = opts.mode ?? 'ok';
  clock = T0;
  registry = new JwksRegistry({
    now: () => clock,
    fetchTimeoutMs: opts.fetchTimeoutMs ?? 2_000,
    refreshIntervalMs: 300_000,
    minRefetchIntervalMs: 30_000,
  });
  const spec: JwtIssuerSpec = { issuer: ISS, audiences: ['jairouter'], jwksUri: idp.uri, userClaim: 'sub', ...opts.spec };
  const verifier = new JwtVerifier([spec], registry);
  const keySet = registry.keySet(idp.uri);
  return { idp, registry, verifier, keySet, spec };
}

afterEach(async () => {
  registry?.close();
  registry = undefined;
  vi.useRealTimers();
  await idp?.close();
  idp = undefined;
});

/** Every refusal is also checked for leaking the token: no reason may contain it or its signature. */
function expectRefused(result: JwtResult, tok: string, reason: RegExp): void {
  expect(result).toMatchObject({ ok: false, reason: expect.stringMatching(reason) });
  if (result.ok) return;
  const [header, payload, signature] = tok.split('.');
  expect(result.reason).not.toContain(tok);
  for (const part of [header, payload, signature]) {
    if (part && part.length > 8) expect(result.reason).not.toContain(part);
  }
}

describe('valid tokens', () => {
  it.each([
    ['RS256', () => rsa],
    ['ES256', () => ec],
    ['EdDSA', () => ed],
  ])('accepts %s and reports issuer, user and expiry', async (_alg, key) => {
    const { verifier, idp } = await setUp();
    const result = await verifier.verify(await token(key()));
    expect(result).toEqual({ ok: true, issuer: ISS, user: 'alice', roles: [], expiresAt: (T0S + 3600) * 1000 });
    expect(idp.hits).toBe(1);
  });

  it('fetches the JWKS once when the registry learns the URI, before any token, and shares it across verifiers', async () => {
    const { idp, keySet, registry, spec } = await setUp();
    await keySet.settled();
    expect(idp.hits).toBe(1);
    // A config swap builds a new verifier over the same registry: no refetch.
    const next = new JwtVerifier([{ ...spec }], registry);
    expect(await next.verify(await token(rsa))).toMatchObject({ ok: true });
    expect(idp.hits).toBe(1);
  });

  it('a config swap keeps the key sets of retained URIs and drops the others', async () => {
    const { idp, keySet, registry, verifier } = await setUp();
    await keySet.settled();
    const other = await new Idp().start();
    try {
      const both = new JwtVerifier(
        [
          { issuer: ISS, audiences: [], jwksUri: idp.uri, userClaim: 'sub' },
          { issuer: 'https://other.example.com', audiences: [], jwksUri: other.uri, userClaim: 'sub' },
        ],
        registry,
      );
      await registry.keySet(other.uri).settled();
      expect(other.hits).toBe(1);
      registry.retainOnly(verifier.jwksUris); // the next config no longer names `other`
      const again = new JwtVerifier([{ issuer: 'https://other.example.com', audiences: [], jwksUri: other.uri, userClaim: 'sub' }], registry);
      await registry.keySet(other.uri).settled();
      expect(other.hits).toBe(2);
      expect(idp.hits).toBe(1);
      void both;
      void again;
    } finally {
      await other.close();
    }
  });

  it('logs fetch failures without the query of the URI, which may carry credentials', async () => {
    const lines: string[] = [];
    idp = await new Idp().start();
    idp.mode = '500';
    registry = new JwksRegistry({ log: (msg, fields) => lines.push(`${msg} ${JSON.stringify(fields)}`) });
    const set = registry.keySet(`${idp.uri}?access_token=s3cr3t`);
    await set.settled();
    expect(lines).toEqual([expect.stringMatching(/^jwks fetch failed .*"error":"HTTP 500"/)]);
    expect(lines.join()).not.toContain('s3cr3t');
  });

  it('a token arriving before the first fetch ends waits for it and does not start another', async () => {
    const { idp, verifier } = await setUp({ mode: 'hang' });
    const first = verifier.verify(await token(ec));
    const second = verifier.verify(await token(rsa));
    await vi.waitFor(() => expect(idp.hits).toBe(1));
    idp.mode = 'ok';
    idp.release();
    expect(await first).toMatchObject({ ok: true });
    expect(await second).toMatchObject({ ok: true });
    expect(idp.hits).toBe(1);
  });

  it('verifies a token without kid against every key of its type', async () => {
    const { verifier } = await setUp({ keys: [ec, ecNext] });
    const tok = await new SignJWT({ iss: ISS, sub: 'bob', aud: 'jairouter', exp: T0S + 60 })
      .setProtectedHeader({ alg: 'ES256' })
      .sign(ecNext.privateKey);
    expect(await verifier.verify(tok)).toMatchObject({ ok: true, user: 'bob' });
  });
});

describe('key rotation and refetching', () => {
  it('picks up a kid the IdP adds, with one refetch; old keys keep working', async () => {
    const { idp, verifier, keySet } = await setUp();
    await keySet.settled();
    idp.keys = [ec.jwk, ecNext.jwk];
    expect(await verifier.verify(await token(ecNext))).toMatchObject({ ok: true });
    expect(idp.hits).toBe(2);
    expect(await verifier.verify(await token(ec))).toMatchObject({ ok: true });
    expect(await verifier.verify(await token(ecNext))).toMatchObject({ ok: true });
    expect(idp.hits).toBe(2);
  });

  it('a key the IdP removed stops verifying after the next refresh', async () => {
    const { idp, verifier, keySet } = await setUp();
    await keySet.settled();
    idp.keys = [ecNext.jwk];
    await keySet.refresh();
    const tok = await token(ec);
    expectRefused(await verifier.verify(tok), tok, /no key of issuer .* matches kid "ec-1"/);
  });

  it('a flood of unknown kids refetches at most once per interval', async () => {
    const { idp, verifier, keySet } = await setUp();
    await keySet.settled();
    const flood = async () =>
      Promise.all(
        Array.from({ length: 50 }, async (_, i) => verifier.verify(await token(rogue, {}, { kid: `bogus-${i}` }))),
      );
    for (const r of await flood()) expect(r).toMatchObject({ ok: false, reason: expect.stringMatching(/no key .* matches kid/) });
    expect(idp.hits).toBe(2);
    clock += 29_000;
    await flood();
    expect(idp.hits).toBe(2);
    clock += 1_000;
    await flood();
    expect(idp.hits).toBe(3);
  });

  it('refreshes in the background at the interval, off the request path', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const { idp, verifier, keySet } = await setUp();
    await keySet.settled();
    idp.keys = [ec.jwk, ecNext.jwk];
    vi.advanceTimersByTime(300_000);
    await keySet.settled();
    expect(idp.hits).toBe(2);
    expect(await verifier.verify(await token(ecNext))).toMatchObject({ ok: true });
    expect(idp.hits).toBe(2);
  });
});

describe('JWKS outages', () => {
  it.each(['500', 'junk', 'empty'] as const)('an IdP answering %s keeps the cached keys working', async (mode) => {
    const { idp, verifier, keySet } = await setUp();
    await keySet.settled();
    idp.mode = mode;
    await keySet.refresh();
    expect(idp.hits).toBe(2);
    expect(await verifier.verify(await token(rsa))).toMatchObject({ ok: true });
  });

  it('an IdP that is gone keeps the cached keys working', async () => {
    const { idp, verifier, keySet } = await setUp();
    await keySet.settled();
    await idp.close();
    await keySet.refresh();
    expect(keySet.fetches).toBe(2);
    expect(await verifier.verify(await token(ec))).toMatchObject({ ok: true });
    // An unknown kid while the IdP is down is refused, not hung, and rate-limited all the same.
    const tok = await token(rogue);
    expectRefused(await verifier.verify(tok), tok, /no key .* matches kid "rogue"/);
    expectRefused(await verifier.verify(tok), tok, /no key .* matches kid "rogue"/);
    expect(keySet.fetches).toBe(3);
  });

  it('with nothing cached and an IdP that does not answer, refuses within the fetch timeout', async () => {
    const { idp, verifier } = await setUp({ fetchTimeoutMs: 200, mode: 'hang' });
    const tok = await token(rsa);
    const result = await verifier.verify(tok);
    expectRefused(result, tok, /^no keys for issuer "https:\/\/login.example.com": JWKS unavailable: timed out after 200 ms$/);
    expect(idp.hits).toBe(1);
  });

  it('with nothing cached and a closed port, refuses with the cause', async () => {
    const down = await new Idp().start();
    const uri = down.uri;
    await down.close();
    clock = T0;
    registry = new JwksRegistry({ now: () => clock, fetchTimeoutMs: 2_000 });
    const verifier = new JwtVerifier([{ issuer: ISS, audiences: [], jwksUri: uri, userClaim: 'sub' }], registry);
    const tok = await token(rsa);
    expectRefused(await verifier.verify(tok), tok, /JWKS unavailable: fetch failed \(ECONNREFUSED\)/);
  });
});

describe('claims', () => {
  it('refuses a token expired beyond the 60 s leeway and accepts one within it', async () => {
    const { verifier } = await setUp();
    const tok = await token(rsa);
    clock = (T0S + 3600 + 59) * 1000;
    expect(await verifier.verify(tok)).toMatchObject({ ok: true });
    clock = (T0S + 3600 + 61) * 1000;
    expectRefused(await verifier.verify(tok), tok, /^token expired$/);
  });

  it('refuses a token not yet valid beyond the leeway and accepts one within it', async () => {
    const { verifier } = await setUp();
    const early = await token(rsa, { nbf: T0S + 120 });
    expectRefused(await verifier.verify(early), early, /^token not yet valid \(nbf\)$/);
    expect(await verifier.verify(await token(rsa, { nbf: T0S + 30 }))).toMatchObject({ ok: true });
  });

  it('requires exp', async () => {
    const { verifier } = await setUp();
    const tok = await token(rsa, { exp: undefined });
    expectRefused(await verifier.verify(tok), tok, /^token has no exp claim$/);
  });

  it('refuses an issuer it does not trust, without fetching anything', async () => {
    const { verifier, idp, keySet } = await setUp();
    await keySet.settled();
    const tok = await token(rsa, { iss: 'https://evil.example.com' });
    expectRefused(await verifier.verify(tok), tok, /^issuer "https:\/\/evil.example.com" not trusted$/);
    const noIss = await token(rsa, { iss: undefined });
    expectRefused(await verifier.verify(noIss), noIss, /no iss claim/);
    expect(idp.hits).toBe(1);
  });

  it('requires the issuer to match exactly (no trailing slash leniency)', async () => {
    const { verifier } = await setUp();
    const tok = await token(rsa, { iss: `${ISS}/` });
    expectRefused(await verifier.verify(tok), tok, /not trusted/);
  });

  it('checks aud against the accepted audiences when there are some', async () => {
    const { verifier } = await setUp({ spec: { audiences: ['jairouter', 'gateway'] } });
    const wrong = await token(rsa, { aud: ['billing', 'crm'] });
    expectRefused(await verifier.verify(wrong), wrong, /^audience \["billing", "crm"\] not accepted/);
    const none = await token(rsa, { aud: undefined });
    expectRefused(await verifier.verify(none), none, /^audience none not accepted/);
    expect(await verifier.verify(await token(rsa, { aud: ['crm', 'gateway'] }))).toMatchObject({ ok: true });
  });

  it('does not check aud when no audience is configured', async () => {
    const { verifier } = await setUp({ spec: { audiences: [] } });
    expect(await verifier.verify(await token(rsa, { aud: 'anything' }))).toMatchObject({ ok: true });
    expect(await verifier.verify(await token(rsa, { aud: undefined }))).toMatchObject({ ok: true });
  });

  it('stringifies a numeric user and refuses a token without the user claim', async () => {
    const { verifier } = await setUp({ spec: { userClaim: 'uid' } });
    expect(await verifier.verify(await token(rsa, { uid: 4711 }))).toMatchObject({ ok: true, user: '4711' });
    const tok = await token(rsa);
    expectRefused(await verifier.verify(tok), tok, /^user claim "uid" is missing or not a string$/);
  });

  it.each([
    ['an array', 'groups', { groups: ['admin', 'dev', 7] }, ['admin', 'dev']],
    ['a space separated string', 'scope', { scope: 'read  write' }, ['read', 'write']],
    ['a comma separated string', 'roles', { roles: 'a,b, c' }, ['a', 'b', 'c']],
    ['a dotted path (Keycloak)', 'realm_access.roles', { realm_access: { roles: ['ops'] } }, ['ops']],
    ['a namespaced claim containing dots', 'https://example.com/roles', { 'https://example.com/roles': ['x'] }, ['x']],
    ['missing', 'groups', {}, []],
    ['of another type', 'groups', { groups: { admin: true } }, []],
  ])('reads roles from %s', async (_what, rolesClaim, claims, roles) => {
    const { verifier } = await setUp({ spec: { rolesClaim } });
    expect(await verifier.verify(await token(rsa, claims))).toMatchObject({ ok: true, roles });
  });
});

describe('forgeries', () => {
  it('refuses alg none', async () => {
    const { verifier } = await setUp();
    const enc = (v: object) => base64url.encode(JSON.stringify(v));
    const tok = `${enc({ alg: 'none', typ: 'JWT' })}.${enc({ iss: ISS, sub: 'admin', aud: 'jairouter', exp: T0S + 60 })}.`;
    expect(looksLikeJwt(tok)).toBe(true);
    expectRefused(await verifier.verify(tok), tok, /^alg none is not accepted$/);
  });

  it('refuses HS256 "signed" with the public key (alg confusion), without a refetch', async () => {
    const { verifier, idp, keySet } = await setUp();
    await keySet.settled();
    const secrets = [
      new TextEncoder().encode(await exportSPKI(rsa.publicKey)),
      new TextEncoder().encode(JSON.stringify(rsa.jwk)),
    ];
    for (const secret of secrets) {
      const tok = await new SignJWT({ iss: ISS, sub: 'admin', aud: 'jairouter', exp: T0S + 60 })
        .setProtectedHeader({ alg: 'HS256', kid: rsa.kid })
        .sign(secret);
      expectRefused(await verifier.verify(tok), tok, /^alg "HS256" is not accepted/);
    }
    expect(idp.hits).toBe(1);
  });

  it('refuses a tampered payload', async () => {
    const { verifier } = await setUp();
    const [h, , s] = (await token(rsa)).split('.');
    const forged = `${h}.${base64url.encode(JSON.stringify({ iss: ISS, sub: 'admin', aud: 'jairouter', exp: T0S + 60 }))}.${s}`;
    expectRefused(await verifier.verify(forged), forged, /^signature does not verify$/);
  });

  it('refuses a token signed by a key that is not the one its kid names', async () => {
    const { verifier } = await setUp();
    const tok = await token(rogue, {}, { kid: ec.kid });
    expectRefused(await verifier.verify(tok), tok, /^signature does not verify$/);
  });

  it('refuses garbage without throwing', async () => {
    const { verifier } = await setUp();
    for (const junk of ['', 'sk-abc', 'a.b.c', 'eyJhbGciOiJSUzI1NiJ9.e30', 'eyJhbGciOiJSUzI1NiJ9.bm90IGpzb24.c2ln']) {
      expect(await verifier.verify(junk)).toMatchObject({ ok: false });
    }
  });
});

describe('a JWKS document from a Secret', () => {
  it('verifies against the keys of the document, fetching nothing', async () => {
    registry = new JwksRegistry({ now: () => T0 });
    const verifier = new JwtVerifier(
      [{ issuer: ISS, audiences: ['jairouter'], jwks: JSON.stringify({ keys: [ec.jwk, rsa.jwk] }), userClaim: 'sub' }],
      registry,
    );
    expect(await verifier.verify(await token(ec))).toMatchObject({ ok: true, user: 'alice' });
    const tok = await token(ed);
    expectRefused(await verifier.verify(tok), tok, /no key of issuer .* matches kid "ed-1"/);
  });

  it('a spec with an unusable document refuses its tokens with the reason, and does not throw', async () => {
    registry = new JwksRegistry({ now: () => T0 });
    const verifier = new JwtVerifier([{ issuer: ISS, audiences: [], jwks: '{"kty":"RSA"}', userClaim: 'sub' }], registry);
    const tok = await token(rsa);
    expectRefused(await verifier.verify(tok), tok, /is misconfigured: the JWKS document is not usable/);
  });
});

describe('looksLikeJwt and peek', () => {
  it('tells a JWT from an API key', async () => {
    expect(looksLikeJwt(await token(rsa))).toBe(true);
    for (const key of ['sk-proj-abc123', 'a.b.c', 'e30.e30.sig', '']) expect(looksLikeJwt(key)).toBe(false);
  });

  it('peeks at the unverified iss and aud', async () => {
    expect(JwtVerifier.peek(await token(rsa, { aud: ['a', 'b'] }))).toEqual({ iss: ISS, aud: ['a', 'b'] });
    expect(JwtVerifier.peek(await token(rsa, { iss: undefined, aud: 'a' }))).toEqual({ aud: ['a'] });
    expect(JwtVerifier.peek(await token(rsa, { aud: ['a', 7] }))).toEqual({ iss: ISS, aud: ['a'] });
    expect(JwtVerifier.peek('sk-abc')).toBeUndefined();
  });
});
