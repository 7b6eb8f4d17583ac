import type { BackendIR } from '@jairouter/crds';
import { OPERATIONS, type Operation } from '../adapters/types.ts';

/**
 * What a request needs from a backend, as bits: features it uses and its operation. A backend
 * lacks a feature only when it declares it cannot (`capabilities.tools: false`); one that says
 * nothing is assumed able, as the API documents.
 */
export const Need = {
  tools: 1,
  vision: 2,
  json: 4,
  chat: 8,
  completions: 16,
  embeddings: 32,
  rerank: 64,
  moderations: 128,
  images: 256,
  speech: 512,
  responses: 1024,
  transcriptions: 2048,
  translations: 4096,
  image_edits: 8192,
} as const;

const FEATURES: ReadonlyArray<[bit: number, name: string, field: string]> = [
  [Need.tools, 'tools', 'capabilities.tools'],
  [Need.vision, 'images', 'capabilities.vision'],
  [Need.json, 'JSON mode', 'capabilities.json'],
  [Need.chat, 'chat completions', 'adapter'],
  [Need.completions, 'completions', 'adapter'],
  [Need.embeddings, 'embeddings', 'adapter'],
  [Need.rerank, 'rerank', 'adapter'],
  [Need.moderations, 'moderations', 'adapter'],
  [Need.images, 'image generation', 'adapter'],
  [Need.speech, 'speech', 'adapter'],
  [Need.responses, 'the Responses API', 'adapter'],
  [Need.transcriptions, 'audio transcriptions', 'adapter'],
  [Need.translations, 'audio translations', 'adapter'],
  [Need.image_edits, 'image edits', 'adapter'],
];

/** The bits a backend cannot serve: features it declares false, operations its adapter lacks. */
export function lacksOf(b: BackendIR, supports: (op: Operation) => boolean): number {
  const c = b.capabilities;
  let lacks = 0;
  if (c.tools === false) lacks |= Need.tools;
  if (c.vision === false) lacks |= Need.vision;
  if (c.json === false) lacks |= Need.json;
  // The Responses API is translated to chat for a backend that does not serve it (responses/to-chat.ts).
  for (const op of OPERATIONS) if (!supports(op) && !(op === 'responses' && supports('chat'))) lacks |= Need[op];
  return lacks;
}

/** The features (and operation) a request body uses, as Need bits. */
export function needsOf(op: Operation, body: Readonly<Record<string, unknown>>): number {
  let needs: number = Need[op];
  if (op !== 'chat') return needs;
  if ((Array.isArray(body.tools) && body.tools.length > 0) || (Array.isArray(body.functions) && body.functions.length > 0)) needs |= Need.tools;
  const rf = body.response_format as { type?: unknown } | undefined;
  if (rf && typeof rf === 'object' && (rf.type === 'json_object' || rf.type === 'json_schema')) needs |= Need.json;
  if (Array.isArray(body.messages)) {
    for (const m of body.messages as unknown[]) {
      const content = (m as { content?: unknown } | null)?.content;
      if (!Array.isArray(content)) continue;
      for (const part of content as unknown[]) {
        if ((part as { type?: unknown } | null)?.type === 'image_url') {
          needs |= Need.vision;
          return needs;
        }
      }
    }
  }
  return needs;
}

/**
 * Tokens the request may take in a context window: the prompt's text estimated at one token
 * per 4 ASCII characters and one per other character (CJK text is about one token each), plus
 * the output tokens it asks for (`max_completion_tokens` or `max_tokens`), as engines such as
 * vLLM count them against `max_model_len`.
 */
export function estimateTokens(op: Operation, body: Readonly<Record<string, unknown>>): number {
  const counter = { ascii: 0, other: 0 };
  if (op === 'chat') {
    if (Array.isArray(body.messages)) {
      for (const m of body.messages as unknown[]) {
        const content = (m as { content?: unknown } | null)?.content;
        if (typeof content === 'string') countText(content, counter);
        else if (Array.isArray(content)) {
          for (const part of content as unknown[]) {
            const text = (part as { text?: unknown } | null)?.text;
            if (typeof text === 'string') countText(text, counter);
          }
        }
      }
    }
  } else if (op === 'responses') {
    countValue(body.instructions, counter);
    if (typeof body.input === 'string') countText(body.input, counter);
    else if (Array.isArray(body.input)) {
      for (const item of body.input as unknown[]) {
        const content = (item as { content?: unknown } | null)?.content;
        if (typeof content === 'string') countText(content, counter);
        else if (Array.isArray(content)) for (const part of content as unknown[]) countValue((part as { text?: unknown } | null)?.text, counter);
        countValue((item as { output?: unknown } | null)?.output, counter);
      }
    }
    const out = body.max_output_tokens;
    return Math.ceil(counter.ascii / 4) + counter.other + (typeof out === 'number' && out > 0 ? out : 0);
  } else if (op === 'rerank') {
    // The query is scored against each document: both are read by the model.
    countValue(body.query, counter);
    if (Array.isArray(body.documents)) for (const d of body.documents as unknown[]) countValue(typeof d === 'object' && d !== null ? (d as { text?: unknown }).text : d, counter);
  } else {
    countValue(op === 'completions' || op === 'images' ? body.prompt : body.input, counter);
  }
  const out = body.max_completion_tokens ?? body.max_tokens;
  return Math.ceil(counter.ascii / 4) + counter.other + (typeof out === 'number' && out > 0 ? out : 0);
}

function countValue(v: unknown, c: { ascii: number; other: number }): void {
  if (typeof v === 'string') countText(v, c);
  else if (Array.isArray(v)) for (const x of v) if (typeof x === 'string') countText(x, c);
}

function countText(s: string, c: { ascii: number; other: number }): void {
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) < 0x80) c.ascii++;
    else c.other++;
  }
}

/**
 * Why no backend of a route can take the request, for the client's 400: the features every
 * backend lacks, the combination none has, or the context window it exceeds.
 */
export function incapableMessage(
  routeId: string,
  needs: number,
  tokens: number,
  backends: ReadonlyArray<{ lacks: number; window: number }>,
): string {
  const missing: string[] = [];
  for (const [bit, name, field] of FEATURES) {
    if ((needs & bit) !== 0 && backends.every((b) => (b.lacks & bit) !== 0)) missing.push(`${name} (every backend has ${field} ${field === 'adapter' ? 'without it' : 'false'})`);
  }
  if (missing.length > 0) return `no backend of route ${routeId} supports ${missing.join(', ')}`;
  const able = backends.filter((b) => (b.lacks & needs) === 0);
  if (able.length === 0) {
    const used = FEATURES.filter(([bit]) => (needs & bit) !== 0 && bit < Need.chat).map(([, name]) => name);
    return `no backend of route ${routeId} supports all of ${used.join(', ')} in one request`;
  }
  const largest = Math.max(...able.map((b) => b.window));
  return `the request needs about ${tokens} tokens (prompt estimate plus max_tokens), more than the largest contextWindow of route ${routeId} (${largest})`;
}

/** Operations whose answer is not generated tokens. */
const NO_OUTPUT: ReadonlySet<Operation> = new Set(['embeddings', 'rerank', 'moderations', 'speech', 'image_edits']);

/**
 * What a request may use: its prompt, estimated (4 ASCII characters or 1 other character per
 * token), and its output, the max_tokens it names (max_completion_tokens, max_tokens, or the
 * Responses API's max_output_tokens) or `defaultMaxTokens` when it names none; none for an
 * operation that generates no tokens. Token limits reserve the sum; a budget the cost of each at
 * the route's highest prices.
 */
export function requestedTokens(op: Operation, b: Readonly<Record<string, unknown>>, defaultMaxTokens: number): { prompt: number; output: number } {
  const named = op === 'responses' ? b.max_output_tokens : b.max_completion_tokens ?? b.max_tokens;
  const asked = typeof named === 'number' && named > 0 ? named : 0;
  // estimateTokens counts the named maximum in: the prompt is what is left.
  const prompt = estimateTokens(op, b) - asked;
  return { prompt, output: NO_OUTPUT.has(op) ? 0 : asked > 0 ? asked : defaultMaxTokens };
}
