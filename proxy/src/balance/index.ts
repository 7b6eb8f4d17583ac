import { createCapabilityBalancer } from './capability.ts';
import { ConsistentHashBalancer } from './consistent-hash.ts';
import { CostBalancer } from './cost.ts';
import { IPHashBalancer } from './ip-hash.ts';
import { LatencyBalancer } from './latency.ts';
import { LeastConnectionsBalancer } from './least-connections.ts';
import { LoadAwareBalancer, type LoadAwareSettings } from './load-aware.ts';
import { RandomBalancer } from './random.ts';
import { RoundRobinBalancer } from './round-robin.ts';
import type { BalanceEndpoint, Balancer, StrategyName } from './types.ts';
import { WeightedRoundRobinBalancer } from './weighted-round-robin.ts';
import { DrainFilter, effectiveWeights } from './weights.ts';

export type { BalanceEndpoint, Balancer, PickInput, StrategyName } from './types.ts';
export type { EngineView, LoadAwareSettings } from './load-aware.ts';

/** LoadAware without settings (a test's route): the ModelRoute defaults, no engine readings trusted past 3 s. */
const DEFAULT_LOAD_AWARE: LoadAwareSettings = { weights: { queue: 1, running: 0.25, kvCache: 4, latency: 1 }, prefixAffinity: { epsilon: 0.25 }, staleAfterMs: 3000 };

/**
 * One balancer per route and config version: everything per-route (weights, hash ring) is
 * computed here, once, so that pick() does no allocation. The rng is used for Random and
 * Latency, and to start the rotating strategies at a random endpoint so that replicas and
 * config reloads do not all begin with endpoint 0.
 */
export function createBalancer(
  strategy: StrategyName,
  endpoints: readonly BalanceEndpoint[],
  rng: () => number = Math.random,
  loadAware?: LoadAwareSettings,
): Balancer {
  const weights = effectiveWeights(endpoints);
  const inner = createStrategy(strategy, endpoints, weights, rng, loadAware);
  // Only routes mixing drained (weight 0) and weighted endpoints pay for the filter.
  return weights.includes(0) ? new DrainFilter(inner, weights) : inner;
}

function createStrategy(
  strategy: StrategyName,
  endpoints: readonly BalanceEndpoint[],
  weights: Float64Array,
  rng: () => number,
  loadAware?: LoadAwareSettings,
): Balancer {
  const start = Math.floor(rng() * endpoints.length);
  switch (strategy) {
    case 'Random':
      return new RandomBalancer(rng);
    case 'RoundRobin':
      return new RoundRobinBalancer(start);
    case 'WeightedRoundRobin':
      return new WeightedRoundRobinBalancer(weights);
    case 'LeastConnections':
      return new LeastConnectionsBalancer(weights);
    case 'IPHash':
      return new IPHashBalancer(weights, start);
    case 'ConsistentHash':
      return new ConsistentHashBalancer(endpoints, weights, start);
    case 'Latency':
      return new LatencyBalancer(endpoints.length, rng);
    case 'Cost':
      return new CostBalancer(endpoints, start);
    case 'Capability':
      return createCapabilityBalancer(weights);
    case 'LoadAware':
      return new LoadAwareBalancer(endpoints, weights, loadAware ?? DEFAULT_LOAD_AWARE, undefined, start);
    default: {
      // A config from a newer operator can name a strategy this proxy does not know.
      const unknown: never = strategy;
      throw new Error(`unknown load-balancing strategy: ${String(unknown)}`);
    }
  }
}
