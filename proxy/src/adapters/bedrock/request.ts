import { rerankToCohere } from '../cohere/rerank.ts';
import { UnsupportedRequest } from '../types.ts';

/**
 * OpenAI chat and embeddings requests -> Bedrock's Converse and InvokeModel bodies. Pure: the
 * client's body is read, never changed, so a retry on another backend translates it again.
 */

type Json = Record<string, unknown>;

export type ContentBlock =
  | { text: string }
  | { image: { format: string; source: { bytes: string } } }
  | { toolUse: { toolUseId: string; name: string; input: unknown } }
  | { toolResult: { toolUseId: string; content: Array<{ text: string }> } };

export interface ConverseMessage {
  role: 'user' | 'assistant';
  content: ContentBlock[];
}

export interface ConverseRequest {
  messages: ConverseMessage[];
  system?: Array<{ text: string }>;
  inferenceConfig?: { maxTokens?: number; temperature?: number; topP?: number; stopSequences?: string[] };
  toolConfig?: { tools: Array<{ toolSpec: { name: string; description?: string; inputSchema: { json: unknown } } }>; toolChoice?: Json };
  additionalModelRequestFields?: Json;
}

const refuse = (field: string, why: string): UnsupportedRequest => new UnsupportedRequest(field, `bedrock: ${field} ${why}`);

/**
 * Thinking budgets (Anthropic models on Bedrock) for OpenAI's reasoning_effort; `none` asks
 * for no thinking.
 */
export const THINKING_BUDGET: Record<string, number> = { minimal: 1024, low: 1024, medium: 4096, high: 16384, xhigh: 32768 };
/** Output room left beside the thinking budget when the client set no max_tokens (Anthropic requires max_tokens > budget). */
const ANSWER_ROOM = 4096;
const MIN_BUDGET = 1024;

const IMAGE_FORMATS: Record<string, string> = { 'image/png': 'png', 'image/jpeg': 'jpeg', 'image/jpg': 'jpeg', 'image/gif': 'gif', 'image/webp': 'webp' };

/** Fields Converse has no equivalent for, which would change the answer: refused rather than dropped. */
function refuseUnsupported(b: Json): void {
  if (b.seed !== undefined && b.seed !== null) throw refuse('seed', 'is not supported by the Converse API');
  if (typeof b.n === 'number' && b.n !== 1) throw refuse('n', 'must be 1 (Converse returns one choice)');
  if (b.logprobs === true || b.top_logprobs !== undefined) throw refuse('logprobs', 'is not supported by the Converse API');
  for (const f of ['frequency_penalty', 'presence_penalty'] as const) {
    if (typeof b[f] === 'number' && b[f] !== 0) throw refuse(f, 'is not supported by the Converse API');
  }
  if (b.logit_bias && typeof b.logit_bias === 'object' && Object.keys(b.logit_bias).length > 0) throw refuse('logit_bias', 'is not supported by the Converse API');
  const rf = b.response_format as Json | undefined;
  if (rf && rf.type !== 'text') throw refuse('response_format', 'is not supported: the Converse API has no JSON mode');
  if (b.parallel_tool_calls === false) throw refuse('parallel_tool_calls', 'false is not supported by the Converse API');
  if (Array.isArray(b.modalities) && b.modalities.some((m) => m !== 'text')) throw refuse('modalities', 'other than text are not supported');
  if (b.audio !== undefined && b.audio !== null) throw refuse('audio', 'is not supported by the Converse API');
  if (b.prediction !== undefined && b.prediction !== null) throw refuse('prediction', 'is not supported by the Converse API');
  if (b.web_search_options !== undefined) throw refuse('web_search_options', 'is not supported by the Converse API');
}

function textOf(content: unknown, field: string): string {
  if (typeof content === 'string') return content;
  if (content === null || content === undefined) return '';
  if (!Array.isArray(content)) throw refuse(field, 'must be a string or an array of parts');
  return (content as Json[]).map((p) => {
    if (p.type === 'text' || p.type === 'refusal') return String(p.text ?? p.refusal ?? '');
    throw refuse(`${field}[].type`, `"${String(p.type)}" is not supported here`);
  }).join('');
}

function userBlocks(content: unknown): ContentBlock[] {
  if (typeof content === 'string') return content ? [{ text: content }] : [];
  if (!Array.isArray(content)) return [];
  const out: ContentBlock[] = [];
  for (const p of content as Json[]) {
    if (p.type === 'text') {
      if (typeof p.text === 'string' && p.text) out.push({ text: p.text });
    } else if (p.type === 'image_url') {
      const iu = p.image_url as Json | string | undefined;
      const url = typeof iu === 'string' ? iu : String(iu?.url ?? '');
      const m = /^data:([^;,]+);base64,(.*)$/s.exec(url);
      if (!m) throw refuse('image_url', 'must be a data URL (data:image/...;base64,...): Converse takes image bytes, not links');
      const format = IMAGE_FORMATS[m[1]!.toLowerCase()];
      if (!format) throw refuse('image_url', `type ${m[1]} is not supported (png, jpeg, gif, webp)`);
      out.push({ image: { format, source: { bytes: m[2]! } } });
    } else {
      throw refuse(`content[].type`, `"${String(p.type)}" is not supported`);
    }
  }
  return out;
}

function parseArguments(args: unknown): unknown {
  if (typeof args !== 'string' || args.trim() === '') return {};
  try {
    return JSON.parse(args);
  } catch {
    throw refuse('tool_calls[].function.arguments', 'must be JSON (Converse takes the tool input as an object)');
  }
}

/** The messages as Converse turns: system lifted, tool results in user turns, same-role turns merged. */
export function converseMessages(messages: unknown): { system: Array<{ text: string }>; messages: ConverseMessage[]; usesTools: boolean } {
  const system: Array<{ text: string }> = [];
  const out: ConverseMessage[] = [];
  let usesTools = false;
  const push = (role: 'user' | 'assistant', blocks: ContentBlock[]): void => {
    if (blocks.length === 0) return;
    const last = out[out.length - 1];
    if (last && last.role === role) last.content.push(...blocks);
    else out.push({ role, content: blocks });
  };
  for (const m of (Array.isArray(messages) ? messages : []) as Json[]) {
    switch (m.role) {
      case 'system':
      case 'developer': {
        const t = textOf(m.content, 'messages[].content');
        if (t) system.push({ text: t });
        break;
      }
      case 'user':
        push('user', userBlocks(m.content));
        break;
      case 'assistant': {
        const blocks: ContentBlock[] = [];
        const t = textOf(m.content, 'messages[].content');
        if (t) blocks.push({ text: t });
        for (const c of (Array.isArray(m.tool_calls) ? m.tool_calls : []) as Json[]) {
          const f = (c.function ?? {}) as Json;
          blocks.push({ toolUse: { toolUseId: String(c.id), name: String(f.name), input: parseArguments(f.arguments) } });
          usesTools = true;
        }
        push('assistant', blocks);
        break;
      }
      case 'tool':
        usesTools = true;
        push('user', [{ toolResult: { toolUseId: String(m.tool_call_id), content: [{ text: textOf(m.content, 'messages[].content') }] } }]);
        break;
      default:
        throw refuse('messages[].role', `"${String(m.role)}" is not supported`);
    }
  }
  return { system, messages: out, usesTools };
}

/** An OpenAI chat completion request as a Converse (or ConverseStream) body. */
export function converseRequest(b: Json): ConverseRequest {
  refuseUnsupported(b);
  const { system, messages, usesTools } = converseMessages(b.messages);
  const req: ConverseRequest = { messages };
  if (system.length > 0) req.system = system;
  const inf: NonNullable<ConverseRequest['inferenceConfig']> = {};
  const max = b.max_completion_tokens ?? b.max_tokens;
  if (typeof max === 'number') inf.maxTokens = max;
  if (typeof b.temperature === 'number') inf.temperature = b.temperature;
  if (typeof b.top_p === 'number') inf.topP = b.top_p;
  const stop = typeof b.stop === 'string' ? [b.stop] : Array.isArray(b.stop) ? b.stop.map(String) : [];
  if (stop.length > 0) inf.stopSequences = stop;

  const effort = b.reasoning_effort;
  if (typeof effort === 'string' && effort !== 'none') {
    let budget = THINKING_BUDGET[effort];
    if (budget === undefined) throw refuse('reasoning_effort', `"${effort}" is not one of ${Object.keys(THINKING_BUDGET).join(', ')}, none`);
    // The budget counts inside maxTokens (Anthropic requires max_tokens above it): a client
    // limit cuts the budget, and one that leaves less than the 1024-token minimum is refused.
    if (inf.maxTokens !== undefined && budget >= inf.maxTokens) budget = inf.maxTokens - 1;
    if (budget < MIN_BUDGET) throw refuse('reasoning_effort', `needs max_tokens above ${MIN_BUDGET} (thinking takes at least ${MIN_BUDGET} tokens)`);
    req.additionalModelRequestFields = { thinking: { type: 'enabled', budget_tokens: budget } };
    inf.maxTokens ??= budget + ANSWER_ROOM;
  }
  if (Object.keys(inf).length > 0) req.inferenceConfig = inf;

  const tools = Array.isArray(b.tools) ? (b.tools as Json[]) : [];
  const choice = b.tool_choice as string | Json | undefined;
  if (choice === 'none') {
    // Converse has no "none": the tools are left out, which Bedrock refuses when the history holds tool blocks.
    if (usesTools) throw refuse('tool_choice', '"none" is not supported with tool calls in the history (Converse has no tool_choice none)');
    return req;
  }
  if (tools.length > 0) {
    req.toolConfig = {
      tools: tools.map((t) => {
        if (t.type !== 'function') throw refuse('tools[].type', `"${String(t.type)}" is not supported (function only)`);
        const f = (t.function ?? {}) as Json;
        return {
          toolSpec: {
            name: String(f.name),
            ...(typeof f.description === 'string' ? { description: f.description } : {}),
            inputSchema: { json: f.parameters ?? { type: 'object', properties: {} } },
          },
        };
      }),
    };
    if (choice === 'required') req.toolConfig.toolChoice = { any: {} };
    else if (choice && typeof choice === 'object') req.toolConfig.toolChoice = { tool: { name: String((choice.function as Json | undefined)?.name) } };
    else if (choice === 'auto') req.toolConfig.toolChoice = { auto: {} };
  } else if (usesTools) {
    throw refuse('tools', 'must be given when the history holds tool calls (Bedrock requires the tool definitions then)');
  }
  return req;
}

export type EmbeddingFamily = 'titan' | 'cohere';

/** Which InvokeModel body a model id takes, by its prefix (after a cross-region prefix such as `us.`). */
export function embeddingFamily(modelId: string): EmbeddingFamily | undefined {
  const id = modelId.replace(/^(?:us|eu|apac|global|us-gov|jp|au|ca)\./, '');
  if (id.startsWith('amazon.titan-embed')) return 'titan';
  if (id.startsWith('cohere.embed')) return 'cohere';
  return undefined;
}

/** An OpenAI embeddings request as the InvokeModel body of the model's family. */
export function embeddingsRequest(b: Json, modelId: string): Json {
  const family = embeddingFamily(modelId);
  if (!family) throw refuse('model', `"${modelId}" is not an embedding model this adapter knows (amazon.titan-embed-*, cohere.embed-*)`);
  const input = b.input;
  if (!(typeof input === 'string' || (Array.isArray(input) && input.every((x) => typeof x === 'string')))) {
    throw refuse('input', 'must be a string or an array of strings (token arrays are not supported)');
  }
  const texts = typeof input === 'string' ? [input] : (input as string[]);
  const dims = b.dimensions;
  if (family === 'titan') {
    // InvokeModel embeds one text per call for Titan; one client request is one upstream call here.
    if (texts.length !== 1) throw refuse('input', `with ${texts.length} texts is not supported for Titan models, which embed one text per call (send one per request, or use a Cohere model)`);
    return { inputText: texts[0], ...(typeof dims === 'number' ? { dimensions: dims } : {}) };
  }
  const out: Json = { texts, input_type: 'search_document' };
  if (typeof dims === 'number') {
    if (!/embed-v4/.test(modelId)) throw refuse('dimensions', 'is supported by Cohere Embed v4 only');
    out.output_dimension = dims;
  }
  return out;
}

/**
 * A rerank request (the Cohere/Jina shape) as the InvokeModel body of Cohere Rerank on Bedrock:
 * Cohere's v2 body without the model (it is in the path), with `api_version: 2`. Other rerank
 * models of Bedrock are served only by the Agents runtime's Rerank API, which this adapter does
 * not call.
 */
export function rerankRequest(b: Json, modelId: string): Json {
  if (!/(?:^|[./])cohere\.rerank/.test(modelId)) throw refuse('model', `"${modelId}" is not a Cohere Rerank model (cohere.rerank-v3-5:0), the rerank models this adapter serves through InvokeModel`);
  const { model: _model, ...rest } = rerankToCohere(b, modelId, 'Cohere Rerank on Bedrock (backend adapter bedrock)');
  return { ...rest, api_version: 2 };
}
