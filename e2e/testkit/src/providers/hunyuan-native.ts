// A fake of Tencent Hunyuan's native API: the Tencent Cloud API action ChatCompletions
// (version 2023-09-01) POSTed to `/`, TC3-HMAC-SHA256-signed, every answer (errors included)
// with HTTP 200 and a `Response` object; streams as `data: {...}` events ending with a chunk
// that has a FinishReason. It checks the signature with its own TC3 implementation (below,
// written from Tencent's "Signature v3" documentation) and answers a bad one with
// AuthFailure.SignatureFailure. Driven by the shared scenario.
import { createHash, createHmac } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { pieces, respond, streamPlan, type ProviderFake, type ScenarioErrorKind, type ScenarioMessage, type ScenarioRequest } from './scenario.ts';
import { sendEvents, sendJson, sse, startFakeServer, type FakeRequest } from './server.ts';

type Json = Record<string, unknown>;

/** The test key pair the fake accepts (the credential is this, as JSON). */
export const HUNYUAN_TEST_KEY = { secretId: 'AKIDhunyuanfakeid', secretKey: 'hunyuan-fake-secret-key' };

const ERROR_CODES: Record<ScenarioErrorKind, string> = {
  invalid_request: 'InvalidParameter',
  authentication: 'AuthFailure.SecretIdNotFound',
  permission: 'AuthFailure.UnauthorizedOperation',
  not_found: 'InvalidParameterValue.Model',
  rate_limit: 'LimitExceeded',
  server: 'InternalError',
  overloaded: 'ResourceInsufficient',
  context_length: 'InvalidParameterValue.LengthExceeded',
};

const hex = (d: string) => createHash('sha256').update(d, 'utf8').digest('hex');
const mac = (k: string | Buffer, d: string) => createHmac('sha256', k).update(d, 'utf8').digest();

/** The TC3 signature of a POST with these signed headers (lowercase names, values as sent). */
export function tc3Sign(secretKey: string, service: string, timestamp: number, signed: Array<[string, string]>, payload: string): string {
  const date = new Date(timestamp * 1000).toISOString().slice(0, 10);
  const canonicalHeaders = signed.map(([k, v]) => `${k}:${v.trim().toLowerCase()}\n`).join('');
  const canonical = `POST\n/\n\n${canonicalHeaders}\n${signed.map(([k]) => k).join(';')}\n${hex(payload)}`;
  const toSign = `TC3-HMAC-SHA256\n${timestamp}\n${date}/${service}/tc3_request\n${hex(canonical)}`;
  const key = mac(mac(mac(`TC3${secretKey}`, date), service), 'tc3_request');
  return createHmac('sha256', key).update(toSign, 'utf8').digest('hex');
}

/** Why the request's TC3 signature is refused, as [code, message], or null when it is valid. */
function checkSignature(req: FakeRequest): [string, string] | null {
  const m = /^TC3-HMAC-SHA256 Credential=([^/]+)\/(\d{4}-\d{2}-\d{2})\/([^/]+)\/tc3_request, SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$/.exec(String(req.headers.authorization ?? ''));
  if (!m) return ['AuthFailure.InvalidAuthorization', 'The Authorization header is not TC3-HMAC-SHA256.'];
  const [, id, date, service, signedHeaders, signature] = m;
  if (id !== HUNYUAN_TEST_KEY.secretId) return ['AuthFailure.SecretIdNotFound', 'The SecretId is not found.'];
  const timestamp = Number(req.headers['x-tc-timestamp']);
  if (!Number.isInteger(timestamp) || new Date(timestamp * 1000).toISOString().slice(0, 10) !== date || service !== 'hunyuan') {
    return ['AuthFailure.SignatureFailure', 'The credential scope does not match the request.'];
  }
  const names = signedHeaders!.split(';');
  if (!names.includes('content-type') || !names.includes('host')) return ['AuthFailure.SignatureFailure', 'content-type and host must be signed.'];
  const signed = names.map((n): [string, string] => [n, String(req.headers[n] ?? '')]);
  if (tc3Sign(HUNYUAN_TEST_KEY.secretKey, 'hunyuan', timestamp, signed, req.raw) !== signature) {
    return ['AuthFailure.SignatureFailure', 'The provided credentials could not be validated. Please check your signature is correct.'];
  }
  return null;
}

/** A ChatCompletions body as the scenario sees it. */
export function scenarioFromHunyuan(body: Json): ScenarioRequest {
  const system: string[] = [];
  const messages: ScenarioMessage[] = [];
  for (const m of (body.Messages as Json[] | undefined) ?? []) {
    const role = String(m.Role);
    const content = String(m.Content ?? '');
    if (role === 'system') system.push(content);
    else if (role === 'tool') messages.push({ role: 'tool', text: '', images: 0, toolCalls: [], toolResults: [{ id: String(m.ToolCallId), content }] });
    else {
      const toolCalls = ((m.ToolCalls as Json[] | undefined) ?? []).map((c) => {
        const f = c.Function as Json;
        return { id: String(c.Id), name: String(f.Name), arguments: String(f.Arguments) };
      });
      messages.push({ role: role === 'assistant' ? 'assistant' : 'user', text: content, images: 0, toolCalls, toolResults: [] });
    }
  }
  const tc = body.ToolChoice;
  const custom = body.CustomTool as Json | undefined;
  return {
    model: String(body.Model),
    system: system.join('\n'),
    messages,
    tools: ((body.Tools as Json[] | undefined) ?? []).map((t) => String((t.Function as Json).Name)),
    toolChoice: tc === 'none' ? 'none' : tc === 'custom' && custom ? { name: String((custom.Function as Json).Name) } : 'auto',
    json: false,
    stop: [],
    maxTokens: undefined,
    reasoning: false,
    stream: body.Stream === true,
  };
}

export async function startHunyuanNativeProvider(opts: { name?: string } = {}): Promise<ProviderFake> {
  const name = opts.name ?? 'hunyuan-native-fake';
  const server = await startFakeServer((req, res) => handleHunyuanRequest(name, req, res));
  return { name, url: server.origin, credential: JSON.stringify(HUNYUAN_TEST_KEY), requests: server.requests, close: server.close };
}

function error(res: ServerResponse, code: string, message: string): void {
  sendJson(res, 200, { Response: { Error: { Code: code, Message: message }, RequestId: 'fake-request-id' } });
}

async function handleHunyuanRequest(name: string, req: FakeRequest, res: ServerResponse): Promise<void> {
  if (req.method !== 'POST' || req.path !== '/') return error(res, 'InvalidAction', `${req.method} ${req.path} is not a Tencent Cloud API call.`);
  const refused = checkSignature(req);
  if (refused) return error(res, refused[0], refused[1]);
  if (req.headers['x-tc-action'] !== 'ChatCompletions') return error(res, 'InvalidAction', `The action ${String(req.headers['x-tc-action'])} is not found.`);
  if (req.headers['x-tc-version'] !== '2023-09-01') return error(res, 'NoSuchVersion', `The version ${String(req.headers['x-tc-version'])} is not found.`);
  const body = req.json as Json | undefined;
  if (!body || !Array.isArray(body.Messages)) return error(res, 'InvalidParameter', 'Messages is required.');
  const scenario = scenarioFromHunyuan(body);
  const reply = respond(name, scenario);
  if (reply.kind === 'error') return error(res, ERROR_CODES[reply.error], reply.message);
  const id = `hunyuan-${name}-${Date.now()}`;
  const usage = { PromptTokens: reply.usage.input, CompletionTokens: reply.usage.output, TotalTokens: reply.usage.input + reply.usage.output };
  const toolCalls = reply.toolCalls.map((c, i) => ({ Id: c.id, Type: 'function', Index: i, Function: { Name: c.name, Arguments: c.arguments } }));
  if (!scenario.stream) {
    const message: Json = { Role: 'assistant', Content: toolCalls.length ? '' : reply.text };
    if (toolCalls.length) message.ToolCalls = toolCalls;
    return sendJson(res, 200, { Response: { RequestId: 'fake-request-id', Id: id, Created: 1700000000, Choices: [{ Index: 0, Message: message, FinishReason: reply.finish }], Usage: usage } });
  }
  const events: string[] = [];
  const chunk = (delta: Json, finish = '') => sse({ Id: id, Created: 1700000000, Choices: [{ Index: 0, Delta: { Role: 'assistant', ...delta }, FinishReason: finish }], Usage: usage });
  for (const p of pieces(reply.text)) events.push(chunk({ Content: p }));
  if (toolCalls.length) events.push(chunk({ Content: '', ToolCalls: toolCalls }));
  events.push(chunk({ Content: '' }, reply.finish));
  await sendEvents(res, 'text/event-stream', events, streamPlan(scenario));
}
