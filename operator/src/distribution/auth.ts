import { createHash } from 'node:crypto';

export interface TokenReviewResult {
  authenticated: boolean;
  username?: string;
  /** The pod a bound (projected) token belongs to, when the API server says. */
  podName?: string;
  error?: string;
}

/** Asks the API server who a bearer token belongs to (TokenReview); kube.ts has the real one. */
export interface TokenReviewer {
  review(token: string): Promise<TokenReviewResult>;
}

export type AuthOutcome = { ok: true; username: string } | { ok: false; status: 401 | 403; error: string; message: string };

export interface AuthenticatorOptions {
  /** `namespace/name` of the proxies' ServiceAccount. */
  account: string;
  ttlMs?: number;
  maxEntries?: number;
  now?: () => number;
}

/**
 * Checks proxies' ServiceAccount tokens. Positive answers are cached for a minute, keyed by the
 * token's SHA-256 (the token itself is neither kept nor logged), so reconnect storms and the
 * served reports do not each cost a TokenReview. Negative answers are not cached: a token that
 * was just minted may not verify for a moment.
 */
export class ProxyAuthenticator {
  private readonly username: string;
  private readonly reviewer: TokenReviewer;
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;
  private readonly cache = new Map<string, { until: number; podName: string | undefined }>();

  constructor(reviewer: TokenReviewer, opts: AuthenticatorOptions) {
    const [ns, name, extra] = opts.account.split('/');
    if (!ns || !name || extra !== undefined) throw new Error(`proxy service account: expected NAMESPACE/NAME, got ${JSON.stringify(opts.account)}`);
    this.username = `system:serviceaccount:${ns}:${name}`;
    this.reviewer = reviewer;
    this.ttlMs = opts.ttlMs ?? 60_000;
    this.maxEntries = opts.maxEntries ?? 1000;
    this.now = opts.now ?? Date.now;
  }

  /** `authorization` header value and the proxy's claimed pod name. */
  async check(authorization: string | undefined, proxy: string): Promise<AuthOutcome> {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    if (!m) return { ok: false, status: 401, error: 'unauthenticated', message: 'missing bearer token: send Authorization: Bearer <ServiceAccount token>' };
    const key = createHash('sha256').update(m[1]!).digest('base64');
    const now = this.now();
    let hit = this.cache.get(key);
    if (hit && hit.until <= now) {
      this.cache.delete(key);
      hit = undefined;
    }
    if (!hit) {
      let r: TokenReviewResult;
      try {
        r = await this.reviewer.review(m[1]!);
      } catch (e) {
        return { ok: false, status: 401, error: 'unauthenticated', message: `token review failed: ${(e as Error).message}` };
      }
      if (!r.authenticated) return { ok: false, status: 401, error: 'unauthenticated', message: `token not valid${r.error ? `: ${r.error}` : ''}` };
      if (r.username !== this.username) {
        return { ok: false, status: 403, error: 'forbidden', message: `${r.username ?? 'this identity'} is not ${this.username}, the proxies' ServiceAccount` };
      }
      hit = { until: now + this.ttlMs, podName: r.podName };
      while (this.cache.size >= this.maxEntries) this.cache.delete(this.cache.keys().next().value!);
      this.cache.set(key, hit);
    }
    if (hit.podName !== undefined && hit.podName !== proxy) {
      return { ok: false, status: 403, error: 'forbidden', message: `the token belongs to pod ${hit.podName}, not ${proxy}` };
    }
    return { ok: true, username: this.username };
  }

  get cacheSize(): number {
    return this.cache.size;
  }
}
