// Who may call what: JWT bearer tokens (Tenant.spec.jwt), role grants (spec.access.roles) for
// tokens and for API keys (the jairouter.io/roles annotation of their Secret), and isolation
// between tenants, driven with the official openai SDK against the proxy's request path.
import { createServer, type Server } from 'node:http';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeOpenAI, type FakeBackend } from '@jairouter/testkit/fake-openai';
import { modelRoute, secret, tenant, tenantWithKeys, toYaml, type Doc } from './config.ts';
import { startInProcess, type InProcessProxy } from './in-process.ts';

const ACME_ISSUER = 'https://login.acme.example';
const GLOBEX_ISSUER = 'https://idp.globex.example';
const ROLE_KEY = 'sk-identity-ops-key-0001';
const PLAIN_KEY = 'sk-identity-plain-key-0002';

let proxy: InProcessProxy;
let baseYaml = '';
let backend: FakeBackend;
let jwksServer: Server;
let jwksHits = 0;
let acmeKey: CryptoKey;
let globexKey: CryptoKey;
let strangerKey: CryptoKey;

async function keyPair(alg: 'RS256' | 'ES256', kid: string): Promise<{ priv: CryptoKey; jwk: JWK }> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { priv: privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg } };
}

interface TokenOptions {
  key?: CryptoKey;
  alg?: string;
  kid?: string;
  iss?: string;
  aud?: string | string[];
  sub?: string;
  claims?: Record<string, unknown>;
  exp?: number | string;
}

function token(o: TokenOptions = {}): Promise<string> {
  const jwt = new SignJWT({ ...o.claims })
    .setProtectedHeader({ alg: o.alg ?? 'RS256', kid: o.kid ?? 'acme-1' })
    .setIssuer(o.iss ?? ACME_ISSUER)
    .setAudience(o.aud ?? 'jairouter')
    .setSubject(o.sub ?? 'alice@acme.example')
    .setIssuedAt()
    .setExpirationTime(o.exp ?? '5m');
  return jwt.sign(o.key ?? acmeKey);
}

const client = (apiKey: string) => proxy.client(apiKey);
const ask = (apiKey: string, model: string) => client(apiKey).chat.completions.create({ model, messages: [{ role: 'user', content: `hi ${model}` }] });

async function status(apiKey: string, model: string): Promise<number> {
  try {
    await ask(apiKey, model);
    return 200;
  } catch (e) {
    return (e as { status?: number }).status ?? -1;
  }
}

beforeAll(async () => {
  backend = await startFakeOpenAI({ name: 'identity' });
  const acme = await keyPair('RS256', 'acme-1');
  const globex = await keyPair('ES256', 'globex-1');
  const stranger = await keyPair('RS256', 'acme-1');
  acmeKey = acme.priv;
  globexKey = globex.priv;
  strangerKey = stranger.priv;
  // Acme's IdP publishes its JWKS over HTTP; Globex's key set is pasted into a Secret.
  jwksServer = createServer((_req, res) => {
    jwksHits++;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [acme.jwk] }));
  });
  await new Promise<void>((r) => jwksServer.listen(0, '127.0.0.1', r));
  const jwksUri = `http://127.0.0.1:${(jwksServer.address() as { port: number }).port}/jwks.json`;

  const docs: (Doc | Doc[])[] = [
    modelRoute('chat-small', { models: ['chat-small'], backends: [{ name: 'identity', url: backend.url }] }),
    modelRoute('chat-large', { models: ['chat-large'], backends: [{ name: 'identity', url: backend.url }] }),
    modelRoute('embed', { models: ['embed-v1'], backends: [{ name: 'identity', url: backend.url }] }),
    modelRoute('globex-private', { models: ['globex-private'], backends: [{ name: 'identity', url: backend.url }] }),
    tenant('acme', {
      jwt: { issuers: [{ issuer: ACME_ISSUER, audiences: ['jairouter'], jwksUri, claims: { user: 'sub', roles: 'groups' } }] },
      access: {
        models: ['chat-small'],
        roles: [{ name: 'ml-engineers', models: ['chat-large'] }, { name: 'search', models: ['embed-*'] }],
      },
    }),
    secret('globex-jwks', { stringData: { 'jwks.json': JSON.stringify({ keys: [globex.jwk] }) } }),
    tenant('globex', {
      jwt: { issuers: [{ issuer: GLOBEX_ISSUER, jwksSecretRef: { name: 'globex-jwks', key: 'jwks.json' }, claims: { roles: 'realm_access.roles' } }] },
      access: { models: ['globex-private'] },
    }),
    // API keys get roles from their Secret's annotation.
    {
      apiVersion: 'v1', kind: 'Secret', type: 'Opaque',
      metadata: { name: 'ops-keys', namespace: 'ai', annotations: { 'jairouter.io/roles': 'ml-engineers' } },
      stringData: { ops: ROLE_KEY },
    },
    tenant('keys', {
      apiKeys: { secretRefs: [{ name: 'ops-keys' }, { name: 'plain-keys' }] },
      access: { models: ['chat-small'], roles: [{ name: 'ml-engineers', models: ['chat-large'] }] },
    }),
    secret('plain-keys', { stringData: { plain: PLAIN_KEY } }),
  ];
  baseYaml = toYaml(...docs);
  proxy = await startInProcess(baseYaml);
});

afterAll(async () => {
  await proxy?.stop();
  await backend?.close();
  await new Promise((r) => jwksServer?.close(r));
});

describe('JWT bearer tokens', () => {
  it('a token of a trusted issuer authenticates as its tenant, with the user claim in the request log', async () => {
    const reply = await ask(await token(), 'chat-small');
    expect(reply.choices[0]!.message.content).toBeTruthy();
    const line = proxy.logs.findLast((l) => l.msg === 'request' && l.status === 200)!;
    expect(line).toMatchObject({ tenant: 'ai/acme', user: 'alice@acme.example', keyId: '' });
  });

  it('a key set from a Secret (jwksSecretRef) verifies ES256 tokens, with roles at a nested claim path', async () => {
    const t = await token({ key: globexKey, alg: 'ES256', kid: 'globex-1', iss: GLOBEX_ISSUER, aud: 'anything', claims: { realm_access: { roles: ['x'] } } });
    expect(await status(t, 'globex-private')).toBe(200);
  });

  it.each([
    ['expired beyond the 60 s leeway', { exp: Math.floor(Date.now() / 1000) - 120 }, 'token expired'],
    ['signed by a key the issuer never published', { key: undefined as unknown as CryptoKey, stranger: true }, 'signature does not verify'],
    ['from an issuer no tenant trusts', { iss: 'https://evil.example' }, 'is not trusted by any tenant'],
    ['for an audience the tenant does not accept', { aud: 'someone-else' }, 'audience (aud) is not accepted'],
    ['with alg none', { none: true }, 'alg none is not accepted'],
  ] as const)('401 invalid_token for a token %s, naming the check and never echoing the token', async (_what, o, reason) => {
    const opts = o as TokenOptions & { stranger?: boolean; none?: boolean };
    let t: string;
    if (opts.none) {
      const good = await token();
      const [, payload] = good.split('.');
      t = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${payload}.`;
    } else {
      t = await token({ ...opts, ...(opts.stranger ? { key: strangerKey } : {}) });
    }
    const res = await proxy.post('/v1/chat/completions', t, { model: 'chat-small', messages: [{ role: 'user', content: 'hi' }] });
    expect(res.status).toBe(401);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('invalid_token');
    expect(body.error.message).toContain(reason);
    expect(JSON.stringify(body)).not.toContain(t.split('.')[1]!);
    expect(JSON.stringify(proxy.logs)).not.toContain(t.split('.')[2] || t.split('.')[1]!);
  });

  it('an HS256 token "signed" with the issuer\'s public key (algorithm confusion) is refused', async () => {
    const jwk = (await (await fetch(`http://127.0.0.1:${(jwksServer.address() as { port: number }).port}/jwks.json`)).json()) as { keys: JWK[] };
    const secretBytes = new TextEncoder().encode(JSON.stringify(jwk.keys[0]));
    const t = await new SignJWT({}).setProtectedHeader({ alg: 'HS256', kid: 'acme-1' }).setIssuer(ACME_ISSUER).setAudience('jairouter')
      .setSubject('mallory').setExpirationTime('5m').sign(secretBytes);
    const res = await proxy.post('/v1/chat/completions', t, { model: 'chat-small', messages: [{ role: 'user', content: 'hi' }] });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { message: string } }).error.message).toContain('HS256');
  });

  it('a config change does not refetch the issuer\'s key set', async () => {
    expect(await status(await token(), 'chat-small')).toBe(200);
    const before = jwksHits;
    const version = proxy.swap.current.config.version;
    proxy.apply(baseYaml + '---\n' + toYaml(modelRoute('another', { models: ['another'], backends: [{ name: 'identity', url: backend.url }] })));
    expect(proxy.swap.current.config.version).not.toBe(version);
    expect(await status(await token(), 'chat-small')).toBe(200);
    expect(jwksHits).toBe(before);
  });
});

describe('roles', () => {
  it('a role in the token grants its models; without it the model answers 404 like one that does not exist', async () => {
    const engineer = await token({ claims: { groups: ['ml-engineers'] } });
    const plain = await token({ claims: { groups: ['sales'] } });
    expect(await status(engineer, 'chat-large')).toBe(200);
    expect(await status(plain, 'chat-large')).toBe(404);
    expect(await status(plain, 'chat-small')).toBe(200);
    const denied = proxy.logs.findLast((l) => l.msg === 'request' && l.status === 404)!;
    expect(denied.error).toBe('model_not_allowed');
    expect(denied.detail).toContain('roles (sales)');
  });

  it('roles may come as a space-separated string, and a prefix grant covers the models it matches', async () => {
    const t = await token({ claims: { groups: 'search ml-engineers' } });
    expect(await status(t, 'embed-v1')).toBe(200);
    expect(await status(t, 'chat-large')).toBe(200);
  });

  it('GET /v1/models lists what the caller\'s roles grant, and nothing more', async () => {
    const list = async (t: string) => (await client(t).models.list()).data.map((m) => m.id).sort();
    expect(await list(await token({ claims: { groups: ['ml-engineers'] } }))).toEqual(['chat-large', 'chat-small']);
    expect(await list(await token())).toEqual(['chat-small']);
    expect(await list(await token({ key: globexKey, alg: 'ES256', kid: 'globex-1', iss: GLOBEX_ISSUER }))).toEqual(['globex-private']);
  });

  it('an API key gets the roles of its Secret\'s jairouter.io/roles annotation; a key of another Secret does not', async () => {
    expect(await status(ROLE_KEY, 'chat-large')).toBe(200);
    expect(await status(PLAIN_KEY, 'chat-large')).toBe(404);
    expect(await status(PLAIN_KEY, 'chat-small')).toBe(200);
  });
});

describe('isolation between tenants (attacks)', () => {
  it('a token that names another tenant\'s issuer, signed with its own key, is refused', async () => {
    // Acme's private key, Globex's issuer: verified against Globex's keys, so the signature fails.
    const forged = await token({ iss: GLOBEX_ISSUER, kid: 'globex-1', claims: { realm_access: { roles: ['admin'] } } });
    expect(await status(forged, 'globex-private')).toBe(401);
  });

  it('a role named like a grant of another tenant grants nothing here', async () => {
    // Globex defines no role ml-engineers: claiming it opens nothing beyond Globex's own models.
    const t = await token({ key: globexKey, alg: 'ES256', kid: 'globex-1', iss: GLOBEX_ISSUER, claims: { realm_access: { roles: ['ml-engineers', 'search'] } } });
    for (const model of ['chat-small', 'chat-large', 'embed-v1']) expect(await status(t, model)).toBe(404);
    expect((await client(t).models.list()).data.map((m) => m.id)).toEqual(['globex-private']);
  });

  it('no Acme identity reaches Globex\'s model, whatever roles it claims', async () => {
    const t = await token({ claims: { groups: ['admin', 'ml-engineers', 'search', 'globex'] } });
    expect(await status(t, 'globex-private')).toBe(404);
    expect(await status(ROLE_KEY, 'globex-private')).toBe(404);
  });
});
