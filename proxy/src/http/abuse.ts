/**
 * Guards against a client that abuses the API rather than uses it: guessing keys at line rate,
 * and bodies built to exhaust the parser. Limits on what a well-behaved tenant may use are
 * docs/limits.md's; these apply before anyone is known.
 */

/**
 * Failed authentications per client IP. After `threshold` failures within `windowMs`, the IP
 * is locked out for `baseLockMs`, doubling with every failure while locked out, up to
 * `maxLockMs`; while locked, requests get 429 without their key being looked at. Memory is
 * bounded: at most `maxEntries` IPs, the oldest dropped first.
 */
export class AuthFailureThrottle {
  private readonly entries = new Map<string, { windowStart: number; failures: number; lockedUntil: number; lockMs: number }>();
  private readonly threshold: number;
  private readonly windowMs: number;
  private readonly baseLockMs: number;
  private readonly maxLockMs: number;
  private readonly maxEntries: number;

  constructor(o: { threshold?: number; windowMs?: number; baseLockMs?: number; maxLockMs?: number; maxEntries?: number } = {}) {
    this.threshold = o.threshold ?? 10;
    this.windowMs = o.windowMs ?? 60_000;
    this.baseLockMs = o.baseLockMs ?? 1_000;
    this.maxLockMs = o.maxLockMs ?? 300_000;
    this.maxEntries = o.maxEntries ?? 10_000;
  }

  /** Ms this IP must still wait (0: go ahead). */
  lockedFor(ip: string, now: number): number {
    const e = this.entries.get(ip);
    return e === undefined || e.lockedUntil <= now ? 0 : e.lockedUntil - now;
  }

  /** A failed authentication from `ip`. */
  failed(ip: string, now: number): void {
    let e = this.entries.get(ip);
    if (e === undefined) {
      if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
      e = { windowStart: now, failures: 0, lockedUntil: 0, lockMs: 0 };
      this.entries.set(ip, e);
    }
    if (now - e.windowStart > this.windowMs && e.lockedUntil <= now) {
      e.windowStart = now;
      e.failures = 0;
      e.lockMs = 0;
    }
    e.failures++;
    if (e.failures >= this.threshold) {
      e.lockMs = e.lockMs === 0 ? this.baseLockMs : Math.min(this.maxLockMs, e.lockMs * 2);
      e.lockedUntil = now + e.lockMs;
    }
  }

  get size(): number {
    return this.entries.size;
  }
}

/**
 * Whether a JSON text nests deeper than `max` (objects and arrays), found by one pass over the
 * bytes before parsing. Strings are skipped, escapes included, so brackets inside them do not
 * count.
 */
export function nestedDeeperThan(raw: Buffer, max: number): boolean {
  // Fewer bytes than 2 per level cannot reach it.
  if (raw.length <= max * 2) return false;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped byte
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}
