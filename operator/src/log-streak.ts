import type { Logger } from 'pino';

interface Streak {
  since: number;
  failures: number;
  lastWarn: number;
}

/**
 * One warning per failure streak rather than one per retry: with the API server down, the lease,
 * every watch and the served-versions writer each retry every second or so, and ten minutes of
 * outage would otherwise be thousands of identical lines. The first failure of a streak is a
 * warning; the repeats are debug lines, with a warning again every `repeatMs` (default 60 s)
 * giving the count and how long; the first success afterwards is an info line with the same.
 */
export class FailureStreaks {
  readonly #log: Logger;
  readonly #repeatMs: number;
  readonly #now: () => number;
  readonly #streaks = new Map<string, Streak>();

  constructor(log: Logger, opts: { repeatMs?: number; now?: () => number } = {}) {
    this.#log = log;
    this.#repeatMs = opts.repeatMs ?? 60_000;
    this.#now = opts.now ?? Date.now;
  }

  failed(key: string, msg: string, fields: Record<string, unknown> = {}): void {
    const now = this.#now();
    const s = this.#streaks.get(key);
    if (!s) {
      this.#streaks.set(key, { since: now, failures: 1, lastWarn: now });
      this.#log.warn(fields, msg);
      return;
    }
    s.failures++;
    const more = { ...fields, failures: s.failures, failingForMs: now - s.since };
    if (now - s.lastWarn >= this.#repeatMs) {
      s.lastWarn = now;
      this.#log.warn(more, msg);
    } else {
      this.#log.debug(more, msg);
    }
  }

  /** Ends the streak of `key`, if there was one, with an info line. */
  recovered(key: string, msg: string, fields: Record<string, unknown> = {}): void {
    const s = this.#streaks.get(key);
    if (!s) return;
    this.#streaks.delete(key);
    this.#log.info({ ...fields, failures: s.failures, failedForMs: this.#now() - s.since }, msg);
  }
}
