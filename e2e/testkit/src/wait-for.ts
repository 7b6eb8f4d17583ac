// The one polling helper of every package's tests (it replaced a copy in proxy/src/testing).
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Polls `fn` (sync or async) until it returns something other than undefined/false and resolves
 * with that. Rejects after `timeoutMs`, naming `what` and the last error `fn` threw.
 */
export async function waitFor<T>(
  what: string,
  fn: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 20_000,
  intervalMs = 50,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await sleep(intervalMs);
  }
}
