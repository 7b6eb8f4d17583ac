import type { Registry } from 'prom-client';
import { SeriesCounter, SeriesHistogram } from './series-metrics.ts';
import type { Operation } from '../adapters/types.ts';
import type { RouteRuntime } from '../runtime/runtime.ts';

/**
 * The OpenTelemetry gen_ai semantic conventions (metrics of a GenAI server), in the form the
 * OpenTelemetry-to-Prometheus conversion gives them: dots become underscores, the unit suffix
 * `_seconds` stays, `{token}` is dropped. Buckets are the conventions' advice.
 *
 * Every label value comes from the config or from a small fixed set, never from client input:
 * `gen_ai_request_model` is the route's configured name the request matched (the pattern, such
 * as `gpt-4*`, for a prefix match), so 10,000 different model names a client makes up create no
 * series.
 */
const LABELS = [
  'gen_ai_operation_name',
  'gen_ai_provider_name',
  'gen_ai_request_model',
  'gen_ai_response_model',
  'tenant',
  'route',
  'backend',
] as const;

/** OpenTelemetry's gen_ai.provider.name values where the conventions name the provider; the adapter name otherwise. */
const PROVIDERS: Readonly<Record<string, string>> = {
  openai: 'openai',
  'azure-openai': 'azure.ai.openai',
  anthropic: 'anthropic',
  gemini: 'gcp.gemini',
  bedrock: 'aws.bedrock',
  cohere: 'cohere',
};

export function providerName(adapter: string): string {
  return PROVIDERS[adapter] ?? adapter;
}

/** gen_ai.operation.name of each operation: the conventions' names, and ours where they have none (rerank, moderation, image_generation, text_to_speech). */
export const GEN_AI_OPERATIONS: Readonly<Record<Operation, string>> = {
  chat: 'chat',
  completions: 'text_completion',
  embeddings: 'embeddings',
  rerank: 'rerank',
  moderations: 'moderation',
  images: 'image_generation',
  speech: 'text_to_speech',
  responses: 'chat',
  transcriptions: 'transcription',
  translations: 'translation',
  image_edits: 'image_edit',
};

const exactNames = new WeakMap<RouteRuntime, ReadonlySet<string>>();

/** The route's configured name for `model`: itself when listed exactly, else the longest prefix pattern it matched. */
export function modelLabel(route: RouteRuntime, model: string): string {
  let exact = exactNames.get(route);
  if (exact === undefined) exactNames.set(route, (exact = new Set(route.ir.models.filter((m) => !m.endsWith('*')))));
  if (exact.has(model)) return model;
  let best = '';
  for (const p of route.ir.models) {
    if (p.endsWith('*') && p.length > best.length && model.startsWith(p.slice(0, -1))) best = p;
  }
  return best || '*';
}

/** One finished request that reached a route, as the gen_ai series record it. */
export interface GenAiRequest {
  operation: Operation;
  tenant: string;
  route: RouteRuntime;
  /** The backend that answered ('' when none did). */
  backend: string;
  /** Its adapter ('' when none answered). */
  adapter: string;
  /** Its configured `model` rewrite, if any. */
  backendModel: string | undefined;
  model: string;
  /** The error code answered; '' for a success. */
  errorType: string;
  seconds: number;
  /** Seconds to the first byte of a streamed answer; negative when not a successful stream. */
  firstTokenSeconds: number;
  tokensIn: number;
  tokensOut: number;
  /** At the serving backend's pricing, in its unit; 0 without pricing. */
  cost: number;
}

interface Children {
  duration: { observe(v: number): void };
  ttft: { observe(v: number): void };
  tpot: { observe(v: number): void };
  input: { observe(v: number): void };
  output: { observe(v: number): void };
  spend: { inc(v: number): void };
}

/** The gen_ai series and the spend counter; children resolved once per label set. */
export class GenAiMetrics {
  readonly tokenUsage: SeriesHistogram<(typeof LABELS)[number] | 'gen_ai_token_type'>;
  readonly duration: SeriesHistogram<(typeof LABELS)[number] | 'error_type'>;
  readonly timeToFirstToken: SeriesHistogram<(typeof LABELS)[number]>;
  readonly timePerOutputToken: SeriesHistogram<(typeof LABELS)[number]>;
  readonly spend: SeriesCounter<'tenant' | 'gen_ai_request_model'>;
  readonly #children = new Map<string, Children>();

  constructor(registry: Registry) {
    const registers = [registry];
    this.tokenUsage = new SeriesHistogram({
      name: 'gen_ai_client_token_usage',
      help: 'Tokens used per request as the backend reported them, by gen_ai_token_type (input, output), operation, provider, models, tenant, route and backend (OpenTelemetry gen_ai.client.token.usage).',
      labelNames: [...LABELS, 'gen_ai_token_type'],
      buckets: [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864],
      registers,
    });
    this.duration = new SeriesHistogram({
      name: 'gen_ai_server_request_duration_seconds',
      help: 'Time from a request reaching its route to its answer\'s end (streams included), by operation, provider, models, tenant, route, backend and error_type (the error code answered; empty for a success) (OpenTelemetry gen_ai.server.request.duration).',
      labelNames: [...LABELS, 'error_type'],
      buckets: [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92],
      registers,
    });
    this.timeToFirstToken = new SeriesHistogram({
      name: 'gen_ai_server_time_to_first_token_seconds',
      help: 'Time from a streamed request\'s arrival to the first bytes of its answer, successful streams only (OpenTelemetry gen_ai.server.time_to_first_token).',
      labelNames: LABELS,
      buckets: [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10],
      registers,
    });
    this.timePerOutputToken = new SeriesHistogram({
      name: 'gen_ai_server_time_per_output_token_seconds',
      help: 'Time per output token after the first of a successful stream: (duration - time to first token) / (output tokens - 1) (OpenTelemetry gen_ai.server.time_per_output_token).',
      labelNames: LABELS,
      buckets: [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5],
      registers,
    });
    this.spend = new SeriesCounter({
      name: 'jairouter_spend_total',
      help: 'Spend at the serving backends\' pricing (ModelRoute spec.backends[].pricing, in its unit), by tenant and request model (the route\'s configured name).',
      labelNames: ['tenant', 'gen_ai_request_model'],
      registers,
    });
  }

  record(r: GenAiRequest): void {
    const model = modelLabel(r.route, r.model);
    const key = `${r.tenant}\0${r.route.id}\0${r.backend}\0${model}\0${r.operation}\0${r.errorType}`;
    let c = this.#children.get(key);
    if (c === undefined) {
      const op = GEN_AI_OPERATIONS[r.operation];
      const provider = r.adapter === '' ? '' : providerName(r.adapter);
      const responseModel = r.backend === '' ? '' : (r.backendModel ?? model);
      const base = [op, provider, model, responseModel, r.tenant, r.route.id, r.backend] as const;
      c = {
        duration: this.duration.labels(...base, r.errorType),
        ttft: this.timeToFirstToken.labels(...base),
        tpot: this.timePerOutputToken.labels(...base),
        input: this.tokenUsage.labels(...base, 'input'),
        output: this.tokenUsage.labels(...base, 'output'),
        spend: this.spend.labels(r.tenant, model),
      };
      this.#children.set(key, c);
    }
    c.duration.observe(r.seconds);
    if (r.tokensIn > 0 || r.tokensOut > 0) {
      c.input.observe(r.tokensIn);
      c.output.observe(r.tokensOut);
    }
    if (r.firstTokenSeconds >= 0) {
      c.ttft.observe(r.firstTokenSeconds);
      if (r.tokensOut > 1) c.tpot.observe((r.seconds - r.firstTokenSeconds) / (r.tokensOut - 1));
    }
    if (r.cost > 0) c.spend.inc(r.cost);
  }
}
