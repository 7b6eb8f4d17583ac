// Kept free of zod so the proxy's main thread can use it without loading the schemas.
const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** A duration string: an integer followed by ms, s, m, h or d; the schema's `Duration` checks with it. */
export const DURATION_PATTERN = /^[0-9]+(ms|s|m|h|d)$/;

/** Milliseconds of a duration string: an integer followed by ms, s, m, h or d. */
export function parseDuration(d: string): number {
  const unit = DURATION_PATTERN.exec(d)?.[1] as keyof typeof UNIT_MS | undefined;
  if (!unit) throw new Error(`invalid duration ${JSON.stringify(d)}`);
  return Number(d.slice(0, -unit.length)) * UNIT_MS[unit];
}
