/**
 * Small, fast, stable 32-bit hashing for IPHash and ConsistentHash. Stability matters more
 * than speed: the same string must map to the same number in every proxy replica and every
 * release, so this must never change without a migration note.
 */

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/**
 * FNV-1a over UTF-16 code units, finished with murmur3's fmix32: FNV alone leaves
 * near-identical inputs (IPs differing in the last digit) close together in the high
 * bits, which are the bits `scaleHash` and the ring use.
 */
export function hash32(s: string): number {
  let h = FNV_OFFSET;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, FNV_PRIME);
  }
  return fmix32(h);
}

/** murmur3 finaliser: a bijection on 32-bit integers with full avalanche. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Maps a 32-bit hash onto [0, n) by its high bits (multiply-shift: no modulo, exact in doubles). */
export function scaleHash(h: number, n: number): number {
  return Math.floor((h * n) / 4294967296);
}
