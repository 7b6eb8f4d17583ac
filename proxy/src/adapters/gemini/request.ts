import { UnsupportedRequest } from '../types.ts';
import { toGeminiSchema } from './schema.ts';
import { signatureFromCallId } from './tool-ids.ts';

type Json = Record<string, unknown>;

/** Request fields that never change the answer (or only the proxy's relay of it), so they are not sent. */
const IGNORED = new Set(['model', 'messages', 'stream', 'stream_options', 'user', 'metadata', 'store', 'service_tier', 'parallel_tool_calls', 'safety_identifier', 'prompt_cache_key', 'prompt_cache_retention']);

/** Fields this translation carries over; any other non-null field is refused, never silently dropped. */
const HANDLED = new Set(['max_tokens', 'max_completion_tokens', 'stop', 'temperature', 'top_p', 'seed', 'presence_penalty', 'frequency_penalty', 'response_format', 'reasoning_effort', 'tools', 'tool_choice', 'n', 'logprobs']);

/**
 * reasoning_effort as Gemini's thinking budget (tokens): the values Google's own OpenAI
 * compatibility layer documents for low, medium and high; none turns thinking off (budget 0,
 * which Gemini 2.5 Pro and Gemini 3 refuse: they cannot stop thinking).
 */
export const THINKING_BUDGET: Record<string, number> = { none: 0, minimal: 512, low: 1024, medium: 8192, high: 24576, xhigh: 24576 };

/** Gemini 3 validates the thought signature of replayed calls; this value (documented by Google) skips that for calls another model made. */
const SKIP_SIGNATURE = 'skip_thought_signature_validator';

const unsupported = (field: string, what: string) => new UnsupportedRequest(field, `${field}: the gemini adapter cannot ${what}`);

/** An OpenAI chat request body as a Gemini `GenerateContentRequest`. Never mutates `body`. */
export function chatToGemini(body: Readonly<Json>): Json {
  for (const k in body) {
    if (body[k] === null || body[k] === undefined || IGNORED.has(k)) continue;
    // Text is what Gemini answers anyway; another modality (audio) is refused below.
    if (k === 'modalities' && Array.isArray(body[k]) && (body[k] as unknown[]).every((m) => m === 'text')) continue;
    if (!HANDLED.has(k)) throw unsupported(k, 'send this field (Gemini has no equivalent)');
  }
  const out: Json = {};
  const { system, contents } = messagesToContents(body.messages);
  if (system.length > 0) out.systemInstruction = { parts: system.map((text) => ({ text })) };
  out.contents = contents;
  const tools = toolsToGemini(body.tools);
  if (tools) out.tools = tools;
  const toolConfig = toolChoiceToGemini(body.tool_choice);
  if (toolConfig) out.toolConfig = toolConfig;
  const gc = generationConfig(body);
  if (Object.keys(gc).length > 0) out.generationConfig = gc;
  return out;
}

function generationConfig(body: Readonly<Json>): Json {
  const gc: Json = {};
  const n = body.n;
  if (n !== undefined && n !== null && n !== 1) throw unsupported('n', 'ask for more than one choice (Gemini returns one candidate per request)');
  if (body.logprobs === true) throw unsupported('logprobs', 'return log probabilities');
  const max = body.max_completion_tokens ?? body.max_tokens;
  if (typeof max === 'number') gc.maxOutputTokens = max;
  const stop = body.stop;
  if (typeof stop === 'string') gc.stopSequences = [stop];
  else if (Array.isArray(stop) && stop.length > 0) gc.stopSequences = stop.map(String);
  if (typeof body.temperature === 'number') gc.temperature = body.temperature;
  if (typeof body.top_p === 'number') gc.topP = body.top_p;
  if (typeof body.presence_penalty === 'number') gc.presencePenalty = body.presence_penalty;
  if (typeof body.frequency_penalty === 'number') gc.frequencyPenalty = body.frequency_penalty;
  const seed = body.seed;
  if (typeof seed === 'number') {
    // Gemini's seed is an int32; a larger one would be refused or silently changed.
    if (!Number.isInteger(seed) || seed < -2147483648 || seed > 2147483647) throw unsupported('seed', 'send a seed outside the 32-bit integer range');
    gc.seed = seed;
  }
  const rf = body.response_format as Json | undefined;
  if (rf && typeof rf === 'object') {
    if (rf.type === 'json_object') gc.responseMimeType = 'application/json';
    else if (rf.type === 'json_schema') {
      gc.responseMimeType = 'application/json';
      const js = rf.json_schema as Json | undefined;
      if (js?.schema !== undefined) gc.responseSchema = toGeminiSchema(js.schema, 'response_format');
    } else if (rf.type !== 'text') throw unsupported('response_format', `answer in the format ${String(rf.type)}`);
  }
  const effort = body.reasoning_effort;
  if (effort !== undefined && effort !== null) {
    const budget = THINKING_BUDGET[String(effort)];
    if (budget === undefined) throw unsupported('reasoning_effort', `map reasoning_effort ${String(effort)} to a thinking budget`);
    gc.thinkingConfig = budget === 0 ? { thinkingBudget: 0 } : { thinkingBudget: budget, includeThoughts: true };
  }
  return gc;
}

/** OpenAI messages as Gemini's system instruction and contents (roles user and model, consecutive turns of one role merged). */
function messagesToContents(messages: unknown): { system: string[]; contents: Json[] } {
  if (!Array.isArray(messages)) throw unsupported('messages', 'send a request without messages');
  const system: string[] = [];
  const contents: Array<{ role: string; parts: Json[] }> = [];
  const callNames = new Map<string, string>();
  const push = (role: string, parts: Json[]) => {
    if (parts.length === 0) return;
    const last = contents[contents.length - 1];
    if (last && last.role === role) last.parts.push(...parts);
    else contents.push({ role, parts });
  };
  for (const raw of messages as Json[]) {
    const role = raw.role;
    if (role === 'system' || role === 'developer') {
      const t = textOf(raw.content, 'messages');
      if (t) system.push(t);
    } else if (role === 'user') {
      push('user', contentParts(raw.content));
    } else if (role === 'assistant') {
      const parts: Json[] = [];
      const t = textOf(raw.content, 'messages') || (typeof raw.refusal === 'string' ? raw.refusal : '');
      if (t) parts.push({ text: t });
      let first = true;
      for (const c of (raw.tool_calls as Json[] | undefined) ?? []) {
        const f = (c.function ?? {}) as Json;
        const name = String(f.name ?? '');
        const id = String(c.id ?? '');
        callNames.set(id, name);
        const part: Json = { functionCall: { name, args: parseArgs(f.arguments) } };
        // Only the first call of a turn carries the signature (Gemini puts it there).
        if (first) part.thoughtSignature = signatureFromCallId(id) ?? SKIP_SIGNATURE;
        first = false;
        parts.push(part);
      }
      push('model', parts);
    } else if (role === 'tool') {
      const id = String(raw.tool_call_id ?? '');
      const name = callNames.get(id) ?? (typeof raw.name === 'string' ? raw.name : undefined);
      if (name === undefined) throw unsupported('messages', `send the tool result ${id}: it answers no earlier tool call`);
      push('user', [{ functionResponse: { name, response: toolResponse(textOf(raw.content, 'messages')) } }]);
    } else {
      throw unsupported('messages', `send a message with role ${String(role)}`);
    }
  }
  return { system, contents };
}

/** Arguments as an object: Gemini's functionCall.args is a JSON object, OpenAI's a JSON string. */
function parseArgs(a: unknown): Json {
  if (typeof a !== 'string' || a.trim() === '') return {};
  try {
    const v = JSON.parse(a) as unknown;
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v as Json;
  } catch {
    // not JSON: kept as text below
  }
  throw unsupported('messages', 'send tool call arguments that are not a JSON object');
}

/** A tool result as Gemini's response object: a JSON object as it is, anything else under `result`. */
function toolResponse(content: string): Json {
  try {
    const v = JSON.parse(content) as unknown;
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v as Json;
    return { result: v };
  } catch {
    return { result: content };
  }
}

/** The text of a message content (a string or text parts); other parts are refused where only text fits. */
function textOf(content: unknown, field: string): string {
  if (typeof content === 'string') return content;
  if (content === null || content === undefined) return '';
  if (!Array.isArray(content)) throw unsupported(field, 'read a message content that is neither text nor parts');
  const texts: string[] = [];
  for (const p of content as Json[]) {
    if (p.type === 'text' && typeof p.text === 'string') texts.push(p.text);
    else if (p.type === 'refusal' && typeof p.refusal === 'string') texts.push(p.refusal);
    else throw unsupported(field, `send a ${String(p.type)} part in a system, assistant or tool message`);
  }
  return texts.join('\n');
}

/** A user message content as Gemini parts: text, images (inline data URLs, or links Gemini fetches), audio, files. */
function contentParts(content: unknown): Json[] {
  if (typeof content === 'string') return content ? [{ text: content }] : [];
  if (!Array.isArray(content)) return [];
  const parts: Json[] = [];
  for (const p of content as Json[]) {
    if (p.type === 'text') parts.push({ text: String(p.text ?? '') });
    else if (p.type === 'image_url') {
      const iu = p.image_url as Json | string | undefined;
      parts.push(mediaPart(typeof iu === 'string' ? iu : String(iu?.url ?? ''), 'messages'));
    } else if (p.type === 'input_audio') {
      const a = (p.input_audio ?? {}) as Json;
      parts.push({ inlineData: { mimeType: `audio/${String(a.format ?? 'wav')}`, data: String(a.data ?? '') } });
    } else if (p.type === 'file') {
      const f = (p.file ?? {}) as Json;
      if (typeof f.file_data !== 'string') throw unsupported('messages', 'send a file by file_id (only file_data is passed on)');
      parts.push(mediaPart(f.file_data, 'messages'));
    } else throw unsupported('messages', `send a ${String(p.type)} content part`);
  }
  return parts;
}

const MIME_BY_EXTENSION: Record<string, string> = { png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg', gif: 'image/gif', webp: 'image/webp', heic: 'image/heic', heif: 'image/heif', pdf: 'application/pdf' };

/** A data URL as inline data; an http(s) link as file data, which the Gemini API fetches itself. */
function mediaPart(url: string, field: string): Json {
  const m = /^data:([^;,]+)(?:;[^,]*)?;base64,(.*)$/s.exec(url);
  if (m) return { inlineData: { mimeType: m[1], data: m[2] } };
  if (/^https?:\/\//i.test(url)) {
    const ext = /\.([a-z0-9]+)(?:[?#]|$)/i.exec(new URL(url).pathname)?.[1]?.toLowerCase();
    const mime = ext ? MIME_BY_EXTENSION[ext] : undefined;
    return { fileData: mime ? { mimeType: mime, fileUri: url } : { fileUri: url } };
  }
  throw unsupported(field, 'send an image that is neither a base64 data URL nor an http(s) link');
}

function toolsToGemini(tools: unknown): Json[] | undefined {
  if (!Array.isArray(tools) || tools.length === 0) return undefined;
  const decls: Json[] = [];
  for (const t of tools as Json[]) {
    if (t.type !== 'function') throw unsupported('tools', `offer a ${String(t.type)} tool (only function tools)`);
    const f = (t.function ?? {}) as Json;
    const d: Json = { name: f.name };
    if (typeof f.description === 'string') d.description = f.description;
    const params = f.parameters as Json | undefined;
    // Gemini refuses an object schema without properties: a function without parameters sends none.
    if (params && !(params.type === 'object' && (!params.properties || Object.keys(params.properties as Json).length === 0))) {
      d.parameters = toGeminiSchema(params, 'tools');
    }
    decls.push(d);
  }
  return [{ functionDeclarations: decls }];
}

function toolChoiceToGemini(tc: unknown): Json | undefined {
  if (tc === undefined || tc === null) return undefined;
  const cfg = (mode: string, names?: string[]) => ({ functionCallingConfig: names ? { mode, allowedFunctionNames: names } : { mode } });
  if (tc === 'auto') return cfg('AUTO');
  if (tc === 'none') return cfg('NONE');
  if (tc === 'required') return cfg('ANY');
  if (typeof tc === 'object' && (tc as Json).type === 'function') return cfg('ANY', [String(((tc as Json).function as Json | undefined)?.name ?? '')]);
  throw unsupported('tool_choice', 'send this tool_choice');
}
