/**
 * What translating adapters share: the body they hold until its end, and the replay of a whole
 * completion as the chunks a stream of it would have given.
 */

/** A held body is kept up to this size; the rest is dropped (a translation needs the whole). */
const BODY_CAP = 32 * 1024 * 1024;

/** An upstream body held until its end. */
export class BufferedBody {
  private chunks: Buffer[] = [];
  private size = 0;

  /** Holds the chunk; null: nothing for the client yet (the ResponseTranslator.body contract). */
  push(chunk: Buffer): null {
    if (this.size < BODY_CAP) {
      this.chunks.push(chunk);
      this.size += chunk.length;
    }
    return null;
  }

  /** The whole body, and the buffer emptied. */
  take(): Buffer {
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.size);
    this.chunks = [];
    this.size = 0;
    return all;
  }
}

/**
 * An OpenAI `chat.completion` replayed as `chat.completion.chunk` events and `[DONE]`, for a
 * client that asked for a stream when the provider answered with one JSON body. The usage chunk
 * is included when the client asked for it.
 */
export function completionAsChunks(c: Record<string, unknown>, created: number, clientWantsUsage: boolean): string {
  const choice = (c.choices as Array<Record<string, unknown>>)[0]!;
  const msg = choice.message as Record<string, unknown>;
  const base = { id: c.id, object: 'chat.completion.chunk', created, model: c.model };
  const delta: Record<string, unknown> = { role: 'assistant', content: msg.content ?? '' };
  if (msg.reasoning_content) delta.reasoning_content = msg.reasoning_content;
  if (msg.tool_calls) delta.tool_calls = (msg.tool_calls as unknown[]).map((t, index) => ({ index, ...(t as object) }));
  let out = `data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta, logprobs: null, finish_reason: null }] })}\n\n`;
  out += `data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: choice.finish_reason }] })}\n\n`;
  if (clientWantsUsage) out += `data: ${JSON.stringify({ ...base, choices: [], usage: c.usage })}\n\n`;
  return out + 'data: [DONE]\n\n';
}
