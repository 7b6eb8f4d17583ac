import { parseDuration } from '../api/common.ts';
import { SCRAPED_ADAPTERS, type ModelRouteSpec } from '../api/model-route.ts';

/** Longest duration a Node timer can hold (2^31-1 ms, about 24.8 days); longer ones fire at once. */
const MAX_DURATION_MS = 2 ** 31 - 1;

/**
 * Semantic checks the schema cannot express; each line is `<field path>: <problem>`. Unique
 * backend names, url xor serviceRef and hashKey only with ConsistentHash are the schema's own
 * rules (uniqueKey, withRules): a spec that parsed already holds them.
 */
export function checkModelRouteSpec(spec: ModelRouteSpec): string[] {
  const problems: string[] = [];
  problems.push(...checkModelPatterns(spec.models, 'spec.models'));
  spec.backends.forEach((b, i) => {
    if (b.url !== undefined && !/^https?:\/\//i.test(b.url)) problems.push(`spec.backends[${i}].url: must be an http or https URL`);
  });
  const backoff = spec.retry?.backoff;
  if (backoff?.base !== undefined && backoff.max !== undefined && parseDuration(backoff.base) > parseDuration(backoff.max)) {
    problems.push(`spec.retry.backoff: base ${backoff.base} is longer than max ${backoff.max}`);
  }
  problems.push(
    ...checkDurations({
      'spec.retry.backoff.base': backoff?.base,
      'spec.retry.backoff.max': backoff?.max,
      'spec.timeouts.connect': spec.timeouts?.connect,
      'spec.timeouts.firstByte': spec.timeouts?.firstByte,
      'spec.timeouts.request': spec.timeouts?.request,
      'spec.healthCheck.active.interval': spec.healthCheck?.active?.interval,
      'spec.healthCheck.active.timeout': spec.healthCheck?.active?.timeout,
      'spec.healthCheck.passive.ejectionTime': spec.healthCheck?.passive?.ejectionTime,
      'spec.engineMetrics.interval': spec.engineMetrics?.interval,
      'spec.engineMetrics.timeout': spec.engineMetrics?.timeout,
    }),
  );
  const em = spec.engineMetrics;
  if (em !== undefined) {
    // Read from nothing, it would be accepted and do nothing.
    if (!spec.backends.some((b) => (SCRAPED_ADAPTERS as readonly string[]).includes(b.adapter))) {
      problems.push(`spec.engineMetrics: no backend of this route publishes engine metrics the proxy reads (adapters ${SCRAPED_ADAPTERS.join(', ')})`);
    }
    if (em.interval !== undefined && parseDuration(em.interval) < 500) problems.push(`spec.engineMetrics.interval: ${em.interval} is shorter than the minimum of 500ms`);
    if (em.interval !== undefined && em.timeout !== undefined && parseDuration(em.timeout) > parseDuration(em.interval)) {
      problems.push(`spec.engineMetrics.timeout: ${em.timeout} is longer than the interval ${em.interval}`);
    }
  }
  return problems;
}

function checkModelPatterns(patterns: readonly string[], at: string): string[] {
  const problems: string[] = [];
  const seen = new Map<string, number>();
  patterns.forEach((m, i) => {
    const first = seen.get(m);
    if (first !== undefined) problems.push(`${at}[${i}]: duplicate model "${m}" (also ${at}[${first}])`);
    else seen.set(m, i);
  });
  return [...problems, ...checkWildcards(patterns, at)];
}

/**
 * A trailing `*` makes a prefix pattern and `*` alone matches everything; a `*` anywhere else
 * would silently be a literal character, which is never what was meant.
 */
export function checkWildcards(patterns: readonly string[], at: string): string[] {
  return patterns.flatMap((m, i) => (m.slice(0, -1).includes('*') ? [`${at}[${i}]: "*" is only allowed as the last character ("${m}")`] : []));
}

function checkDurations(fields: Record<string, string | undefined>): string[] {
  const problems: string[] = [];
  for (const [path, value] of Object.entries(fields)) {
    if (value !== undefined && parseDuration(value) > MAX_DURATION_MS) problems.push(`${path}: ${value} is longer than the maximum of ${MAX_DURATION_MS}ms (about 24.8d)`);
  }
  return problems;
}
