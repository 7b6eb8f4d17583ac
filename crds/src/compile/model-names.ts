import type { RouteIR } from '../proxy-config.ts';
import { compareAge, precedence, type ObjectInfo } from './objects.ts';
import type { Problem } from './status.ts';

export interface Claimant {
  info: ObjectInfo;
  models: readonly string[];
}

/**
 * Model names are global to an installation. A pattern (compared as written, so `chat-*`
 * conflicts only with another `chat-*`) claimed by two routes goes to the older one; the
 * newer route is left out as a whole, because serving half of its names would surprise more
 * than serving none. Returns a message per losing route id.
 */
export function resolveModelConflicts(claimants: readonly Claimant[]): Map<string, string> {
  const owner = new Map<string, ObjectInfo>();
  const losers = new Map<string, string>();
  for (const c of [...claimants].sort((a, b) => compareAge(a.info, b.info))) {
    const byWinner = new Map<string, { winner: ObjectInfo; models: string[] }>();
    for (const m of c.models) {
      const winner = owner.get(m);
      if (!winner) continue;
      const g = byWinner.get(winner.id) ?? { winner, models: [] };
      g.models.push(m);
      byWinner.set(winner.id, g);
    }
    if (byWinner.size === 0) {
      for (const m of c.models) owner.set(m, c.info);
      continue;
    }
    const parts = [...byWinner.values()].map(({ winner, models }) => {
      const names = models.map((m) => `"${m}"`).join(', ');
      const noun = models.length === 1 ? `model name ${names} is` : `model names ${names} are`;
      return `${noun} already claimed by ModelRoute ${winner.id} (${precedence(winner, c.info)})`;
    });
    losers.set(c.info.id, `${parts.join('; ')}. The route is not served.`);
  }
  return losers;
}

/** The route a request for `model` goes to: an exact name first, then the longest prefix pattern. */
function servingRoute(model: string, routes: readonly RouteIR[]): RouteIR | undefined {
  let best: { route: RouteIR; length: number } | undefined;
  for (const route of routes) {
    for (const pattern of route.models) {
      if (pattern === model) return route;
      if (!pattern.endsWith('*')) continue;
      const prefix = pattern.slice(0, -1);
      if (model.startsWith(prefix) && (!best || prefix.length > best.length)) best = { route, length: prefix.length };
    }
  }
  return best?.route;
}

/** The fallback entries another served route answers; the others are dropped with a reason. */
export function resolveFallbacks(
  route: RouteIR,
  requested: readonly string[],
  served: readonly RouteIR[],
): { models: string[]; problems: Problem[] } {
  const models: string[] = [];
  const problems: Problem[] = [];
  for (const m of requested) {
    if (models.includes(m)) continue;
    const target = servingRoute(m, served);
    if (!target) problems.push({ reason: 'FallbackNotFound', message: `fallback model "${m}" is served by no ModelRoute (dropped)` });
    else if (target.id === route.id) {
      problems.push({ reason: 'FallbackNotFound', message: `fallback model "${m}" is served by this route itself (dropped)` });
    } else models.push(m);
  }
  return { models, problems };
}
