// An OpenAI-compatible fake provider on node:http. The integration tests drive the proxy
// against it, and `make demo` runs it as the bundled demo backend. Replies are
// deterministic and name the backend that answered, so a test can tell which backend a
// request reached; failure modes (errors, resets, hangs, broken or slow streams) are
// switched at runtime so failover paths can be exercised without a real provider.
import { EventEmitter } from 'node:events';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import {
  ACCOUNT_HEADERS,
  SSE_HEADERS,
  sse,
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
  streamPieces,
} from './fake-content.ts';
import { formBody, imageEditAnswer, imageEvents, imagesAnswer, moderationAnswer, rerankAnswer, speechAnswer, speechEvents, transcriptEvents, transcriptionAnswer } from './fake-endpoints.ts';
import { createResponse, namedSse, storedResponseAnswer, type FakeError, type StoredResponse } from './fake-responses.ts';
import type { FakeMode, FakeModeOptions, FakeOptions, RequestOutcome, RecordedRequest, FakeBackendEvents, FakeBackend } from './fake-types.ts';

export { FAKE_MODES } from './fake-types.ts';
export type { FakeMode, FakeModeOptions, FakeOptions, RequestOutcome, RecordedRequest, FakeBackendEvents, FakeBackend } from './fake-types.ts';
export { chatPromptTokens, chatReply, completionReply, countTokens, embeddingBase64, embeddingVector, streamPieces } from './fake-content.ts';


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
  const storedResponses = new Map<string, StoredResponse>();

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
    const rawBytes = Buffer.concat(chunks);
    const rawBody = rawBytes.toString('utf8');
    let body: unknown = undefined;
    const type = req.headers['content-type'] ?? '';
    if (type.startsWith('multipart/form-data')) {
      // Uploads (transcriptions, translations, image edits): the text fields, and each file's bytes.
      body = await formBody(rawBytes, type);
    } else if (rawBody !== '') {
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
      method === 'POST' && (path === '/v1/chat/completions' || path === '/v1/completions' || path === '/v1/embeddings' || path === '/v1/rerank' || path === '/v1/moderations' || path === '/v1/images/generations' || path === '/v1/audio/speech' || path === '/v1/responses' || path === '/v1/audio/transcriptions' || path === '/v1/audio/translations' || path === '/v1/images/edits');
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
    if (path === '/v1/rerank') return answer(res, m, rerankAnswer(`rerank-${name}-${rec.seq}`, body));
    if (path === '/v1/moderations') return answer(res, m, moderationAnswer(`modr-${name}-${rec.seq}`, body));
    if (path === '/v1/images/generations') {
      if (body['stream'] === true && typeof body['prompt'] === 'string') return writeStream(rec, res, m, imageEvents('image_generation', created, body), undefined, 'responses');
      return answer(res, m, imagesAnswer(name, created, body));
    }
    if (path === '/v1/audio/speech') return speech(rec, body, res, m);
    if (path === '/v1/audio/transcriptions' || path === '/v1/audio/translations') return transcription(rec, path.endsWith('translations') ? 'translate' : 'transcribe', body, res, m);
    if (path === '/v1/images/edits') {
      const a = imageEditAnswer(name, created, body);
      if (body['stream'] === 'true' && !('error' in a)) return writeStream(rec, res, m, imageEvents('image_edit', created, body), undefined, 'responses');
      return answer(res, m, a);
    }
    if (path === '/v1/responses') return responses(rec, body, res, m);
    return embeddings(body, res, m);
  }

  /** The endpoints whose answers fake-endpoints.ts builds: an error, or the JSON after the mode's delay. */
  async function answer(res: ServerResponse, m: FakeMode, a: Record<string, unknown> | FakeError): Promise<void> {
    if ('error' in a && typeof a['status'] === 'number') return sendJson(res, a.status as number, a.error);
    if (!(await slowReply(m, res))) return;
    return sendJson(res, 200, a);
  }

  /** A transcript: JSON, or the plain-text formats as text/plain. */
  async function transcription(rec: RecordedRequest, task: 'transcribe' | 'translate', body: Record<string, unknown>, res: ServerResponse, m: FakeMode): Promise<void> {
    const a = transcriptionAnswer(task, body);
    if (body['stream'] === 'true' && 'json' in a) return writeStream(rec, res, m, transcriptEvents(String(a.json['text']), a.json['usage']), undefined, 'responses');
    if (!('text' in a)) return answer(res, m, 'json' in a ? a.json : a);
    if (!(await slowReply(m, res))) return;
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'x-fake-backend': name });
    res.end(a.text);
  }

  /** Speech: the audio written in three pieces, as a TTS server streams it. */
  async function speech(rec: RecordedRequest, body: Record<string, unknown>, res: ServerResponse, m: FakeMode): Promise<void> {
    const a = speechAnswer(body);
    if ('error' in a) return sendJson(res, a.status, a.error);
    if (body['stream_format'] === 'sse') return writeStream(rec, res, m, speechEvents(a.audio, String(body['input'])), undefined, 'responses');
    if (!(await slowReply(m, res))) return;
    res.writeHead(200, { 'content-type': a.type, 'transfer-encoding': 'chunked', 'x-fake-backend': name });
    const third = Math.ceil(a.audio.length / 3);
    for (let i = 0; i < a.audio.length; i += third) {
      res.write(a.audio.subarray(i, i + third));
      await sleep(5, res);
    }
    res.end();
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
    const answer = createResponse(name, body, storedResponses);
    if ('error' in answer) return sendJson(res, answer.status, answer.error);
    if (!rec.stream) {
      if (!(await slowReply(m, res))) return;
      return sendJson(res, 200, answer.response);
    }
    return writeStream(rec, res, m, answer.events, undefined, 'responses');
  }

  function storedResponse(method: string, url: string, id: string, sub: string, res: ServerResponse): void {
    const answer = storedResponseAnswer(method, url, id, sub, storedResponses);
    sendJson(res, answer.status, answer.body);
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
