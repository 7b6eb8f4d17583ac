import type { EngineSignals } from '../engine/signals.ts';

/**
 * Health of one endpoint, shared by every config version that contains it (keyed by route,
 * backend and URL), so a config swap neither forgets an ejection nor resets in-flight counts.
 * All times are milliseconds from the injected clock.
 */
export class EndpointHealth {
  inflight = 0;
  consecutiveFailures = 0;
  /** Passive ejection (outlier detection): skipped until this time. */
  ejectedUntil = 0;
  /** Set while an ejection is on record, so its end is noticed (and logged) once. */
  ejected = false;
  /** 429 cooldown (the upstream's Retry-After): skipped until this time, even by panic routing. */
  coolUntil = 0;
  /** Active checks: false once unhealthyThreshold probes failed, true again after healthyThreshold good ones. */
  activeUp = true;
  activeFails = 0;
  activeOks = 0;
  lastSeenVersion = '';
  /** Attempts sent that have not had their response headers yet (the gateway's own queue). */
  awaitingHeaders = 0;
  /** The engine's last reading (engine/scraper.ts); null before the first, or from an engine that publishes none. */
  engine: EngineSignals | null = null;

  readonly key: string;

  constructor(key: string) {
    this.key = key;
  }

  /** Taking traffic: not ejected, not cooling down, passing active checks. */
  available(now: number): boolean {
    return this.activeUp && this.ejectedUntil <= now && this.coolUntil <= now;
  }

  /** Whether the endpoint is ejected at `now` (passive health only). */
  isEjected(now: number): boolean {
    return this.ejectedUntil > now;
  }

  /**
   * A failed attempt (not 429). Returns true when this failure ejected the endpoint; `mayEject`
   * is false when the route already has its maximum share of endpoints ejected.
   */
  recordFailure(now: number, consecutiveFailures: number, ejectionTimeMs: number, mayEject = true): boolean {
    this.consecutiveFailures++;
    if (this.consecutiveFailures >= consecutiveFailures && this.ejectedUntil <= now && mayEject) {
      this.ejectedUntil = now + ejectionTimeMs;
      this.ejected = true;
      // Half-open after the ejection: one more failure ejects again, one success closes.
      this.consecutiveFailures = consecutiveFailures - 1;
      return true;
    }
    return false;
  }

  recordSuccess(): void {
    this.consecutiveFailures = 0;
  }

  /** True once, the first time it is asked after an ejection ended. */
  restoredAt(now: number): boolean {
    if (!this.ejected || this.ejectedUntil > now) return false;
    this.ejected = false;
    return true;
  }

  /** 429 with Retry-After: skip until then; a second cooldown never shortens the first. */
  coolDown(until: number): void {
    if (until > this.coolUntil) this.coolUntil = until;
  }

  recordProbe(ok: boolean, unhealthyThreshold: number, healthyThreshold: number): boolean {
    const before = this.activeUp;
    if (ok) {
      this.activeFails = 0;
      if (!this.activeUp && ++this.activeOks >= healthyThreshold) this.activeUp = true;
    } else {
      this.activeOks = 0;
      if (this.activeUp && ++this.activeFails >= unhealthyThreshold) this.activeUp = false;
    }
    return before !== this.activeUp;
  }
}
