import { backoffDelay } from './backoff.ts';

export interface WorkQueueOptions {
  /** First retry delay after a failed run (default 200 ms); doubles per consecutive failure. */
  baseDelayMs?: number;
  /** Longest retry delay (default 30 s). */
  maxDelayMs?: number;
  /**
   * The key was queued (client-go's workqueue Add of an item that is not queued yet): enqueue()
   * while no run is pending, or while a retry waits out its delay, and a retry delay ending.
   * An enqueue() that coalesces into a pending run is not an add.
   */
  onAdd?: () => void;
  /** A run starts; `queuedMs` is how long the key was queued before it (client-go's queue latency). */
  onRunStart?: (queuedMs: number) => void;
  onRunEnd?: (ok: boolean, durationMs: number, error?: unknown) => void;
  onRetryScheduled?: (delayMs: number, attempt: number) => void;
}

/**
 * A work queue holding one key: the whole installation is reconciled at once (compile() looks
 * at everything), so any number of changes while a run is pending or in flight collapse into
 * one more run. Failed runs are retried with exponential backoff; a fresh change (enqueue)
 * runs at once even while a retry waits, as controller-runtime's Add does, but the failure
 * count is kept, so a reconcile that keeps failing stays rate limited.
 */
export class CoalescingQueue {
  readonly #handler: () => Promise<void>;
  readonly #baseMs: number;
  readonly #maxMs: number;
  readonly #opts: WorkQueueOptions;
  #dirty = false;
  #running: Promise<void> | undefined;
  #scheduled = false;
  #retryTimer: NodeJS.Timeout | undefined;
  #failures = 0;
  #stopped = false;
  /** performance.now() when the key was queued; undefined while it is not (idle, running, or waiting for a retry). */
  #queuedAt: number | undefined;
  /** performance.now() when the run in flight started. */
  #runningSince: number | undefined;
  #idleWaiters: (() => void)[] = [];

  constructor(handler: () => Promise<void>, opts: WorkQueueOptions = {}) {
    this.#handler = handler;
    this.#baseMs = opts.baseDelayMs ?? 200;
    this.#maxMs = opts.maxDelayMs ?? 30_000;
    this.#opts = opts;
  }

  /** Asks for one more run. Cheap; call it from every informer event. */
  enqueue(): void {
    if (this.#stopped) return;
    this.#markQueued();
    this.#dirty = true;
    if (this.#retryTimer) {
      clearTimeout(this.#retryTimer);
      this.#retryTimer = undefined;
    }
    this.#schedule();
  }

  /** 1 while the key is queued (a run is wanted, not started yet and not waiting out a retry delay), else 0. */
  get depth(): number {
    return this.#queuedAt === undefined ? 0 : 1;
  }

  /** How long the run in flight has been running (ms); undefined when none runs. */
  get runningForMs(): number | undefined {
    return this.#runningSince === undefined ? undefined : performance.now() - this.#runningSince;
  }

  /** Consecutive failed runs so far (0 after a success). */
  get failures(): number {
    return this.#failures;
  }

  /** Resolves once nothing is pending, running or waiting for a retry (tests, shutdown). */
  idle(): Promise<void> {
    if (this.#isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Stops scheduling; waits for a run in flight. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#dirty = false;
    this.#queuedAt = undefined;
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    await this.#running;
    this.#notifyIdle();
  }

  #isIdle(): boolean {
    return !this.#dirty && !this.#running && !this.#scheduled && !this.#retryTimer;
  }

  #notifyIdle(): void {
    if (!this.#isIdle() && !this.#stopped) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const w of waiters) w();
  }

  #markQueued(): void {
    if (this.#queuedAt !== undefined) return;
    this.#queuedAt = performance.now();
    this.#opts.onAdd?.();
  }

  #schedule(): void {
    if (this.#stopped || this.#running || this.#scheduled || this.#retryTimer || !this.#dirty) return;
    this.#scheduled = true;
    // setImmediate lets a burst of informer events (a relist) land before the run starts.
    setImmediate(() => {
      this.#scheduled = false;
      this.#run();
    });
  }

  #run(): void {
    if (this.#stopped || !this.#dirty) {
      this.#notifyIdle();
      return;
    }
    this.#dirty = false;
    const started = performance.now();
    const queuedMs = this.#queuedAt === undefined ? 0 : started - this.#queuedAt;
    this.#queuedAt = undefined;
    this.#runningSince = started;
    this.#opts.onRunStart?.(queuedMs);
    this.#running = (async () => {
      try {
        await this.#handler();
        this.#failures = 0;
        this.#runningSince = undefined;
        this.#opts.onRunEnd?.(true, performance.now() - started);
      } catch (err) {
        this.#failures++;
        this.#runningSince = undefined;
        this.#opts.onRunEnd?.(false, performance.now() - started, err);
        if (!this.#stopped) {
          const delay = backoffDelay(this.#failures, this.#baseMs, this.#maxMs);
          this.#opts.onRetryScheduled?.(delay, this.#failures);
          // A change that came in during the failed run waits out the delay with the retry. The
          // key counts as queued only once the delay ends, so depth and queue time leave the
          // backoff out, as with client-go's AddRateLimited.
          this.#dirty = true;
          this.#queuedAt = undefined;
          this.#retryTimer = setTimeout(() => {
            this.#retryTimer = undefined;
            this.#markQueued();
            this.#schedule();
          }, delay);
        }
      }
    })();
    void this.#running.then(() => {
      this.#running = undefined;
      this.#schedule();
      this.#notifyIdle();
    });
  }
}
