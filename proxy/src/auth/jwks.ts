import { createLocalJWKSet, errors, type CompactJWSHeaderParameters, type CryptoKey, type JWTVerifyGetKey } from 'jose';

/**
 * Key sets of token issuers. Our own cache over jose's `createLocalJWKSet` rather than
 * `createRemoteJWKSet`, because the remote set reloads on the request path once its
 * cache ages out (an IdP outage then fails every request), rate-limits unknown-kid
 * refetches only after a *successful* fetch (an IdP that is down gets one fetch per
 * bogus kid), and reads `Date.now()` (no fake clock in tests).
 */

export interface JwksRegistryOptions {
  /** Bound on one JWKS fetch, body included. Default 5 s. */
  fetchTimeoutMs?: number;
  /** Background refresh period of each key set. Default 5 min. */
  refreshIntervalMs?: number;
  /** At most one fetch per this period is started by a request (unknown kid, no keys yet). Default 30 s. */
  minRefetchIntervalMs?: number;
  now?(): number;
  log?(msg: string, fields: object): void;
}

/** Where the keys of one issuer come from: a JWKS URI or a JWKS document. */
export interface KeySource {
  /** The keys that may have signed a token with this header (more than one when it has no kid). */
  keys(header: CompactJWSHeaderParameters): Promise<CryptoKey[]>;
}

/** No keys to verify with: the JWKS has never been fetched successfully. `message` names the cause, never key material. */
export class KeysUnavailable extends Error {
  override name = 'KeysUnavailable';
}

const MAX_JWKS_BYTES = 1024 * 1024;

/**
 * A JWKS document turned into a key lookup. Refuses a document with no keys: an IdP
 * answering `{"keys": []}` is far more likely broken than revoking every key, and
 * refusing it keeps the previous keys working.
 */
export function parseJwks(text: string): JWTVerifyGetKey {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new errors.JWKSInvalid('not JSON');
  }
  // createLocalJWKSet throws JWKSInvalid on anything that is not {keys: [...objects]}.
  const local = createLocalJWKSet(doc as Parameters<typeof createLocalJWKSet>[0]);
  if ((doc as { keys: unknown[] }).keys.length === 0) throw new errors.JWKSInvalid('a JWKS with no keys');
  return local;
}

/**
 * The candidate keys for a header. jose's local set imports each key once and caches
 * the CryptoKey, so a cached key set costs no import per request.
 */
export async function lookUpKeys(local: JWTVerifyGetKey, header: CompactJWSHeaderParameters): Promise<CryptoKey[]> {
  try {
    // The flattened-token argument is only read for its unprotected header, which a compact JWT has not.
    return [(await local(header, { payload: '', signature: '' })) as CryptoKey];
  } catch (err) {
    // A token without kid and several keys of its type: jose hands out every candidate.
    if (err instanceof errors.JWKSMultipleMatchingKeys) {
      const keys: CryptoKey[] = [];
      for await (const key of err) keys.push(key as CryptoKey);
      return keys;
    }
    throw err;
  }
}

/** A JWKS given as a document (from a Secret): parsed once. */
export class StaticKeySet implements KeySource {
  readonly #local: JWTVerifyGetKey;
  constructor(jwks: string) {
    this.#local = parseJwks(jwks);
  }
  keys(header: CompactJWSHeaderParameters): Promise<CryptoKey[]> {
    return lookUpKeys(this.#local, header);
  }
}

interface KeySetSettings {
  readonly fetchTimeoutMs: number;
  readonly refreshIntervalMs: number;
  readonly minRefetchIntervalMs: number;
  readonly now: () => number;
  readonly log: (msg: string, fields: object) => void;
}

/**
 * The keys published at one JWKS URI. Fetched when created, then in the background
 * every refresh interval. A request never waits for a fetch it did not need: only
 * when there are no keys yet or the token's kid is unknown, and then it joins the
 * fetch in flight if there is one. A failed fetch keeps the keys of the last good one.
 */
export class RemoteKeySet implements KeySource {
  readonly uri: string;
  readonly #settings: KeySetSettings;
  #local: JWTVerifyGetKey | undefined;
  #lastText: string | undefined;
  #lastError: string | undefined;
  #inFlight: Promise<void> | undefined;
  #lastOnDemandAt: number | undefined;
  #timer: NodeJS.Timeout | undefined;
  #fetches = 0;

  constructor(uri: string, settings: KeySetSettings, background: boolean) {
    this.uri = uri;
    this.#settings = settings;
    void this.refresh();
    if (background) {
      this.#timer = setInterval(() => void this.refresh(), settings.refreshIntervalMs);
      this.#timer.unref();
    }
  }

  /** Fetches started so far (prefetch, background and on demand). */
  get fetches(): number {
    return this.#fetches;
  }

  /** Whether a fetch has ever succeeded. */
  get hasKeys(): boolean {
    return this.#local !== undefined;
  }

  /** Starts a fetch unless one is in flight; resolves when it ends (never rejects). */
  refresh(): Promise<void> {
    this.#inFlight ??= this.#load().finally(() => {
      this.#inFlight = undefined;
    });
    return this.#inFlight;
  }

  /** Resolves when no fetch is in flight. */
  async settled(): Promise<void> {
    while (this.#inFlight) await this.#inFlight;
  }

  async keys(header: CompactJWSHeaderParameters): Promise<CryptoKey[]> {
    if (!this.#local) {
      await this.#fetchOnDemand();
      if (!this.#local) throw new KeysUnavailable(`JWKS unavailable: ${this.#lastError ?? 'not fetched yet'}`);
    }
    const before = this.#local;
    try {
      return await lookUpKeys(before, header);
    } catch (err) {
      if (!(err instanceof errors.JWKSNoMatchingKey)) throw err;
      // Unknown kid: the IdP may have rotated. Rate-limited so a flood of bogus kids
      // costs the IdP at most one fetch per interval.
      await this.#fetchOnDemand();
      if (this.#local === before) throw err;
      return lookUpKeys(this.#local, header);
    }
  }

  close(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #fetchOnDemand(): Promise<void> {
    if (this.#inFlight) return this.#inFlight;
    const now = this.#settings.now();
    if (this.#lastOnDemandAt !== undefined && now - this.#lastOnDemandAt < this.#settings.minRefetchIntervalMs) {
      return Promise.resolve();
    }
    this.#lastOnDemandAt = now;
    return this.refresh();
  }

  async #load(): Promise<void> {
    this.#fetches++;
    const where = redactUri(this.uri);
    try {
      const text = await fetchText(this.uri, this.#settings.fetchTimeoutMs);
      // Unchanged document: keep the lookup and with it the keys already imported.
      if (text !== this.#lastText || !this.#local) {
        this.#local = parseJwks(text);
        this.#lastText = text;
        this.#settings.log('jwks loaded', { uri: where });
      }
      this.#lastError = undefined;
    } catch (err) {
      this.#lastError = describeFetchError(err, this.#settings.fetchTimeoutMs);
      this.#settings.log('jwks fetch failed', {
        uri: where,
        error: this.#lastError,
        keptKeys: this.#local !== undefined,
      });
    }
  }
}

/**
 * One key set per JWKS URI, shared by every verifier built from any config version,
 * so a config swap neither refetches nor restarts timers. Key sets whose URI left the
 * config are dropped with `retainOnly`. After `close()` key sets still answer from
 * what they hold and fetch on demand, but no longer refresh in the background.
 */
export class JwksRegistry {
  readonly now: () => number;
  readonly #settings: KeySetSettings;
  readonly #sets = new Map<string, RemoteKeySet>();
  #closed = false;

  constructor(opts: JwksRegistryOptions = {}) {
    this.now = opts.now ?? Date.now;
    this.#settings = {
      fetchTimeoutMs: opts.fetchTimeoutMs ?? 5_000,
      refreshIntervalMs: opts.refreshIntervalMs ?? 5 * 60_000,
      minRefetchIntervalMs: opts.minRefetchIntervalMs ?? 30_000,
      now: this.now,
      log: quietly(opts.log),
    };
  }

  /** The key set of a URI; the first call creates it and starts its first fetch. */
  keySet(uri: string): RemoteKeySet {
    let set = this.#sets.get(uri);
    if (!set) {
      set = new RemoteKeySet(uri, this.#settings, !this.#closed);
      this.#sets.set(uri, set);
    }
    return set;
  }

  /** Stops and forgets the key sets of URIs not in `uris` (call after a config swap). */
  retainOnly(uris: Iterable<string>): void {
    const keep = new Set(uris);
    for (const [uri, set] of this.#sets) {
      if (!keep.has(uri)) {
        set.close();
        this.#sets.delete(uri);
      }
    }
  }

  close(): void {
    this.#closed = true;
    for (const set of this.#sets.values()) set.close();
  }
}

/** A logger that cannot throw into a background fetch (an unhandled rejection would end the process). */
function quietly(log: JwksRegistryOptions['log']): (msg: string, fields: object) => void {
  if (!log) return () => {};
  return (msg, fields) => {
    try {
      log(msg, fields);
    } catch {
      // Logging is best effort here.
    }
  };
}

async function fetchText(uri: string, timeoutMs: number): Promise<string> {
  const res = await fetch(uri, {
    headers: { accept: 'application/jwk-set+json, application/json' },
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (!res.ok) {
    await res.body?.cancel();
    throw new FetchFailed(`HTTP ${res.status}`);
  }
  const length = Number(res.headers.get('content-length') ?? 0);
  if (length > MAX_JWKS_BYTES) {
    await res.body?.cancel();
    throw new FetchFailed('response larger than 1 MiB');
  }
  const text = await res.text();
  if (text.length > MAX_JWKS_BYTES) throw new FetchFailed('response larger than 1 MiB');
  return text;
}

class FetchFailed extends Error {}

/** A cause fit for logs and 401 reasons: no response body, no key material. */
function describeFetchError(err: unknown, timeoutMs: number): string {
  if (err instanceof FetchFailed) return err.message;
  if (err instanceof errors.JWKSInvalid) return `response is not a usable JWKS (${err.message})`;
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) {
    return `timed out after ${timeoutMs} ms`;
  }
  const code = (err as { cause?: { code?: unknown } } | undefined)?.cause?.code;
  if (typeof code === 'string') return `fetch failed (${code})`;
  return err instanceof Error ? `fetch failed (${err.name})` : 'fetch failed';
}

/** The URI without user info or query, which may carry credentials. */
function redactUri(uri: string): string {
  try {
    const u = new URL(uri);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(invalid URI)';
  }
}
