// A fake of the Gemini API's wire format (generateContent, streamGenerateContent with alt=sse,
// batchEmbedContents and embedContent, Google error bodies), driven by the shared scenario.
// Tested with the official `@google/genai` SDK. Like Gemini 3, it gives a thought signature
// with the first function call of each answer and refuses a replayed call whose signature is
// missing or not one it gave (or Google's documented skip value).
import type { ServerResponse } from 'node:http';
import { embedding, pieces, respond, streamPlan, words, type ProviderFake, type ScenarioErrorKind, type ScenarioMessage, type ScenarioReply, type ScenarioRequest } from './scenario.ts';
import { sendEvents, sendJson, startFakeServer, type FakeRequest } from './server.ts';
import { ONE_PIXEL_PNG } from '../fake-endpoints.ts';

type Json = Record<string, unknown>;

/** The thought signature the fake hands out with each function call (base64, with + and /). */
export const FAKE_SIGNATURE = 'c2lnbmF0dXJl+/8=';

const ERRORS: Record<ScenarioErrorKind, [code: number, status: string]> = {
  invalid_request: [400, 'INVALID_ARGUMENT'],
  authentication: [401, 'UNAUTHENTICATED'],
  permission: [403, 'PERMISSION_DENIED'],
  not_found: [404, 'NOT_FOUND'],
  rate_limit: [429, 'RESOURCE_EXHAUSTED'],
  server: [500, 'INTERNAL'],
  overloaded: [503, 'UNAVAILABLE'],
  context_length: [400, 'INVALID_ARGUMENT'],
};

/** Gemini's own wording for each scenario error (the context one is what Gemini says of a long prompt). */
function errorMessage(kind: ScenarioErrorKind, message: string): string {
  return kind === 'context_length' ? 'The input token count (1048577) exceeds the maximum number of tokens allowed (1048576). (scenario)' : message;
}

function googleError(res: ServerResponse, code: number, status: string, message: string, details: Json[] = []): void {
  sendJson(res, code, { error: { code, message, status, ...(details.length > 0 ? { details } : {}) } });
}

/** A Gemini generateContent request as the scenario sees it. */
export function scenarioFromGemini(model: string, body: Json, stream: boolean): ScenarioRequest {
  const si = body.systemInstruction as Json | undefined;
  const system = ((si?.parts as Json[] | undefined) ?? []).map((p) => String(p.text ?? '')).join('\n');
  const messages: ScenarioMessage[] = [];
  for (const c of (body.contents as Json[] | undefined) ?? []) {
    const texts: string[] = [];
    let images = 0;
    const toolCalls: ScenarioMessage['toolCalls'] = [];
    const toolResults: ScenarioMessage['toolResults'] = [];
    for (const p of (c.parts as Json[] | undefined) ?? []) {
      if (typeof p.text === 'string') texts.push(p.text);
      if (p.inlineData || p.fileData) images++;
      const fc = p.functionCall as Json | undefined;
      if (fc) toolCalls.push({ id: String(fc.name), name: String(fc.name), arguments: JSON.stringify(fc.args ?? {}) });
      const fr = p.functionResponse as Json | undefined;
      if (fr) {
        const r = (fr.response ?? {}) as Json;
        const keys = Object.keys(r);
        toolResults.push({ id: String(fr.name), content: keys.length === 1 && typeof r.result === 'string' ? r.result : JSON.stringify(r) });
      }
    }
    if (toolResults.length > 0) messages.push({ role: 'tool', text: '', images: 0, toolCalls: [], toolResults });
    if (texts.length > 0 || images > 0 || toolCalls.length > 0 || toolResults.length === 0) {
      messages.push({ role: c.role === 'model' ? 'assistant' : 'user', text: texts.join(' '), images, toolCalls, toolResults: [] });
    }
  }
  const gc = (body.generationConfig ?? {}) as Json;
  const fcc = ((body.toolConfig as Json | undefined)?.functionCallingConfig ?? {}) as Json;
  const allowed = fcc.allowedFunctionNames as string[] | undefined;
  const tools = ((body.tools as Json[] | undefined) ?? []).flatMap((t) => ((t.functionDeclarations as Json[] | undefined) ?? []).map((d) => String(d.name)));
  const thinking = gc.thinkingConfig as Json | undefined;
  return {
    model,
    system,
    messages,
    tools,
    toolChoice: fcc.mode === 'NONE' ? 'none' : fcc.mode === 'ANY' ? (allowed?.length === 1 ? { name: allowed[0]! } : 'required') : 'auto',
    json: gc.responseMimeType === 'application/json',
    stop: (gc.stopSequences as string[] | undefined) ?? [],
    maxTokens: gc.maxOutputTokens as number | undefined,
    reasoning: thinking?.includeThoughts === true,
    stream,
  };
}

export async function startGeminiProvider(opts: { name?: string; credential?: string } = {}): Promise<ProviderFake> {
  const name = opts.name ?? 'gemini-fake';
  const credential = opts.credential ?? 'AIza-gemini-fake-credential';
  const server = await startFakeServer((req, res) => handle(name, credential, req, res));
  return { name, url: server.origin, credential, requests: server.requests, close: server.close };
}

const ROUTE = /^\/(v1beta|v1)\/models\/([^/:]+):(generateContent|streamGenerateContent|batchEmbedContents|embedContent)$/;

async function handle(name: string, credential: string, req: FakeRequest, res: ServerResponse): Promise<void> {
  if (req.method === 'GET' && /^\/(v1beta|v1)\/models$/.test(req.path)) {
    return sendJson(res, 200, { models: [{ name: 'models/gemini-fake', supportedGenerationMethods: ['generateContent', 'embedContent'] }] });
  }
  const key = req.headers['x-goog-api-key'] ?? req.query.get('key');
  if (key === undefined || key === null) return googleError(res, 403, 'PERMISSION_DENIED', "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.");
  if (key !== credential) {
    return googleError(res, 400, 'INVALID_ARGUMENT', 'API key not valid. Please pass a valid API key.', [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'API_KEY_INVALID', domain: 'googleapis.com' }]);
  }
  const route = ROUTE.exec(req.path);
  const body = req.json as Json | undefined;
  if (req.method !== 'POST' || !route || !body) return googleError(res, 404, 'NOT_FOUND', `The requested URL ${req.path} was not found on this server.`);
  const model = decodeURIComponent(route[2]!);
  const method = route[3]!;
  if (method === 'batchEmbedContents' || method === 'embedContent') return embed(res, model, method, body);
  const stream = method === 'streamGenerateContent';
  const modalities = ((body.generationConfig ?? {}) as Json).responseModalities;
  if (!stream && Array.isArray(modalities) && modalities.includes('IMAGE')) return generateImage(res, model, body);
  if (stream && req.query.get('alt') !== 'sse') return googleError(res, 400, 'INVALID_ARGUMENT', 'this fake streams with alt=sse only');
  const missing = unsignedCall(body);
  if (missing) return googleError(res, 400, 'INVALID_ARGUMENT', `Function call is missing a thought_signature in functionCall parts. Additional data, function call \`${missing}\``);
  const scenario = scenarioFromGemini(model, body, stream);
  const reply = respond(name, scenario);
  if (reply.kind === 'error') {
    const [code, status] = ERRORS[reply.error];
    const details = reply.retryAfter ? [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: `${reply.retryAfter}s` }] : [];
    return googleError(res, code, status, errorMessage(reply.error, reply.message), details);
  }
  const responseId = `resp-${name}-${Date.now()}`;
  if (!stream) return sendJson(res, 200, { candidates: [candidate(reply, reply.text, reply.reasoning, true)], usageMetadata: usage(reply), modelVersion: model, responseId });
  const events: Json[] = [];
  const chunk = (parts: Json[], extra: Json = {}) => events.push({ candidates: [{ content: { role: 'model', parts }, index: 0, ...extra }], modelVersion: model, responseId });
  if (reply.reasoning) for (const p of pieces(reply.reasoning)) chunk([{ text: p, thought: true }]);
  for (const p of pieces(reply.text)) chunk([{ text: p }]);
  if (reply.toolCalls.length > 0) chunk(callParts(reply));
  // The last event carries the finish reason and the final usage (Gemini sends no [DONE]).
  events.push({ candidates: [{ content: { role: 'model', parts: [{ text: '' }] }, finishReason: finish(reply), index: 0 }], usageMetadata: usage(reply), modelVersion: model, responseId });
  await sendEvents(res, 'text/event-stream', events.map((e) => `data: ${JSON.stringify(e)}\r\n\r\n`), streamPlan(scenario));
}

/** What Google documents for replaying a call another model made: Gemini then skips the check. */
const SKIP_SIGNATURE = 'skip_thought_signature_validator';

/** The name of the first replayed model function call without a valid thought signature (its own, or the documented skip value), if any. */
function unsignedCall(body: Json): string | undefined {
  for (const c of (body.contents as Json[] | undefined) ?? []) {
    if (c.role !== 'model') continue;
    const parts = (c.parts as Json[] | undefined) ?? [];
    const first = parts.find((p) => p.functionCall);
    if (first && first.thoughtSignature !== FAKE_SIGNATURE && first.thoughtSignature !== SKIP_SIGNATURE) return String((first.functionCall as Json).name);
  }
  return undefined;
}

function finish(reply: Extract<ScenarioReply, { kind: 'reply' }>): string {
  return reply.finish === 'length' ? 'MAX_TOKENS' : 'STOP';
}

function callParts(reply: Extract<ScenarioReply, { kind: 'reply' }>): Json[] {
  return reply.toolCalls.map((c, i) => ({ functionCall: { name: c.name, args: JSON.parse(c.arguments) as Json }, ...(i === 0 ? { thoughtSignature: FAKE_SIGNATURE } : {}) }));
}

function candidate(reply: Extract<ScenarioReply, { kind: 'reply' }>, text: string, reasoning: string, final: boolean): Json {
  const parts: Json[] = [];
  if (reasoning) parts.push({ text: reasoning, thought: true });
  if (text) parts.push({ text });
  parts.push(...callParts(reply));
  return { content: { role: 'model', parts }, ...(final ? { finishReason: finish(reply) } : {}), index: 0 };
}

function usage(reply: Extract<ScenarioReply, { kind: 'reply' }>): Json {
  const thoughts = reply.reasoning ? words(reply.reasoning) : 0;
  const u: Json = { promptTokenCount: reply.usage.input, candidatesTokenCount: reply.usage.output, totalTokenCount: reply.usage.input + reply.usage.output + thoughts };
  if (thoughts > 0) u.thoughtsTokenCount = thoughts;
  return u;
}

function embed(res: ServerResponse, model: string, method: string, body: Json): void {
  const requests = method === 'embedContent' ? [body] : ((body.requests as Json[] | undefined) ?? []);
  const texts = requests.map((r) => (((r.content as Json | undefined)?.parts as Json[] | undefined) ?? []).map((p) => String(p.text ?? '')).join(' '));
  for (const r of requests) {
    if (method === 'batchEmbedContents' && r.model !== `models/${model}`) {
      return googleError(res, 400, 'INVALID_ARGUMENT', `* BatchEmbedContentsRequest.model: unexpected model name format (${String(r.model)})`);
    }
  }
  const values = requests.map((r, i) => embedding(texts[i]!, (r.outputDimensionality as number | undefined) ?? 8));
  const usageMetadata = { promptTokenCount: texts.reduce((n, t) => n + words(t), 0) };
  if (method === 'embedContent') return sendJson(res, 200, { embedding: { values: values[0] }, usageMetadata });
  sendJson(res, 200, { embeddings: values.map((v) => ({ values: v })), usageMetadata });
}

const ASPECT_RATIOS = ['1:1', '2:3', '3:2', '3:4', '4:3', '4:5', '5:4', '9:16', '16:9', '21:9'];

/**
 * An image model's generateContent with responseModalities IMAGE: one PNG as inline data, the
 * aspect ratio and image size checked as the Gemini API checks them. A prompt holding BLOCKED
 * is answered as a blocked image (no content, finishReason IMAGE_SAFETY).
 */
function generateImage(res: ServerResponse, model: string, body: Json): void {
  if (!model.includes('image')) return googleError(res, 400, 'INVALID_ARGUMENT', `Model ${model} does not support the requested response modalities: image`);
  const contents = body.contents as Json[] | undefined;
  const parts = (contents?.at(-1)?.parts as Json[] | undefined) ?? [];
  const prompt = parts.map((p) => (typeof p.text === 'string' ? p.text : '')).join('');
  if (prompt === '') return googleError(res, 400, 'INVALID_ARGUMENT', '* GenerateContentRequest.contents: contents is not specified');
  const image = ((body.generationConfig as Json).imageConfig ?? {}) as Json;
  if (image.aspectRatio !== undefined && !ASPECT_RATIOS.includes(String(image.aspectRatio))) return googleError(res, 400, 'INVALID_ARGUMENT', `Unsupported aspect ratio: ${String(image.aspectRatio)}.`);
  if (image.imageSize !== undefined && !['1K', '2K', '4K'].includes(String(image.imageSize))) return googleError(res, 400, 'INVALID_ARGUMENT', `Unsupported image size: ${String(image.imageSize)}.`);
  const input = words(prompt);
  const usageMetadata = { promptTokenCount: input, candidatesTokenCount: prompt.includes('BLOCKED') ? 0 : 1290, totalTokenCount: input + (prompt.includes('BLOCKED') ? 0 : 1290) };
  if (prompt.includes('BLOCKED')) return sendJson(res, 200, { candidates: [{ finishReason: 'IMAGE_SAFETY', index: 0 }], usageMetadata, modelVersion: model });
  return sendJson(res, 200, { candidates: [{ content: { role: 'model', parts: [{ inlineData: { mimeType: 'image/png', data: ONE_PIXEL_PNG } }] }, finishReason: 'STOP', index: 0 }], usageMetadata, modelVersion: model });
}
