import type { Balancer } from './types.ts';
import { WeightedRoundRobinBalancer } from './weighted-round-robin.ts';

/**
 * Capability routing: the proxy core already removed the candidates that lack what the
 * request needs (tools, vision, json, context window) before calling pick, so what is left
 * is plain weighted round-robin. A separate entry point so that the strategy can grow its
 * own preferences (e.g. smallest sufficient context window) without touching WRR.
 */
export function createCapabilityBalancer(weights: Float64Array): Balancer {
  return new WeightedRoundRobinBalancer(weights);
}
