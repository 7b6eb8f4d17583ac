// A fake vLLM server: the engine model (engine/model.ts) in real time behind vLLM's
// OpenAI-compatible API and /metrics, so integration tests can drive the gateway's
// inference-aware routing against backends whose queues, KV usage, prefix cache and LoRA
// adapters behave like a real engine's. Answers come when the model's events say; timeScale
// runs virtual time faster than real time. One timer serves the whole server: it is set for
// the model's next event, and every request or scrape first brings the model up to now.
import type { ServerResponse } from 'node:http';
import { EngineModel, type EngineEvent, type EngineOptions } from './engine/model.ts';
import { sendJson, sse, startFakeServer, type FakeRequest } from './providers/server.ts';

export interface FakeVllmOptions extends EngineOptions {
  /** Virtual ms per real ms (default 1; 10 runs the engine 10 times faster). */
  timeScale?: number;
  /** LoRA adapters requests may name besides the base model; any other model is a 404. */
  loras?: string[];
}

export interface FakeVllm {
  /** http://127.0.0.1:PORT/v1 */
  url: string;
  /** http://127.0.0.1:PORT */
  origin: string;
  model: EngineModel;
  readonly requests: FakeRequest[];
  close(): Promise<void>;
}

interface Waiter {
  firstToken(e: EngineEvent): void;
  done(e: EngineEvent): void;
}

type Body = Record<string, unknown>;

const isObject = (v: unknown): v is Body => typeof v === 'object' && v !== null && !Array.isArray(v);

export async function startFakeVllm(opts: FakeVllmOptions): Promise<FakeVllm> {
  const { timeScale = 1, loras = [], ...engineOptions } = opts;
  const model = new EngineModel(engineOptions);
  const { name, baseModel } = model.options;
  const created = Math.floor(Date.now() / 1000);
  const started = performance.now();
  const virtualNow = () => (performance.now() - started) * timeScale;
  const waiters = new Map<string, Waiter>();
  /** Adapters requested so far: vLLM lists an adapter once it has been loaded. */
  const usedLoras = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  let seq = 0;
  let closed = false;

  /** Runs the model up to now, answers what happened, and sets the timer for what is next. */
  function pump(): void {
    for (const e of model.advance(virtualNow())) {
      const w = waiters.get(e.id);
      if (!w) continue;
      if (e.kind === 'first-token') w.firstToken(e);
      else {
        waiters.delete(e.id);
        w.done(e);
      }
    }
    clearTimeout(timer);
    timer = undefined;
    const next = model.nextEventAt();
    if (next === null || closed) return;
    timer = setTimeout(pump, Math.max(0, (next - virtualNow()) / timeScale));
  }

  const server = await startFakeServer((req, res) => {
    const route = `${req.method} ${req.path}`;
    if (route === 'GET /health') {
      res.writeHead(200, { 'content-length': '0' });
      res.end();
      return;
    }
    if (route === 'GET /metrics') {
      pump();
      const text = model.prometheusText();
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'content-length': Buffer.byteLength(text) });
      res.end(text);
      return;
    }
    if (route === 'GET /v1/models') return sendJson(res, 200, { object: 'list', data: models() });
    if (route === 'POST /v1/chat/completions' || route === 'POST /v1/completions') return generate(req, res, req.path === '/v1/chat/completions');
    sendJson(res, 404, { detail: 'Not Found' });
  });

  function models(): unknown[] {
    const card = (id: string, parent: string | null) => ({ id, object: 'model', created, owned_by: 'vllm', root: id, parent, permission: [] });
    return [card(baseModel, null), ...[...usedLoras].map((a) => card(a, baseModel))];
  }

  function generate(req: FakeRequest, res: ServerResponse, chat: boolean): void {
    const body = req.json;
    if (!isObject(body)) return error(res, 400, 'Invalid JSON body.', 'BadRequestError', null);
    const requested = typeof body['model'] === 'string' ? body['model'] : baseModel;
    if (requested !== baseModel && !loras.includes(requested)) {
      return error(res, 404, `The model \`${requested}\` does not exist.`, 'NotFoundError', 'model');
    }
    const prompt = chat ? chatPrompt(body['messages']) : completionPrompt(body['prompt']);
    if (prompt === undefined) return error(res, 400, chat ? 'messages must be a non-empty list.' : 'prompt must be a string or a list of strings.', 'BadRequestError', chat ? 'messages' : 'prompt');
    const maxTokens = Number(body['max_tokens'] ?? body['max_completion_tokens'] ?? 16);
    if (!Number.isInteger(maxTokens) || maxTokens < 1) return error(res, 400, 'max_tokens must be at least 1.', 'BadRequestError', 'max_tokens');
    if (requested !== baseModel) usedLoras.add(requested);

    const id = `${chat ? 'chatcmpl' : 'cmpl'}-${name}-${++seq}`;
    const words = replyWords(name, maxTokens);
    const streamOptions = body['stream_options'];
    const includeUsage = isObject(streamOptions) && streamOptions['include_usage'] === true;
    const envelope = { id, object: chat ? 'chat.completion.chunk' : 'text_completion', created, model: requested };
    const choice = (text: string, finish: string | null, first = false) =>
      chat
        ? { index: 0, delta: first ? { role: 'assistant', content: text } : { content: text }, logprobs: null, finish_reason: finish }
        : { index: 0, text, logprobs: null, finish_reason: finish };
    const write = (data: unknown) => {
      if (!res.destroyed && !res.writableEnded) res.write(sse(data));
    };

    pump();
    const stream = body['stream'] === true;
    if (stream) {
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
      res.flushHeaders();
    }
    waiters.set(id, {
      firstToken() {
        if (stream) write({ ...envelope, choices: [choice(words[0]!, null, true)] });
      },
      done(e) {
        const usage = {
          prompt_tokens: e.promptTokens,
          completion_tokens: e.completionTokens,
          total_tokens: e.promptTokens + e.completionTokens,
          prompt_tokens_details: { cached_tokens: e.cachedTokens },
        };
        if (!stream) {
          if (res.destroyed) return;
          const text = words.join(' ');
          const answer = chat
            ? { index: 0, message: { role: 'assistant', content: text, tool_calls: [] }, logprobs: null, finish_reason: 'length', stop_reason: null }
            : { index: 0, text, logprobs: null, finish_reason: 'length', stop_reason: null };
          return sendJson(res, 200, { id, object: chat ? 'chat.completion' : 'text_completion', created, model: requested, choices: [answer], usage });
        }
        const rest = words.slice(1).map((w) => ` ${w}`).join('');
        if (rest !== '') write({ ...envelope, choices: [choice(rest, null)] });
        write({ ...envelope, choices: [choice('', 'length')] });
        if (includeUsage) write({ ...envelope, choices: [], usage });
        write('[DONE]');
        if (!res.destroyed) res.end();
      },
    });
    model.submit({ id, prompt, maxTokens, ...(requested === baseModel ? {} : { model: requested }) }, virtualNow());
    pump();
  }

  return {
    url: `${server.origin}/v1`,
    origin: server.origin,
    model,
    requests: server.requests,
    async close() {
      closed = true;
      clearTimeout(timer);
      await server.close();
    },
  };
}

/** vLLM's error body: OpenAI's shape, with the HTTP status as the code. */
function error(res: ServerResponse, status: number, message: string, type: string, param: string | null): void {
  sendJson(res, status, { error: { message, type, param, code: status } });
}

/**
 * The messages' text in order, each after its role, so requests sharing a system prompt (and
 * earlier turns) share a prefix, as their token ids do under a chat template.
 */
function chatPrompt(messages: unknown): string | undefined {
  if (!Array.isArray(messages) || messages.length === 0) return undefined;
  return messages
    .map((m) => {
      if (!isObject(m)) return '';
      const content = m['content'];
      const text = Array.isArray(content) ? content.map((p) => (isObject(p) && typeof p['text'] === 'string' ? p['text'] : '')).join('') : typeof content === 'string' ? content : '';
      return `<|${String(m['role'])}|>${text}\n`;
    })
    .join('');
}

function completionPrompt(prompt: unknown): string | undefined {
  if (typeof prompt === 'string') return prompt;
  if (Array.isArray(prompt) && prompt.every((p) => typeof p === 'string')) return prompt.join('');
  return undefined;
}

/** One word per token: "Hello from <name>", then "more" up to maxTokens (or cut short). */
export function replyWords(name: string, maxTokens: number): string[] {
  const base = ['Hello', 'from', name];
  return Array.from({ length: maxTokens }, (_, i) => base[i] ?? 'more');
}
