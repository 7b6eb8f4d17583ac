// The behaviour every provider fake shares, independent of wire formats: a fake parses its
// provider's request into a ScenarioRequest, asks `respond`, and writes the ScenarioReply in
// its provider's format (JSON or stream). So one conformance table can say what the client
// must see for each case, whatever provider sits behind the proxy.

export interface ScenarioToolCall {
  id: string;
  name: string;
  /** JSON text of the arguments. */
  arguments: string;
}

export interface ScenarioMessage {
  role: 'user' | 'assistant' | 'tool';
  text: string;
  /** Images the message carried (data URLs or links). */
  images: number;
  toolCalls: ScenarioToolCall[];
  /** For role tool: results, by the id of the call they answer. */
  toolResults: Array<{ id: string; content: string }>;
}

export interface ScenarioRequest {
  /** The model the provider was asked for (after the proxy's rewrite). */
  model: string;
  system: string;
  messages: ScenarioMessage[];
  /** Names of the tools offered. */
  tools: string[];
  /** `none` forbids a tool call, a name forces that tool. */
  toolChoice: 'auto' | 'none' | 'required' | { name: string };
  json: boolean;
  stop: string[];
  maxTokens: number | undefined;
  reasoning: boolean;
  stream: boolean;
}

export type ScenarioErrorKind = 'invalid_request' | 'authentication' | 'permission' | 'not_found' | 'rate_limit' | 'server' | 'overloaded' | 'context_length';

export type ScenarioReply =
  | {
      kind: 'reply';
      text: string;
      reasoning: string;
      toolCalls: ScenarioToolCall[];
      finish: 'stop' | 'length' | 'tool_calls';
      usage: { input: number; output: number };
    }
  | { kind: 'error'; error: ScenarioErrorKind; status: number; message: string; retryAfter?: string };

/** What the last user message says to trigger an error: `ERROR <kind>`. */
const ERRORS: Record<string, { error: ScenarioErrorKind; status: number; message: string; retryAfter?: string }> = {
  'ERROR 400': { error: 'invalid_request', status: 400, message: 'the request is invalid (scenario)' },
  'ERROR 401': { error: 'authentication', status: 401, message: 'invalid credential (scenario)' },
  'ERROR 403': { error: 'permission', status: 403, message: 'credential lacks permission (scenario)' },
  'ERROR 404': { error: 'not_found', status: 404, message: 'model not found (scenario)' },
  'ERROR 429': { error: 'rate_limit', status: 429, message: 'rate limited (scenario)', retryAfter: '7' },
  'ERROR 500': { error: 'server', status: 500, message: 'internal error (scenario)' },
  'ERROR 529': { error: 'overloaded', status: 529, message: 'overloaded (scenario)' },
  'ERROR CONTEXT': { error: 'context_length', status: 400, message: 'prompt is too long for the context window (scenario)' },
};

export function words(text: string): number {
  return text.split(/\s+/).filter(Boolean).length;
}

/**
 * The reply of a fake called `name`:
 * - `ERROR <400|401|403|404|429|500|529|CONTEXT>` in the last user message: that error;
 * - after tool results: `The tool said: <results>`;
 * - tools offered (and not `none`): a call of the forced tool, or the first, with `{"city":"Paris"}`;
 * - JSON mode: `{"answer":"ok"}`;
 * - otherwise `Hello from <name>: <last user text>`, with ` [system: …]` and ` [images: N]` when
 *   there were any; cut at the first stop sequence (finish stop) or at maxTokens words (length).
 * - reasoning requested: reasoning text `Thinking about <last user text>.`
 * Usage counts words: input over the system prompt and every message, output over the reply.
 */
export function respond(name: string, req: ScenarioRequest): ScenarioReply {
  const last = [...req.messages].reverse().find((m) => m.role === 'user' || m.role === 'tool');
  const lastUser = [...req.messages].reverse().find((m) => m.role === 'user');
  const userText = lastUser?.text ?? '';
  for (const key in ERRORS) if (userText.includes(key)) return { kind: 'error', ...ERRORS[key]! };
  const input = words(req.system) + req.messages.reduce((n, m) => n + words(m.text) + m.toolResults.reduce((k, r) => k + words(r.content), 0), 0);
  const reasoning = req.reasoning ? `Thinking about ${userText}.` : '';
  if (last?.role === 'tool') {
    const text = `The tool said: ${last.toolResults.map((r) => r.content).join('; ')}`;
    return { kind: 'reply', text, reasoning, toolCalls: [], finish: 'stop', usage: { input, output: words(text) } };
  }
  if (req.tools.length > 0 && req.toolChoice !== 'none') {
    const tool = typeof req.toolChoice === 'object' ? req.toolChoice.name : req.tools[0]!;
    const call = { id: `call_${name.replace(/[^a-zA-Z0-9]/g, '')}_1`, name: tool, arguments: '{"city":"Paris"}' };
    return { kind: 'reply', text: '', reasoning, toolCalls: [call], finish: 'tool_calls', usage: { input, output: 5 } };
  }
  let text = req.json
    ? '{"answer":"ok"}'
    : `Hello from ${name}: ${userText}` + (req.system ? ` [system: ${req.system}]` : '') + (last && last.images > 0 ? ` [images: ${last.images}]` : '');
  let finish: 'stop' | 'length' = 'stop';
  for (const s of req.stop) {
    const at = s ? text.indexOf(s) : -1;
    if (at >= 0) text = text.slice(0, at);
  }
  if (req.maxTokens !== undefined && words(text) > req.maxTokens) {
    text = text.split(/\s+/).filter(Boolean).slice(0, req.maxTokens).join(' ');
    finish = 'length';
  }
  return { kind: 'reply', text, reasoning, toolCalls: [], finish, usage: { input, output: words(text) } };
}

/** The reply's text in stream pieces: one per word, spaces kept, so deltas join back to the text. */
export function pieces(text: string): string[] {
  return text.match(/\S+\s*/g) ?? [];
}

/**
 * How a fake paces or breaks its stream, from the last user message: `SLOW STREAM` waits 100 ms
 * between events (for client-abort cases), `CUT STREAM` drops the connection after 3 events.
 */
export function streamPlan(req: ScenarioRequest): { delayMs: number; cutAfter: number | undefined } {
  const text = [...req.messages].reverse().find((m) => m.role === 'user')?.text ?? '';
  return { delayMs: text.includes('SLOW STREAM') ? 100 : 0, cutAfter: text.includes('CUT STREAM') ? 3 : undefined };
}

/** A deterministic embedding of `dimensions` numbers for a text (same text, same vector). */
export function embedding(text: string, dimensions = 8): number[] {
  const v: number[] = [];
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  for (let d = 0; d < dimensions; d++) {
    h = Math.imul(h ^ d, 16777619);
    v.push(((h >>> 0) % 2000) / 1000 - 1);
  }
  return v;
}

/** What every provider fake offers a test. */
export interface ProviderFake {
  readonly name: string;
  /** The backend's `url:` (what the provider's official SDK takes as its base URL). */
  readonly url: string;
  /** The credential the fake accepts; requests without it get the provider's 401. */
  readonly credential: string;
  readonly requests: import('./server.ts').FakeRequest[];
  close(): Promise<void>;
}
