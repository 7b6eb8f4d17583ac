import { X509Certificate } from 'node:crypto';
import type { Logger } from 'pino';
import { generateBundle, issueServing, renewalNeeded, type TlsBundle } from './certs.ts';
import type { CertStore } from './stores.ts';

export interface TlsManagerOptions {
  store: CertStore;
  /** DNS names and IPs of the serving certificate. */
  names: string[];
  log: Logger;
  now?: () => number;
  /** How often to re-read the Secret and renew what is due (default 1 h). */
  checkEveryMs?: number;
}

/**
 * Keeps the CA and serving certificate in the TLS Secret: creates them on first start, renews
 * them before they expire, and publishes the CA. Every replica runs this; creation is
 * create-if-absent and renewal replace-if-unchanged, so when two race one wins and the other
 * reads its result. Replicas re-read the Secret periodically and so pick up a renewal made by
 * another.
 */
export class TlsManager {
  private readonly opts: TlsManagerOptions;
  private readonly now: () => number;
  private current: TlsBundle | null = null;
  private publishedCa: string | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(opts: TlsManagerOptions) {
    this.opts = opts;
    this.now = opts.now ?? Date.now;
  }

  get bundle(): TlsBundle | null {
    return this.current;
  }

  /** When the CA and the serving certificate in use expire (ms since the epoch); null before the first bundle. */
  expiry(): { ca: number; serving: number } | null {
    const b = this.current;
    if (!b) return null;
    if (this.#expiry?.bundle !== b) {
      this.#expiry = { bundle: b, ca: Date.parse(new X509Certificate(b.caCert).validTo), serving: Date.parse(new X509Certificate(b.cert).validTo) };
    }
    return { ca: this.#expiry.ca, serving: this.#expiry.serving };
  }

  #expiry: { bundle: TlsBundle; ca: number; serving: number } | null = null;

  /** Makes sure a valid bundle is stored and published; returns it. */
  async ensure(): Promise<TlsBundle> {
    const { store, names, log } = this.opts;
    for (let attempt = 0; attempt < 5; attempt++) {
      const stored = await store.read();
      if (!stored) {
        const fresh = await generateBundle(names);
        if (await store.create(fresh)) {
          log.info({ names }, 'created the operator CA and serving certificate');
          return this.adopt(fresh);
        }
        continue; // another replica created it first: use theirs
      }
      const need = renewalNeeded(stored.bundle, names, this.now());
      if (need.what === 'none') return this.adopt(stored.bundle);
      const next = need.what === 'all' ? await generateBundle(names) : { ...stored.bundle, ...(await issueServing(stored.bundle, names)) };
      if (await store.replace(next, stored.revision)) {
        log.info({ renewed: need.what === 'all' ? 'CA and serving certificate' : 'serving certificate', reason: need.reason }, 'renewed TLS certificates');
        return this.adopt(next);
      }
    }
    throw new Error('TLS Secret: too many conflicting updates');
  }

  /** Checks periodically; `onChange` gets every bundle that differs from the one before. */
  start(onChange: (b: TlsBundle) => void): void {
    const every = this.opts.checkEveryMs ?? 3_600_000;
    const tick = () => {
      const before = this.current;
      this.ensure().then(
        (b) => {
          if (b !== before && (b.cert !== before?.cert || b.key !== before.key)) onChange(b);
        },
        (e: Error) => this.opts.log.error({ err: e.message }, 'TLS certificate check failed; keeping the current certificate'),
      );
    };
    this.timer = setInterval(tick, every);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private async adopt(b: TlsBundle): Promise<TlsBundle> {
    if (this.publishedCa !== b.caCert) {
      await this.opts.store.publishCa(b.caCert);
      this.publishedCa = b.caCert;
    }
    if (!this.current || this.current.cert !== b.cert || this.current.key !== b.key) this.current = b;
    return this.current;
  }
}
