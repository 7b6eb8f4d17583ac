import type { EngineView } from './load-aware.ts';

/**
 * The contract between the proxy core and the load balancers. The core filters endpoints
 * (health, retries already tried, priority tier, maxConcurrency, capabilities) and hands
 * the survivors to `pick`; a balancer only chooses among them.
 */

export interface BalanceEndpoint {
  /** Stable identity across config versions, e.g. `${backendName} ${url}`; used by hashing strategies. */
  readonly key: string;
  /** Relative weight (>= 0; 0 = never picked while others are candidates... treat 0 as excluded). */
  readonly weight: number;
  /** Price per million input+output tokens (Cost strategy); 0 when unknown. */
  readonly cost: number;
  /** The endpoint's engine readings (LoadAware): its shared EndpointHealth. */
  readonly view?: EngineView;
}

export interface PickInput {
  /** Indices (into the endpoints array) allowed for this pick: healthy, not yet tried, within the current priority tier, under maxConcurrency. Non-empty, ascending. */
  readonly candidates: readonly number[];
  /** Key value for IPHash (the client IP) and ConsistentHash (header value / user / tenant / client IP); '' when absent. */
  readonly hashValue: string;
  /** Current in-flight request count per endpoint index (LeastConnections). */
  readonly inflight: ArrayLike<number>;
  /** The model the client asked for (LoadAware prefers engines running it as a LoRA adapter). */
  readonly model?: string | undefined;
}

export interface Balancer {
  /** Returns one of input.candidates (-1 only if the contract is broken and candidates is empty). */
  pick(input: PickInput): number;
  /** Optional feedback: a finished request's latency to first byte in ms (Latency strategy). */
  observe?(index: number, latencyMs: number, ok: boolean): void;
}

export type StrategyName =
  | 'Random'
  | 'RoundRobin'
  | 'WeightedRoundRobin'
  | 'LeastConnections'
  | 'IPHash'
  | 'ConsistentHash'
  | 'Latency'
  | 'Cost'
  | 'Capability'
  | 'LoadAware';
