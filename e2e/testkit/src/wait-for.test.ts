import { describe, expect, it } from 'vitest';
import { waitFor } from './wait-for.ts';

describe('waitFor', () => {
  it('resolves with the first value that is neither undefined nor false, sync or async', async () => {
    let n = 0;
    expect(await waitFor('n to reach 3', () => (++n >= 3 ? n : undefined), 1_000, 1)).toBe(3);
    let m = 0;
    expect(await waitFor('m to reach 2', async () => ++m >= 2, 1_000, 1)).toBe(true);
    expect(await waitFor('zero', () => 0)).toBe(0);
  });

  it('keeps polling through errors and names what it waited for and the last error on timeout', async () => {
    const err = await waitFor('the impossible', () => {
      throw new Error('not yet');
    }, 60, 5).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toBe('timed out after 60 ms waiting for the impossible: not yet');
  });
});
