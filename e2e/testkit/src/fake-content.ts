// The deterministic content of the fake OpenAI backend: replies that name the backend, word
// counts as tokens, embeddings derived from the input text, OpenAI-style error bodies. Pure,
// so tests can compute what a reply must be.
import { createHash } from 'node:crypto';

/** Deterministic token count: whitespace-separated words. */
export function countTokens(text: string): number {
  const t = text.trim();
  return t === '' ? 0 : t.split(/\s+/).length;
}

function textOfContent(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((p: unknown) => (isObject(p) && typeof p['text'] === 'string' ? p['text'] : ''))
      .filter((s) => s !== '')
      .join(' ');
  }
  return '';
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The reply the fake gives to a chat request: names the backend and echoes the last user message. */
export function chatReply(name: string, messages: unknown): string {
  let last = '';
  if (Array.isArray(messages)) {
    for (const m of messages) {
      if (isObject(m) && m['role'] === 'user') last = textOfContent(m['content']);
    }
  }
  return `Hello from ${name}: you said "${last}"`;
}

/** Prompt tokens of a chat request: words over every message's text content. */
export function chatPromptTokens(messages: unknown): number {
  if (!Array.isArray(messages)) return 0;
  let n = 0;
  for (const m of messages) if (isObject(m)) n += countTokens(textOfContent(m['content']));
  return n;
}

export function promptText(prompt: unknown): string {
  if (typeof prompt === 'string') return prompt;
  if (Array.isArray(prompt)) return prompt.map((p) => (typeof p === 'string' ? p : JSON.stringify(p))).join(' ');
  return '';
}

/** The reply text of a legacy completion. */
export function completionReply(name: string, prompt: unknown): string {
  return `Hello from ${name}: you said "${promptText(prompt)}"`;
}

/** Splits a reply into stream deltas: one word each, the separating space kept on the word before. */
export function streamPieces(text: string): string[] {
  return text.match(/\S+\s*/g) ?? [];
}

export function embeddingInputs(input: unknown): string[] {
  if (typeof input === 'string') return [input];
  if (Array.isArray(input)) {
    if (input.every((x) => typeof x === 'number')) return [input.join(',')];
    return input.map((x) => (typeof x === 'string' ? x : Array.isArray(x) ? x.join(',') : JSON.stringify(x)));
  }
  return [];
}

/** A deterministic unit-range vector derived from the input text. */
export function embeddingVector(text: string, dimensions: number): number[] {
  const out: number[] = [];
  let block = 0;
  while (out.length < dimensions) {
    const h = createHash('sha256').update(`${block}:${text}`).digest();
    for (let i = 0; i + 2 <= h.length && out.length < dimensions; i += 2) {
      // Round to float32 so the float and base64 forms decode to the very same numbers.
      out.push(Math.fround((h.readUInt16BE(i) / 65535) * 2 - 1));
    }
    block++;
  }
  return out;
}

export function embeddingBase64(vector: number[]): string {
  const f = new Float32Array(vector);
  return Buffer.from(f.buffer, f.byteOffset, f.byteLength).toString('base64');
}

export function errorBody(message: string, type: string, param: string | null, code: string | null): string {
  return JSON.stringify({ error: { message, type, param, code } });
}

/**
 * A fake reranker's relevance of each document to the query: the share of the query's words
 * (lower case) the document holds, so a test can predict the order. Documents are strings or
 * `{text}` objects.
 */
export function rerankScores(query: string, documents: readonly unknown[]): number[] {
  const q = [...new Set(query.toLowerCase().split(/\W+/).filter(Boolean))];
  return documents.map((d) => {
    const text = typeof d === 'string' ? d : isObject(d) && typeof d.text === 'string' ? d.text : '';
    const have = new Set(text.toLowerCase().split(/\W+/).filter(Boolean));
    const hits = q.filter((w) => have.has(w)).length;
    return q.length === 0 ? 0 : Math.round((hits / q.length) * 1e6) / 1e6;
  });
}

/** Result indexes by descending score (ties by index), the first `topN` when given. */
export function rankOrder(scores: readonly number[], topN?: unknown): number[] {
  const order = scores.map((_, i) => i).sort((a, b) => scores[b]! - scores[a]! || a - b);
  return typeof topN === 'number' && topN > 0 ? order.slice(0, topN) : order;
}

/** Response headers that describe the provider account, as OpenAI sends them (see proxy/src/upstream/attempt.ts). */
export const ACCOUNT_HEADERS = {
  'openai-organization': 'org-fake-platform-account',
  'openai-project': 'proj_fake',
  'set-cookie': '__cf_bm=fake-cookie; path=/; HttpOnly; Secure; SameSite=None',
};

/** The headers of an event stream. */
export const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
  connection: 'keep-alive',
};

/** One `data:` event. */
export function sse(obj: unknown): string {
  return `data: ${typeof obj === 'string' ? obj : JSON.stringify(obj)}\n\n`;
}
