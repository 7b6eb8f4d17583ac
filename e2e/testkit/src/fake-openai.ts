// An OpenAI-compatible fake provider on node:http. The integration tests drive the proxy
// against it, and `make demo` runs it as the bundled demo backend. Replies are
// deterministic and name the backend that answered, so a test can tell which backend a
// request reached; failure modes (errors, resets, hangs, broken or slow streams) are
// switched at runtime so failover paths can be exercised without a real provider.
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import {
  chatPromptTokens,
  chatReply,
  completionReply,
  countTokens,
  embeddingBase64,
  embeddingInputs,
  embeddingVector,
  errorBody,
  isObject,
  promptText,
  rankOrder,
  rerankScores,
  streamPieces,
} from './fake-content.ts';
import type { FakeMode, FakeModeOptions, FakeOptions, RequestOutcome, RecordedRequest, FakeBackendEvents, FakeBackend } from './fake-types.ts';

/** Response headers that describe the provider account, as OpenAI sends them (see proxy/src/upstream/attempt.ts). */
const ACCOUNT_HEADERS = {
  'openai-organization': 'org-fake-platform-account',
  'openai-project': 'proj_fake',
  'set-cookie': '__cf_bm=fake-cookie; path=/; HttpOnly; Secure; SameSite=None',
};


/** OpenAI's moderation categories (omni-moderation). */
const MODERATION_CATEGORIES = ['harassment', 'harassment/threatening', 'hate', 'hate/threatening', 'illicit', 'illicit/violent', 'self-harm', 'self-harm/intent', 'self-harm/instructions', 'sexual', 'sexual/minors', 'violence', 'violence/graphic'];
/** Speech formats: the content type OpenAI answers with and the bytes a file of it starts with. */
const SPEECH_FORMATS: Record<string, { type: string; magic: string }> = {
  mp3: { type: 'audio/mpeg', magic: 'ID3' },
  wav: { type: 'audio/wav', magic: 'RIFF' },
  opus: { type: 'audio/ogg', magic: 'OggS' },
  flac: { type: 'audio/flac', magic: 'fLaC' },
  aac: { type: 'audio/aac', magic: '\xff\xf1' },
  pcm: { type: 'audio/pcm', magic: '' },
};
/** A 1x1 transparent PNG. */
const ONE_PIXEL_PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=';

export { FAKE_MODES } from './fake-types.ts';
export type { FakeMode, FakeModeOptions, FakeOptions, RequestOutcome, RecordedRequest, FakeBackendEvents, FakeBackend } from './fake-types.ts';
export { chatPromptTokens, chatReply, completionReply, countTokens, embeddingBase64, embeddingVector, streamPieces } from './fake-content.ts';

const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
  connection: 'keep-alive',
};

function sse(obj: unknown): string {
  return `data: ${typeof obj === 'string' ? obj : JSON.stringify(obj)}\n\n`;
}

/** A Responses API stream event: named by an `event:` line carrying its type. */
function namedSse(obj: Record<string, unknown>): string {
  return `event: ${String(obj['type'])}\ndata: ${JSON.stringify(obj)}\n\n`;
}

/** An OpenAI-style object id: the prefix, then 48 random hex digits. */
function newId(prefix: string): string {
  return `${prefix}_${randomBytes(24).toString('hex')}`;
}

/** The text of a Responses message's content or a tool output: a string, or its parts' texts. */
function itemText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((p: unknown) => (isObject(p) && typeof p['text'] === 'string' ? p['text'] : ''))
    .filter((t) => t !== '')
    .join(' ');
}

/**
 * Input items as OpenAI stores and lists them: a string input is one user message; messages
 * get an id, a status and content parts (input_text, or output_text for assistant messages
 * echoed back); other items (function_call, function_call_output, ...) keep what they have
 * and get an id and status when they lack one.
 */
function normaliseInput(input: unknown): Record<string, unknown>[] {
  const items: unknown[] = typeof input === 'string' ? [{ role: 'user', content: input }] : Array.isArray(input) ? input : [];
  return items.filter(isObject).map((item) => {
    const type = typeof item['type'] === 'string' ? item['type'] : 'message';
    if (type !== 'message') {
      return { ...item, id: typeof item['id'] === 'string' ? item['id'] : newId(type === 'function_call' ? 'fc' : 'item'), status: item['status'] ?? 'completed' };
    }
    const role = item['role'];
    const content = item['content'];
    const partType = role === 'assistant' ? 'output_text' : 'input_text';
    const parts = typeof content === 'string' ? [{ type: partType, text: content, ...(role === 'assistant' ? { annotations: [] } : {}) }] : content;
    return { id: typeof item['id'] === 'string' ? item['id'] : newId('msg'), type: 'message', role, status: 'completed', content: parts };
  });
}

const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function startFakeOpenAI(opts: FakeOptions = {}): Promise<FakeBackend> {
  const name = opts.name ?? 'fake';
  const host = opts.host ?? '127.0.0.1';
  const models = opts.models ?? ['fake-model'];
  const defaultDims = opts.embeddingDimensions ?? 8;
  const events = new EventEmitter<FakeBackendEvents>();
  events.setMaxListeners(0);
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let mode: FakeMode = 'ok';
  let modeOpts: FakeModeOptions = {};
  let seq = 0;
  let closedForGood = false;
  let created = Math.floor(Date.now() / 1000);
  /** Responses kept (store not false) with their input items, by id, for previous_response_id, retrieve and input_items. */
  const storedResponses = new Map<string, { response: Record<string, unknown>; input: Record<string, unknown>[] }>();

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      // A handler bug must show up as a 500 in the test, not as a hang.
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(errorBody(`fake backend failure: ${String(err)}`, 'server_error', null, null));
      } else {
        res.destroy();
      }
    });
  });
  server.keepAliveTimeout = 30_000;
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });

  function finish(rec: RecordedRequest, outcome: RequestOutcome): void {
    if (rec.outcome !== 'pending') return;
    rec.outcome = outcome;
    events.emit('done', rec);
  }

  function sleep(ms: number, res: ServerResponse): Promise<boolean> {
    // Resolves false when the connection went away meanwhile, so writers stop early.
    return new Promise((resolve) => {
      if (res.destroyed) return resolve(false);
      const t = setTimeout(() => {
        timers.delete(t);
        res.off('close', onClose);
        resolve(!res.destroyed);
      }, ms);
      timers.add(t);
      const onClose = () => {
        clearTimeout(t);
        timers.delete(t);
        resolve(false);
      };
      res.once('close', onClose);
    });
  }

  function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    res.writeHead(status, {
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(text)),
      'x-fake-backend': name,
      // OpenAI answers with its own request id, the account's organization and a Cloudflare
      // cookie; the proxy keeps its own request id and passes none of the other two on.
      'x-request-id': `req_${name}`,
      ...ACCOUNT_HEADERS,
      ...headers,
    });
    res.end(text);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const rawBody = Buffer.concat(chunks).toString('utf8');
    let body: unknown = undefined;
    if (rawBody !== '') {
      try {
        body = JSON.parse(rawBody);
      } catch {
        body = rawBody;
      }
    }
    const url = req.url ?? '/';
    const path = url.split('?')[0] ?? '/';
    const method = req.method ?? 'GET';
    const stream = isObject(body) && body['stream'] === true;
    const auth = req.headers['authorization'];
    const rec: RecordedRequest = {
      seq: ++seq,
      method,
      path,
      url,
      headers: { ...req.headers },
      authorization: typeof auth === 'string' ? auth : undefined,
      body,
      rawBody,
      mode,
      stream,
      outcome: 'pending',
      receivedAt: Date.now(),
    };
    requests.push(rec);
    res.on('close', () => {
      if (res.writableFinished) finish(rec, 'completed');
      else finish(rec, closedForGood || !server.listening ? 'killed' : 'aborted');
    });
    events.emit('request', rec);

    const isInference =
      method === 'POST' && (path === '/v1/chat/completions' || path === '/v1/completions' || path === '/v1/embeddings' || path === '/v1/rerank' || path === '/v1/moderations' || path === '/v1/images/generations' || path === '/v1/audio/speech' || path === '/v1/responses');
    const isHealth = method === 'GET' && (path === '/health' || path === '/v1/models' || path.startsWith('/v1/models/'));
    const applyMode = isInference || (isHealth && modeOpts.affectHealth === true);
    const m: FakeMode = applyMode ? mode : 'ok';
    rec.mode = m;
    if (isHealth && modeOpts.failHealth === true) return sendJson(res, 503, errorBody('unhealthy on purpose', 'server_error', null, null));

    switch (m) {
      case 'error500':
        return sendJson(
          res,
          500,
          errorBody('The server had an error while processing your request. Sorry about that!', 'server_error', null, null),
        );
      case 'error429':
        return sendJson(
          res,
          429,
          errorBody(
            `Rate limit reached for requests on ${name}. Please try again in 1s.`,
            'requests',
            null,
            'rate_limit_exceeded',
          ),
          { 'retry-after': modeOpts.retryAfter ?? '1' },
        );
      case 'reset':
        finish(rec, 'reset');
        req.socket.destroy();
        return;
      case 'hang':
      case 'hangBeforeFirstByte':
        // Never answer; the socket stays open until the peer gives up or kill()/close().
        return;
      default:
        break;
    }

    if (method === 'GET' && path === '/health') return sendJson(res, 200, { status: 'ok', backend: name });
    if (method === 'GET' && path === '/v1/models') {
      return sendJson(res, 200, {
        object: 'list',
        data: models.map((id) => ({ id, object: 'model', created, owned_by: name })),
      });
    }
    if (method === 'GET' && path.startsWith('/v1/models/')) {
      const id = decodeURIComponent(path.slice('/v1/models/'.length));
      if (!models.includes(id)) {
        return sendJson(res, 404, errorBody(`The model '${id}' does not exist`, 'invalid_request_error', 'model', 'model_not_found'));
      }
      return sendJson(res, 200, { id, object: 'model', created, owned_by: name });
    }
    const stored = /^\/v1\/responses\/([^/]+)(\/cancel|\/input_items)?$/.exec(path);
    if (stored !== null) return storedResponse(method, url, decodeURIComponent(stored[1] ?? ''), stored[2] ?? '', res);
    if (!isInference) {
      return sendJson(res, 404, errorBody(`Invalid URL (${method} ${path})`, 'invalid_request_error', null, null));
    }
    if (!isObject(body)) {
      return sendJson(
        res,
        400,
        errorBody('We could not parse the JSON body of your request.', 'invalid_request_error', null, null),
      );
    }
    if (typeof body['model'] !== 'string' || body['model'] === '') {
      return sendJson(
        res,
        400,
        errorBody("you must provide a model parameter", 'invalid_request_error', 'model', null),
      );
    }
    if (path === '/v1/chat/completions') return chat(rec, body, res, m);
    if (path === '/v1/completions') return completions(rec, body, res, m);
    if (path === '/v1/rerank') return rerank(rec, body, res, m);
    if (path === '/v1/moderations') return moderations(rec, body, res, m);
    if (path === '/v1/images/generations') return images(body, res, m);
    if (path === '/v1/audio/speech') return speech(body, res, m);
    if (path === '/v1/responses') return responses(rec, body, res, m);
    return embeddings(body, res, m);
  }

  /** OpenAI's moderation answer: one result per input, flagged for violence when the text holds VIOLENT. */
  async function moderations(rec: RecordedRequest, body: Record<string, unknown>, res: ServerResponse, m: FakeMode): Promise<void> {
    const input = body['input'];
    const texts = typeof input === 'string' ? [input] : Array.isArray(input) ? input.map((x) => (typeof x === 'string' ? x : isObject(x) && typeof x['text'] === 'string' ? x['text'] : '')) : [];
    if (texts.length === 0) return sendJson(res, 400, errorBody("'input' is a required property", 'invalid_request_error', 'input', null));
    if (!(await slowReply(m, res))) return;
    return sendJson(res, 200, {
      id: `modr-${name}-${rec.seq}`,
      model: body['model'],
      results: texts.map((t) => {
        const violent = t.includes('VIOLENT');
        const categories = Object.fromEntries(MODERATION_CATEGORIES.map((c) => [c, c === 'violence' && violent]));
        const scores = Object.fromEntries(MODERATION_CATEGORIES.map((c) => [c, c === 'violence' && violent ? 0.98 : 0.0001]));
        const applied = Object.fromEntries(MODERATION_CATEGORIES.map((c) => [c, ['text']]));
        return { flagged: violent, categories, category_scores: scores, category_applied_input_types: applied };
      }),
    });
  }

  /**
   * OpenAI's image generation answer: `n` images; dall-e-3 with its revised prompt and a URL,
   * gpt-image-1 (and others) base64 PNG with token usage.
   */
  async function images(body: Record<string, unknown>, res: ServerResponse, m: FakeMode): Promise<void> {
    const prompt = body['prompt'];
    if (typeof prompt !== 'string' || prompt === '') return sendJson(res, 400, errorBody("'prompt' is a required property", 'invalid_request_error', 'prompt', null));
    const n = typeof body['n'] === 'number' && body['n'] > 0 ? Math.floor(body['n']) : 1;
    if (!(await slowReply(m, res))) return;
    if (String(body['model']).startsWith('dall-e-3')) {
      return sendJson(res, 200, { created, data: Array.from({ length: n }, (_, i) => ({ url: `https://images.example/${name}/${i}.png`, revised_prompt: `A picture of ${prompt}` })) });
    }
    const input = countTokens(prompt);
    return sendJson(res, 200, {
      created,
      data: Array.from({ length: n }, () => ({ b64_json: ONE_PIXEL_PNG })),
      usage: { input_tokens: input, output_tokens: 272 * n, total_tokens: input + 272 * n, input_tokens_details: { text_tokens: input, image_tokens: 0 } },
    });
  }

  /**
   * OpenAI's text to speech answer: audio bytes in the asked format (a format's magic bytes, then
   * the input text, so a test can check what was spoken), written in three pieces.
   */
  async function speech(body: Record<string, unknown>, res: ServerResponse, m: FakeMode): Promise<void> {
    const input = body['input'];
    if (typeof input !== 'string' || input === '') return sendJson(res, 400, errorBody("'input' is a required property", 'invalid_request_error', 'input', null));
    if (typeof body['voice'] !== 'string') return sendJson(res, 400, errorBody("'voice' is a required property", 'invalid_request_error', 'voice', null));
    const format = typeof body['response_format'] === 'string' ? body['response_format'] : 'mp3';
    const kind = SPEECH_FORMATS[format];
    if (kind === undefined) return sendJson(res, 400, errorBody(`Invalid value: '${format}'`, 'invalid_request_error', 'response_format', 'invalid_value'));
    if (!(await slowReply(m, res))) return;
    const audio = Buffer.concat([Buffer.from(kind.magic, 'latin1'), Buffer.from(input)]);
    res.writeHead(200, { 'content-type': kind.type, 'transfer-encoding': 'chunked', 'x-fake-backend': name });
    const third = Math.ceil(audio.length / 3);
    for (let i = 0; i < audio.length; i += third) {
      res.write(audio.subarray(i, i + third));
      await sleep(5, res);
    }
    res.end();
  }

  /** vLLM's rerank answer (the Jina/Cohere request shape): results by relevance, each with its document. */
  async function rerank(rec: RecordedRequest, body: Record<string, unknown>, res: ServerResponse, m: FakeMode): Promise<void> {
    const query = body['query'];
    const docs = body['documents'];
    if (typeof query !== 'string' || !Array.isArray(docs) || docs.length === 0) {
      return sendJson(res, 400, errorBody('query (a string) and documents (a non-empty list) are required', 'BadRequestError', null, null));
    }
    const scores = rerankScores(query, docs);
    const tokens = countTokens(query) * docs.length + docs.reduce((n: number, d) => n + countTokens(typeof d === 'string' ? d : isObject(d) ? String(d['text'] ?? '') : ''), 0);
    if (!(await slowReply(m, res))) return;
    return sendJson(res, 200, {
      id: `rerank-${name}-${rec.seq}`,
      model: body['model'],
      usage: { total_tokens: tokens },
      results: rankOrder(scores, body['top_n']).map((index) => ({
        index,
        document: { text: typeof docs[index] === 'string' ? docs[index] : isObject(docs[index]) ? String(docs[index]['text'] ?? '') : '' },
        relevance_score: scores[index],
      })),
    });
  }

  /**
   * Writes a stream of chunks in the given mode; stops early when the peer goes away. Chat
   * framing is `data:` lines ending in `data: [DONE]`; Responses API framing names every event
   * by its type and has no [DONE].
   */
  async function writeStream(
    rec: RecordedRequest,
    res: ServerResponse,
    m: FakeMode,
    chunks: unknown[],
    usageChunk: unknown | undefined,
    framing: 'chat' | 'responses' = 'chat',
  ): Promise<void> {
    res.writeHead(200, { ...SSE_HEADERS, 'x-fake-backend': name, 'x-request-id': `req_${name}`, ...ACCOUNT_HEADERS });
    res.flushHeaders();
    const chunkDelay = m === 'slowStream' ? (modeOpts.chunkDelayMs ?? 50) : 0;
    // The role chunk plus N content chunks (Responses: the first N + 1 events) go out before a streamBreak.
    const breakAt = m === 'streamBreak' || m === 'streamTruncate' ? 1 + (modeOpts.breakAfterChunks ?? 2) : Infinity;
    const all = usageChunk === undefined ? chunks : [...chunks, usageChunk];
    for (let i = 0; i < all.length; i++) {
      if (i === breakAt) {
        // Let the chunks already written reach the peer, so the break is "after bytes were sent".
        await sleep(20, res);
        if (m === 'streamTruncate') {
          // A clean end of the HTTP response, but the stream is incomplete.
          res.end();
          return;
        }
        finish(rec, 'reset');
        res.destroy();
        return;
      }
      if (chunkDelay > 0 && !(await sleep(chunkDelay, res))) return;
      if (res.destroyed) return;
      const chunk = all[i];
      if (!(await writeEvent(res, framing === 'responses' && isObject(chunk) ? namedSse(chunk) : sse(chunk)))) return;
    }
    if (framing === 'chat') {
      if (chunkDelay > 0 && !(await sleep(chunkDelay, res))) return;
      if (!(await writeEvent(res, sse('[DONE]')))) return;
    }
    res.end();
  }

  /** Writes one SSE event, in fragments when fragmentBytes is set; false if the peer went away. */
  async function writeEvent(res: ServerResponse, text: string): Promise<boolean> {
    const bytes = Buffer.from(text, 'utf8');
    const size = modeOpts.fragmentBytes && modeOpts.fragmentBytes > 0 ? modeOpts.fragmentBytes : bytes.length;
    for (let off = 0; off < bytes.length; off += size) {
      if (res.destroyed) return false;
      await new Promise<void>((resolve) => res.write(bytes.subarray(off, off + size), () => resolve()));
      // A pause between fragments so they leave as separate TCP segments.
      if (size < bytes.length && !(await sleep(1, res))) return false;
    }
    return true;
  }

  /**
   * OpenAI's stream chunk format: every chunk carries "usage": null when include_usage was
   * asked, and then a last chunk without choices carries the usage.
   */
  function streamChunks(body: Record<string, unknown>, id: string, object: string, usage: unknown) {
    const streamOptions = body['stream_options'];
    const includeUsage = isObject(streamOptions) && streamOptions['include_usage'] === true;
    const chunk = (choices: unknown[]) => ({
      id,
      object,
      created,
      model: body['model'],
      system_fingerprint: `fp_${name}`,
      choices,
      ...(includeUsage ? { usage: null } : {}),
    });
    return { chunk, usageChunk: includeUsage ? { ...chunk([]), usage } : undefined };
  }

  /** slowStream for a reply that is not a stream: the whole reply comes late. False if the peer went away. */
  function slowReply(m: FakeMode, res: ServerResponse): Promise<boolean> {
    return m === 'slowStream' ? sleep((modeOpts.chunkDelayMs ?? 50) * 3, res) : Promise.resolve(true);
  }

  async function chat(rec: RecordedRequest, body: Record<string, unknown>, res: ServerResponse, m: FakeMode): Promise<void> {
    const messages = body['messages'];
    if (!Array.isArray(messages) || messages.length === 0) {
      return sendJson(
        res,
        400,
        errorBody("Missing required parameter: 'messages'.", 'invalid_request_error', 'messages', 'missing_required_parameter'),
      );
    }
    const model = body['model'] as string;
    const content = chatReply(name, messages);
    const promptTokens = chatPromptTokens(messages);
    const completionTokens = countTokens(content);
    const usage = {
      prompt_tokens: promptTokens,
      completion_tokens: completionTokens,
      total_tokens: promptTokens + completionTokens,
      prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
      completion_tokens_details: {
        reasoning_tokens: 0,
        audio_tokens: 0,
        accepted_prediction_tokens: 0,
        rejected_prediction_tokens: 0,
      },
    };
    const id = `chatcmpl-${name}-${rec.seq}`;
    if (!rec.stream) {
      const reply = {
        id,
        object: 'chat.completion',
        created,
        model,
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content, refusal: null, annotations: [] },
            logprobs: null,
            finish_reason: 'stop',
          },
        ],
        usage,
        service_tier: 'default',
      };
      if (!(await slowReply(m, res))) return;
      if (m === 'streamBreak') {
        // Headers and half the body, then the connection dies.
        const text = JSON.stringify(reply);
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)), 'x-fake-backend': name });
        res.write(text.slice(0, Math.floor(text.length / 2)));
        await sleep(10, res);
        finish(rec, 'reset');
        res.destroy();
        return;
      }
      return sendJson(res, 200, reply);
    }
    const { chunk, usageChunk } = streamChunks(body, id, 'chat.completion.chunk', usage);
    const chunks: unknown[] = [
      chunk([{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }]),
      ...streamPieces(content).map((piece) =>
        chunk([{ index: 0, delta: { content: piece }, logprobs: null, finish_reason: null }]),
      ),
      chunk([{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }]),
    ];
    return writeStream(rec, res, m, chunks, usageChunk);
  }

  async function completions(
    rec: RecordedRequest,
    body: Record<string, unknown>,
    res: ServerResponse,
    m: FakeMode,
  ): Promise<void> {
    const model = body['model'] as string;
    const text = completionReply(name, body['prompt']);
    const promptTokens = countTokens(promptText(body['prompt']));
    const completionTokens = countTokens(text);
    const usage = { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens };
    const id = `cmpl-${name}-${rec.seq}`;
    if (!rec.stream) {
      if (!(await slowReply(m, res))) return;
      return sendJson(res, 200, {
        id,
        object: 'text_completion',
        created,
        model,
        system_fingerprint: `fp_${name}`,
        choices: [{ text, index: 0, logprobs: null, finish_reason: 'stop' }],
        usage,
      });
    }
    const { chunk, usageChunk } = streamChunks(body, id, 'text_completion', usage);
    const pieces = streamPieces(text);
    const chunks: unknown[] = [
      chunk([{ text: '', index: 0, logprobs: null, finish_reason: null }]),
      ...pieces.map((p, i) => chunk([{ text: p, index: 0, logprobs: null, finish_reason: i === pieces.length - 1 ? 'stop' : null }])),
    ];
    return writeStream(rec, res, m, chunks, usageChunk);
  }

  /**
   * OpenAI's Responses API (POST /v1/responses). The reply is deterministic: the tool's output
   * echoed when the last input item is a function_call_output, else a call of the first function
   * tool (arguments {"city":"Paris"}) when function tools are given, else a message naming the
   * backend and the last user text, with " [after <id>]" when it continues a previous response.
   * Input tokens count this request's instructions and input texts; output tokens the output's
   * text or arguments.
   */
  async function responses(rec: RecordedRequest, body: Record<string, unknown>, res: ServerResponse, m: FakeMode): Promise<void> {
    const rawInput = body['input'];
    if (typeof rawInput !== 'string' && !Array.isArray(rawInput)) {
      return sendJson(res, 400, errorBody("Missing required parameter: 'input'.", 'invalid_request_error', 'input', 'missing_required_parameter'));
    }
    const previousId = typeof body['previous_response_id'] === 'string' ? body['previous_response_id'] : null;
    if (previousId !== null && !storedResponses.has(previousId)) {
      return sendJson(res, 404, errorBody(`Previous response with id '${previousId}' not found.`, 'invalid_request_error', 'previous_response_id', 'previous_response_not_found'));
    }
    const input = normaliseInput(rawInput);
    // A tool's output must answer a call the model made: in this input or in the previous response.
    const calls = [...(previousId !== null ? (storedResponses.get(previousId)?.response['output'] as unknown[]) : []), ...input];
    for (const out of input) {
      if (out['type'] !== 'function_call_output') continue;
      if (!calls.some((c) => isObject(c) && c['type'] === 'function_call' && c['call_id'] === out['call_id'])) {
        return sendJson(res, 400, errorBody(`No tool call found for function call output with call_id ${String(out['call_id'])}.`, 'invalid_request_error', 'input', null));
      }
    }
    const instructions = typeof body['instructions'] === 'string' ? body['instructions'] : null;
    const tools = Array.isArray(body['tools']) ? body['tools'] : [];
    const fnTool = tools.find((t): t is Record<string, unknown> => isObject(t) && t['type'] === 'function' && typeof t['name'] === 'string');
    const last = input.at(-1);
    let userText = '';
    for (const item of input) if (item['type'] === 'message' && item['role'] === 'user') userText = itemText(item['content']);

    const call =
      last?.['type'] !== 'function_call_output' && fnTool !== undefined
        ? { type: 'function_call', id: newId('fc'), call_id: newId('call'), name: fnTool['name'] as string, arguments: '{"city":"Paris"}', status: 'completed' }
        : undefined;
    const text =
      last?.['type'] === 'function_call_output'
        ? `The tool said: ${itemText(last['output'])}`
        : `Hello from ${name}: ${userText}${previousId !== null ? ` [after ${previousId}]` : ''}`;
    const message = { type: 'message', id: newId('msg'), role: 'assistant', status: 'completed', content: [{ type: 'output_text', text, annotations: [], logprobs: [] }] };
    const item = call ?? message;

    const inputTokens = input.reduce((n, it) => n + countTokens(itemText(it['content'] ?? it['output'] ?? it['arguments'])), countTokens(instructions ?? ''));
    const outputTokens = countTokens(call?.arguments ?? text);
    const createdAt = Math.floor(Date.now() / 1000);
    const store = body['store'] !== false;
    const id = newId('resp');
    // The fields OpenAI's Response object always carries, the request's settings echoed back.
    const response = (status: 'in_progress' | 'completed', output: unknown[]) => ({
      id,
      object: 'response',
      created_at: createdAt,
      status,
      background: false,
      completed_at: status === 'completed' ? createdAt : null,
      error: null,
      incomplete_details: null,
      instructions,
      max_output_tokens: typeof body['max_output_tokens'] === 'number' ? body['max_output_tokens'] : null,
      model: body['model'],
      output,
      parallel_tool_calls: body['parallel_tool_calls'] !== false,
      previous_response_id: previousId,
      reasoning: { effort: null, summary: null },
      service_tier: 'default',
      store,
      temperature: typeof body['temperature'] === 'number' ? body['temperature'] : 1,
      text: isObject(body['text']) ? body['text'] : { format: { type: 'text' } },
      tool_choice: body['tool_choice'] ?? 'auto',
      tools,
      top_p: typeof body['top_p'] === 'number' ? body['top_p'] : 1,
      truncation: body['truncation'] === 'auto' ? 'auto' : 'disabled',
      usage:
        status === 'completed'
          ? {
              input_tokens: inputTokens,
              input_tokens_details: { cached_tokens: 0 },
              output_tokens: outputTokens,
              output_tokens_details: { reasoning_tokens: 0 },
              total_tokens: inputTokens + outputTokens,
            }
          : null,
      user: null,
      metadata: isObject(body['metadata']) ? body['metadata'] : {},
    });
    const done = response('completed', [item]);
    if (store) storedResponses.set(id, { response: done, input });

    if (!rec.stream) {
      if (!(await slowReply(m, res))) return;
      return sendJson(res, 200, done);
    }
    const at = { item_id: item.id, output_index: 0 };
    const events: Record<string, unknown>[] = [
      { type: 'response.created', response: response('in_progress', []) },
      { type: 'response.in_progress', response: response('in_progress', []) },
    ];
    if (call !== undefined) {
      const half = Math.ceil(call.arguments.length / 2);
      events.push(
        { type: 'response.output_item.added', output_index: 0, item: { ...call, arguments: '', status: 'in_progress' } },
        { type: 'response.function_call_arguments.delta', ...at, delta: call.arguments.slice(0, half) },
        { type: 'response.function_call_arguments.delta', ...at, delta: call.arguments.slice(half) },
        { type: 'response.function_call_arguments.done', ...at, name: call.name, arguments: call.arguments },
      );
    } else {
      const part = { type: 'output_text', text: '', annotations: [], logprobs: [] };
      events.push(
        { type: 'response.output_item.added', output_index: 0, item: { ...message, status: 'in_progress', content: [] } },
        { type: 'response.content_part.added', ...at, content_index: 0, part },
        ...streamPieces(text).map((delta) => ({ type: 'response.output_text.delta', ...at, content_index: 0, delta, logprobs: [] })),
        { type: 'response.output_text.done', ...at, content_index: 0, text, logprobs: [] },
        { type: 'response.content_part.done', ...at, content_index: 0, part: { ...part, text } },
      );
    }
    events.push({ type: 'response.output_item.done', output_index: 0, item }, { type: 'response.completed', response: done });
    // OpenAI numbers a stream's events from 0, the type first.
    const numbered = events.map(({ type, ...rest }, i) => ({ type, sequence_number: i, ...rest }));
    return writeStream(rec, res, m, numbered, undefined, 'responses');
  }

  /**
   * The stored-response endpoints: GET and DELETE /v1/responses/{id}, POST .../cancel (OpenAI
   * cancels only background responses, and this fake has none) and GET .../input_items (newest
   * first unless ?order=asc, all on one page).
   */
  function storedResponse(method: string, url: string, id: string, sub: string, res: ServerResponse): void {
    const known = storedResponses.get(id);
    const route = `${method} ${sub}`;
    if (route !== 'GET ' && route !== 'DELETE ' && route !== 'POST /cancel' && route !== 'GET /input_items') {
      return sendJson(res, 404, errorBody(`Invalid URL (${method} ${url.split('?')[0]})`, 'invalid_request_error', null, null));
    }
    if (known === undefined) return sendJson(res, 404, errorBody(`Response with id '${id}' not found.`, 'invalid_request_error', null, null));
    if (route === 'GET ') return sendJson(res, 200, known.response);
    if (route === 'DELETE ') {
      storedResponses.delete(id);
      return sendJson(res, 200, { id, object: 'response', deleted: true });
    }
    if (route === 'POST /cancel') return sendJson(res, 400, errorBody('Only background responses can be cancelled.', 'invalid_request_error', null, null));
    const asc = new URL(url, 'http://fake').searchParams.get('order') === 'asc';
    const data = asc ? known.input : [...known.input].reverse();
    return sendJson(res, 200, { object: 'list', data, first_id: data[0]?.['id'] ?? null, last_id: data.at(-1)?.['id'] ?? null, has_more: false });
  }

  async function embeddings(body: Record<string, unknown>, res: ServerResponse, m: FakeMode): Promise<void> {
    const inputs = embeddingInputs(body['input']);
    if (inputs.length === 0) {
      return sendJson(res, 400, errorBody("'input' is a required property", 'invalid_request_error', 'input', null));
    }
    const dims = typeof body['dimensions'] === 'number' && body['dimensions'] > 0 ? Math.floor(body['dimensions']) : defaultDims;
    const base64 = body['encoding_format'] === 'base64';
    const tokens = inputs.reduce((n, s) => n + countTokens(s), 0);
    if (!(await slowReply(m, res))) return;
    return sendJson(res, 200, {
      object: 'list',
      data: inputs.map((s, index) => {
        const v = embeddingVector(s, dims);
        return { object: 'embedding', embedding: base64 ? embeddingBase64(v) : v, index };
      }),
      model: body['model'],
      usage: { prompt_tokens: tokens, total_tokens: tokens },
    });
  }

  function listen(port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      server.once('error', onError);
      server.listen(port, host, () => {
        server.off('error', onError);
        resolve((server.address() as AddressInfo).port);
      });
    });
  }

  async function stop(): Promise<void> {
    for (const t of timers) clearTimeout(t);
    timers.clear();
    if (!server.listening) {
      for (const s of sockets) s.destroy();
      return;
    }
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const s of sockets) s.destroy();
    server.closeAllConnections();
    await closed;
  }

  const port = await listen(opts.port ?? 0);
  const urlHost = host.includes(':') ? `[${host}]` : host;

  function awaitRecorded(
    kind: 'request' | 'done',
    pred: (r: RecordedRequest) => boolean,
    timeoutMs: number,
  ): Promise<RecordedRequest> {
    const matches = (r: RecordedRequest) => (kind === 'request' || r.outcome !== 'pending') && pred(r);
    const found = requests.find(matches);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const onEvent = (r: RecordedRequest) => {
        if (!matches(r)) return;
        clearTimeout(t);
        events.off(kind, onEvent);
        resolve(r);
      };
      const t = setTimeout(() => {
        events.off(kind, onEvent);
        reject(new Error(`fake backend ${name}: no matching '${kind}' event within ${timeoutMs}ms`));
      }, timeoutMs);
      events.on(kind, onEvent);
    });
  }

  const backend: FakeBackend = {
    name,
    port,
    host,
    url: `http://${urlHost}:${port}/v1`,
    requests,
    events,
    get mode() {
      return mode;
    },
    setMode(next: FakeMode, options: FakeModeOptions = {}) {
      mode = next;
      modeOpts = options;
    },
    inferenceRequests() {
      return requests.filter((r) => r.method === 'POST' && r.path.startsWith('/v1/'));
    },
    clearRequests() {
      requests.length = 0;
    },
    storedResponses() {
      return [...storedResponses.keys()];
    },
    waitForRequest(pred = () => true, timeoutMs = 5_000) {
      return awaitRecorded('request', pred, timeoutMs);
    },
    waitForDone(pred = () => true, timeoutMs = 5_000) {
      return awaitRecorded('done', pred, timeoutMs);
    },
    async kill() {
      await stop();
    },
    async restart() {
      if (closedForGood) throw new Error(`fake backend ${name} was closed`);
      if (server.listening) return;
      created = Math.floor(Date.now() / 1000);
      await listen(port);
    },
    async close() {
      closedForGood = true;
      await stop();
    },
  };
  return backend;
}
