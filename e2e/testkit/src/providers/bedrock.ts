// A fake of Amazon Bedrock Runtime's wire format: Converse, ConverseStream (AWS event-stream
// framing), InvokeModel for Titan and Cohere embeddings, Cohere Rerank and Amazon's image models, errors typed by x-amzn-errortype.
// It verifies SigV4 signatures (recomputed with @smithy/signature-v4 from the known test
// credentials) and accepts a Bedrock API key as a Bearer token. Driven by the shared scenario;
// tested with the official @aws-sdk/client-bedrock-runtime.
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { EventStreamCodec } from '@smithy/eventstream-codec';
import { SignatureV4 } from '@smithy/signature-v4';
import { fromUtf8, toUtf8 } from '@smithy/util-utf8';
import { embedding, pieces, respond, streamPlan, words, type ProviderFake, type ScenarioErrorKind, type ScenarioMessage, type ScenarioRequest } from './scenario.ts';
import { rankOrder, rerankScores } from '../fake-content.ts';
import { ONE_PIXEL_PNG } from '../fake-endpoints.ts';
import { sendEvents, sendJson, startFakeServer, type FakeRequest } from './server.ts';

type Json = Record<string, unknown>;

/** The access keys the fake knows (any SigV4 request signed with another secret is refused). */
export const BEDROCK_TEST_CREDENTIALS = { accessKeyId: 'AKIAFAKEBEDROCK00001', secretAccessKey: 'fake/bedrock/secret/key/0123456789abcdef' } as const;
/** The Bedrock API key the fake accepts as `Authorization: Bearer`. */
export const BEDROCK_TEST_API_KEY = 'ABSKZmFrZS1iZWRyb2NrLWFwaS1rZXk=';
export const BEDROCK_TEST_REGION = 'us-east-1';

const ERRORS: Record<ScenarioErrorKind, [status: number, type: string]> = {
  invalid_request: [400, 'ValidationException'],
  // Bedrock has no 401: a credential it does not know is a 403.
  authentication: [403, 'UnrecognizedClientException'],
  permission: [403, 'AccessDeniedException'],
  not_found: [404, 'ResourceNotFoundException'],
  rate_limit: [429, 'ThrottlingException'],
  server: [500, 'InternalServerException'],
  overloaded: [503, 'ServiceUnavailableException'],
  context_length: [400, 'ValidationException'],
};

const STOP_REASONS = { stop: 'end_turn', length: 'max_tokens', tool_calls: 'tool_use' } as const;

class Sha256 {
  private readonly h: Hash | Hmac;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.h = secret === undefined ? createHash('sha256') : createHmac('sha256', typeof secret === 'string' ? secret : bytes(secret));
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.h.update(typeof data === 'string' ? data : bytes(data));
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.h.digest()));
  }
}
const bytes = (d: ArrayBuffer | ArrayBufferView): Uint8Array => (d instanceof ArrayBuffer ? new Uint8Array(d) : new Uint8Array(d.buffer, d.byteOffset, d.byteLength));

function error(res: ServerResponse, status: number, type: string, message: string, headers: Record<string, string> = {}): void {
  sendJson(res, status, { message }, { 'x-amzn-errortype': `${type}:http://internal.amazon.com/coral/com.amazon.bedrock/`, 'x-amzn-requestid': 'fake-request-id', ...headers });
}

const AUTH = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/;

/** Why a SigV4 request is refused ([status, type, message]), or null when its signature is right. */
export async function verifySigV4(req: FakeRequest, origin: string, region = BEDROCK_TEST_REGION, creds: { accessKeyId: string; secretAccessKey: string } = BEDROCK_TEST_CREDENTIALS, now = Date.now()): Promise<[number, string, string] | null> {
  const m = AUTH.exec(String(req.headers.authorization ?? ''));
  if (!m) return [403, 'IncompleteSignatureException', 'Authorization header requires Credential, SignedHeaders and Signature.'];
  const [, accessKeyId, , scopeRegion, service, signedHeaders, signature] = m;
  if (accessKeyId !== creds.accessKeyId) return [403, 'UnrecognizedClientException', 'The security token included in the request is invalid.'];
  if (scopeRegion !== region || service !== 'bedrock') return [403, 'InvalidSignatureException', `Credential should be scoped to a valid region and service (${region}, bedrock).`];
  const amzDate = String(req.headers['x-amz-date'] ?? '');
  const d = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate);
  if (!d) return [403, 'IncompleteSignatureException', 'X-Amz-Date is missing or malformed.'];
  const date = new Date(Date.UTC(+d[1]!, +d[2]! - 1, +d[3]!, +d[4]!, +d[5]!, +d[6]!));
  if (Math.abs(now - date.getTime()) > 15 * 60 * 1000) return [403, 'InvalidSignatureException', 'Signature expired: the request date is more than 15 minutes from the server time.'];
  const payloadHash = req.headers['x-amz-content-sha256'];
  if (typeof payloadHash === 'string' && payloadHash !== createHash('sha256').update(req.raw).digest('hex')) {
    return [400, 'XAmzContentSHA256Mismatch', 'The provided x-amz-content-sha256 header does not match what was computed.'];
  }
  const headers: Record<string, string> = {};
  for (const h of signedHeaders!.split(';')) {
    const v = req.headers[h];
    if (v === undefined) return [403, 'InvalidSignatureException', `Signed header ${h} is missing from the request.`];
    headers[h] = Array.isArray(v) ? v.join(',') : v;
  }
  const url = new URL(origin);
  // applyChecksum off: the signer must add nothing the client did not sign.
  const signer = new SignatureV4({ service: 'bedrock', region, credentials: creds, sha256: Sha256, applyChecksum: false });
  const query: Record<string, string> = {};
  req.query.forEach((v, k) => (query[k] = v));
  const signed = await signer.sign(
    { method: req.method, protocol: url.protocol, hostname: url.hostname, ...(url.port ? { port: Number(url.port) } : {}), path: req.path, query, headers, body: req.raw },
    { signingDate: date },
  );
  const expected = /Signature=([0-9a-f]{64})/.exec(String(signed.headers.authorization))?.[1];
  if (expected !== signature) {
    return [403, 'InvalidSignatureException', 'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.'];
  }
  return null;
}

/** A Converse request as the scenario sees it. */
export function scenarioFromConverse(modelId: string, body: Json, stream: boolean): ScenarioRequest {
  const system = ((body.system as Json[] | undefined) ?? []).map((b) => String(b.text ?? '')).join('\n');
  const messages: ScenarioMessage[] = [];
  for (const m of (body.messages as Json[] | undefined) ?? []) {
    const texts: string[] = [];
    let images = 0;
    const toolCalls: ScenarioMessage['toolCalls'] = [];
    const toolResults: ScenarioMessage['toolResults'] = [];
    for (const b of (m.content as Json[] | undefined) ?? []) {
      if (typeof b.text === 'string') texts.push(b.text);
      if (b.image) images++;
      const tu = b.toolUse as Json | undefined;
      if (tu) toolCalls.push({ id: String(tu.toolUseId), name: String(tu.name), arguments: JSON.stringify(tu.input ?? {}) });
      const tr = b.toolResult as Json | undefined;
      if (tr) toolResults.push({ id: String(tr.toolUseId), content: ((tr.content as Json[] | undefined) ?? []).map((c) => (typeof c.text === 'string' ? c.text : JSON.stringify(c.json))).join(' ') });
    }
    const text = texts.join(' ');
    if (toolResults.length > 0) {
      messages.push({ role: 'tool', text: '', images: 0, toolCalls: [], toolResults });
      if (text) messages.push({ role: 'user', text, images, toolCalls: [], toolResults: [] });
      continue;
    }
    messages.push({ role: m.role === 'assistant' ? 'assistant' : 'user', text, images, toolCalls, toolResults: [] });
  }
  const tc = body.toolConfig as Json | undefined;
  const choice = tc?.toolChoice as Json | undefined;
  const inf = (body.inferenceConfig ?? {}) as Json;
  const extra = body.additionalModelRequestFields as Json | undefined;
  return {
    model: modelId,
    system,
    messages,
    tools: ((tc?.tools as Json[] | undefined) ?? []).map((t) => String((t.toolSpec as Json).name)),
    toolChoice: choice?.any ? 'required' : choice?.tool ? { name: String((choice.tool as Json).name) } : 'auto',
    json: false,
    stop: Array.isArray(inf.stopSequences) ? inf.stopSequences.map(String) : [],
    maxTokens: typeof inf.maxTokens === 'number' ? inf.maxTokens : undefined,
    reasoning: extra?.thinking !== undefined || extra?.reasoning_config !== undefined,
    stream,
  };
}

export interface BedrockFake extends ProviderFake {
  readonly region: string;
}

/**
 * Starts the fake. `credential` (what a backend's credentialsRef holds) is the access-key JSON
 * by default, the API key with `auth: 'api-key'`; both kinds are accepted either way.
 */
export async function startBedrockProvider(opts: { name?: string; auth?: 'sigv4' | 'api-key' } = {}): Promise<BedrockFake> {
  const name = opts.name ?? 'bedrock-fake';
  const credential = opts.auth === 'api-key' ? BEDROCK_TEST_API_KEY : JSON.stringify(BEDROCK_TEST_CREDENTIALS);
  let origin = '';
  const server = await startFakeServer((req, res) => handle(name, origin, req, res));
  origin = server.origin;
  return { name, url: server.origin, credential, region: BEDROCK_TEST_REGION, requests: server.requests, close: server.close };
}

const codec = new EventStreamCodec(toUtf8, fromUtf8);

/** One event-stream message: an event (`:event-type`) or an exception (`:exception-type`). */
export function eventFrame(type: string, payload: Json, kind: 'event' | 'exception' = 'event'): Uint8Array {
  return codec.encode({
    headers: {
      [kind === 'event' ? ':event-type' : ':exception-type']: { type: 'string', value: type },
      ':content-type': { type: 'string', value: 'application/json' },
      ':message-type': { type: 'string', value: kind },
    },
    body: fromUtf8(JSON.stringify(payload)),
  });
}

const PATH = /^\/model\/([^/]+)\/(converse|converse-stream|invoke)$/;

async function handle(name: string, origin: string, req: FakeRequest, res: ServerResponse): Promise<void> {
  const auth = String(req.headers.authorization ?? '');
  if (auth.startsWith('Bearer ')) {
    if (auth !== `Bearer ${BEDROCK_TEST_API_KEY}`) return error(res, 403, 'UnrecognizedClientException', 'Invalid API Key format: Must start with pre-defined prefix');
  } else if (!auth) {
    return error(res, 403, 'MissingAuthenticationTokenException', 'Missing Authentication Token');
  } else {
    const refused = await verifySigV4(req, origin);
    if (refused) return error(res, ...refused);
  }
  const m = PATH.exec(req.path);
  if (req.method !== 'POST' || !m) return error(res, 404, 'UnknownOperationException', `no operation at ${req.method} ${req.path}`);
  const modelId = decodeURIComponent(m[1]!);
  const body = req.json as Json | undefined;
  if (!body) return error(res, 400, 'ValidationException', 'The request body is not JSON.');
  if (m[2] === 'invoke') return invoke(modelId, body, res);

  const scenario = scenarioFromConverse(modelId, body, m[2] === 'converse-stream');
  const reply = respond(name, scenario);
  if (reply.kind === 'error') {
    const [status, type] = ERRORS[reply.error];
    const message = reply.error === 'context_length' ? `Input is too long for requested model. (${reply.message})` : reply.message;
    // Bedrock does not document a Retry-After on ThrottlingException; the scenario asks for one
    // so the conformance case shows the proxy keeping it when a provider sends it.
    return error(res, status, type, message, reply.retryAfter ? { 'retry-after': reply.retryAfter } : {});
  }
  const usage = { inputTokens: reply.usage.input, outputTokens: reply.usage.output, totalTokens: reply.usage.input + reply.usage.output };
  const stopReason = STOP_REASONS[reply.finish];
  if (!scenario.stream) {
    const content: Json[] = [];
    if (reply.reasoning) content.push({ reasoningContent: { reasoningText: { text: reply.reasoning, signature: 'fake-signature' } } });
    if (reply.text) content.push({ text: reply.text });
    for (const c of reply.toolCalls) content.push({ toolUse: { toolUseId: c.id, name: c.name, input: JSON.parse(c.arguments) } });
    return sendJson(res, 200, { output: { message: { role: 'assistant', content } }, stopReason, usage, metrics: { latencyMs: 1 } }, { 'x-amzn-requestid': 'fake-request-id' });
  }
  const frames: Uint8Array[] = [eventFrame('messageStart', { role: 'assistant', p: 'abcdefgh' })];
  let block = 0;
  if (reply.reasoning) {
    for (const p of pieces(reply.reasoning)) frames.push(eventFrame('contentBlockDelta', { contentBlockIndex: block, delta: { reasoningContent: { text: p } }, p: 'abcd' }));
    frames.push(eventFrame('contentBlockDelta', { contentBlockIndex: block, delta: { reasoningContent: { signature: 'fake-signature' } } }));
    frames.push(eventFrame('contentBlockStop', { contentBlockIndex: block++ }));
  }
  const lastUser = [...scenario.messages].reverse().find((x) => x.role === 'user')?.text ?? '';
  if (reply.text) {
    for (const [i, p] of pieces(reply.text).entries()) {
      // A Bedrock-only trigger: the model's stream fails after two deltas (an exception message).
      if (i === 2 && lastUser.includes('EXCEPTION MID-STREAM')) {
        frames.push(eventFrame('modelStreamErrorException', { message: 'the model stream failed (scenario)', originalStatusCode: 500 }, 'exception'));
        break;
      }
      frames.push(eventFrame('contentBlockDelta', { contentBlockIndex: block, delta: { text: p }, p: 'abcd' }));
    }
    frames.push(eventFrame('contentBlockStop', { contentBlockIndex: block++ }));
  }
  for (const c of reply.toolCalls) {
    frames.push(eventFrame('contentBlockStart', { contentBlockIndex: block, start: { toolUse: { toolUseId: c.id, name: c.name } } }));
    const a = c.arguments;
    for (const part of [a.slice(0, 5), a.slice(5)]) if (part) frames.push(eventFrame('contentBlockDelta', { contentBlockIndex: block, delta: { toolUse: { input: part } } }));
    frames.push(eventFrame('contentBlockStop', { contentBlockIndex: block++ }));
  }
  frames.push(eventFrame('messageStop', { stopReason }));
  frames.push(eventFrame('metadata', { usage, metrics: { latencyMs: 1 } }));
  // Each message goes out in two writes, split inside its prelude, so readers must buffer by
  // the length prefix as they would behind real network chunking.
  const writes: Buffer[] = [];
  for (const f of frames) writes.push(Buffer.from(f.subarray(0, 5)), Buffer.from(f.subarray(5)));
  const plan = streamPlan(scenario);
  await sendEvents(res, 'application/vnd.amazon.eventstream', writes, { cutAfter: plan.cutAfter === undefined ? undefined : plan.cutAfter * 2, delayMs: plan.delayMs, headers: { 'x-amzn-requestid': 'fake-request-id' } });
}

function invoke(modelId: string, body: Json, res: ServerResponse): void {
  const id = modelId.replace(/^(?:us|eu|apac|global)\./, '');
  if (id.startsWith('amazon.titan-embed')) {
    if (typeof body.inputText !== 'string') return error(res, 400, 'ValidationException', 'Malformed input request: required key [inputText] not found');
    const tokens = words(body.inputText);
    return sendJson(res, 200, { embedding: embedding(body.inputText, (body.dimensions as number | undefined) ?? 8), inputTextTokenCount: tokens }, { 'x-amzn-bedrock-input-token-count': String(tokens) });
  }
  if (id.startsWith('cohere.embed')) {
    const texts = body.texts;
    if (!Array.isArray(texts) || typeof body.input_type !== 'string') return error(res, 400, 'ValidationException', 'Malformed input request: texts and input_type are required');
    const vectors = texts.map((t) => embedding(String(t), (body.output_dimension as number | undefined) ?? 8));
    const tokens = texts.reduce((n: number, t) => n + words(String(t)), 0);
    // Embed v4 answers the vectors by type; v3 as a plain list (unless embedding_types was given).
    const embeddings = id.startsWith('cohere.embed-v4') || body.embedding_types ? { float: vectors } : vectors;
    return sendJson(res, 200, { id: 'fake-embed-id', embeddings, texts, response_type: Array.isArray(embeddings) ? 'embeddings_floats' : 'embeddings_by_type' }, { 'x-amzn-bedrock-input-token-count': String(tokens) });
  }
  if (id.startsWith('cohere.rerank')) {
    // Cohere's v2 rerank body with api_version 2, documents as strings.
    const docs = body.documents;
    if (typeof body.query !== 'string' || !Array.isArray(docs) || docs.length === 0 || body.api_version !== 2) {
      return error(res, 400, 'ValidationException', 'Malformed input request: query, documents and api_version 2 are required');
    }
    if (docs.some((d) => typeof d !== 'string')) return error(res, 400, 'ValidationException', 'Malformed input request: documents must be strings');
    for (const k of Object.keys(body)) if (!['query', 'documents', 'top_n', 'max_tokens_per_doc', 'api_version'].includes(k)) return error(res, 400, 'ValidationException', `Malformed input request: extraneous key [${k}] is not permitted`);
    const scores = rerankScores(body.query, docs);
    return sendJson(res, 200, { id: 'fake-rerank-id', results: rankOrder(scores, body.top_n).map((index) => ({ index, relevance_score: scores[index] })) });
  }
  if (id.startsWith('amazon.titan-image-generator') || id.startsWith('amazon.nova-canvas')) {
    // A TEXT_IMAGE task; width and height in 320..4096, multiples of 16; 1 to 5 images.
    const text = (body.textToImageParams as Json | undefined)?.text;
    if (body.taskType !== 'TEXT_IMAGE' || typeof text !== 'string' || text === '') return error(res, 400, 'ValidationException', 'Malformed input request: taskType TEXT_IMAGE with textToImageParams.text is required');
    const c = (body.imageGenerationConfig ?? {}) as Json;
    const n = c.numberOfImages ?? 1;
    if (!Number.isInteger(n) || (n as number) < 1 || (n as number) > 5) return error(res, 400, 'ValidationException', 'Malformed input request: numberOfImages must be between 1 and 5');
    for (const k of ['width', 'height'] as const) {
      const v = c[k];
      if (v !== undefined && (!Number.isInteger(v) || (v as number) < 320 || (v as number) > 4096 || (v as number) % 16 !== 0)) return error(res, 400, 'ValidationException', `Malformed input request: ${k} must be a multiple of 16 between 320 and 4096`);
    }
    if (c.quality !== undefined && c.quality !== 'standard' && c.quality !== 'premium') return error(res, 400, 'ValidationException', 'Malformed input request: quality must be standard or premium');
    if (text.includes('BLOCKED')) return error(res, 400, 'ValidationException', 'This request has been blocked by our content filters.');
    return sendJson(res, 200, { images: Array.from({ length: n as number }, () => ONE_PIXEL_PNG), error: null });
  }
  return error(res, 400, 'ValidationException', `The provided model identifier is invalid or does not support InvokeModel (${modelId}).`);
}
