import type { ClientRequest } from '../adapters/types.ts';
import type { Masker } from '../masking/masker.ts';

/**
 * Tenant.spec.masking.requests: masks every text a request sends upstream, in place, before
 * any adapter sees it: message contents (strings and text parts), system prompts, assistant tool
 * call arguments, tool results, completion and image prompts, embedding and moderation inputs,
 * and a rerank's query and documents, on the OpenAI and the
 * Anthropic API alike. When anything was masked the raw body is re-serialised, so pass-through
 * adapters, which send the raw bytes, send the masked text too. Counts per rule go to `counts`.
 * Returns the request to forward (the same one when nothing matched).
 */
export function maskRequest(client: ClientRequest, masker: Masker, counts: Record<string, number>): ClientRequest {
  const raw = maskBody(client.body as Record<string, unknown>, masker, counts);
  // The Anthropic ingress: the request as it came (for an Anthropic backend) is masked too.
  const ingress = client.ingress;
  const ingressRaw = ingress ? maskBody(ingress.body as Record<string, unknown>, masker, counts) : null;
  if (raw === null && ingressRaw === null) return client;
  // A multipart request: its text fields (a transcription's or an image edit's prompt) as masked.
  const form = client.form?.map((p) => ('value' in p && typeof client.body[p.name] === 'string' ? { name: p.name, value: client.body[p.name] as string } : p));
  return {
    ...client,
    ...(form !== undefined && { form }),
    ...(raw !== null && { raw }),
    ...(ingress && ingressRaw !== null && { ingress: { ...ingress, raw: ingressRaw } }),
  };
}

/** Masks a parsed body in place; its new serialisation, or null when nothing matched. */
function maskBody(b: Record<string, unknown>, masker: Masker, counts: Record<string, number>): Buffer | null {
  let changed = false;
  const text = (s: string): string => {
    const r = masker.mask(s);
    if (r.text === s) return s;
    changed = true;
    for (const k in r.counts) counts[k] = (counts[k] ?? 0) + r.counts[k]!;
    return r.text;
  };
  if (typeof b.system === 'string') b.system = text(b.system);
  if (typeof b.instructions === 'string') b.instructions = text(b.instructions);
  else if (Array.isArray(b.system)) maskParts(b.system, text);
  if (Array.isArray(b.messages)) {
    for (const m of b.messages as unknown[]) {
      if (typeof m !== 'object' || m === null) continue;
      const msg = m as Record<string, unknown>;
      if (typeof msg.content === 'string') msg.content = text(msg.content);
      else if (Array.isArray(msg.content)) maskParts(msg.content, text);
      if (Array.isArray(msg.tool_calls)) {
        for (const c of msg.tool_calls as unknown[]) {
          const f = (c as { function?: { arguments?: unknown } } | null)?.function;
          if (f && typeof f.arguments === 'string') f.arguments = text(f.arguments);
        }
      }
    }
  }
  for (const field of ['prompt', 'input', 'query'] as const) {
    const v = b[field];
    if (typeof v === 'string') b[field] = text(v);
    else if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        const x = v[i];
        if (typeof x === 'string') v[i] = text(x);
        else if (typeof x === 'object' && x !== null) maskInputItem(x as Record<string, unknown>, text);
      }
    }
  }
  // A rerank request's documents: strings, or objects (every string in them).
  if (Array.isArray(b.documents)) {
    const docs = b.documents as unknown[];
    for (let i = 0; i < docs.length; i++) {
      const d = docs[i];
      if (typeof d === 'string') docs[i] = text(d);
      else if (typeof d === 'object' && d !== null) maskLeaves(d, text);
    }
  }
  return changed ? Buffer.from(JSON.stringify(b)) : null;
}

/**
 * An object in an `input` array: a moderation's `{type: 'text', text}` part, or a Responses API
 * input item (a message's content, a function call's arguments, a tool output).
 */
function maskInputItem(item: Record<string, unknown>, text: (s: string) => string): void {
  if (typeof item.text === 'string') item.text = text(item.text);
  if (typeof item.content === 'string') item.content = text(item.content);
  else if (Array.isArray(item.content)) maskParts(item.content, text);
  if (typeof item.arguments === 'string') item.arguments = text(item.arguments);
  if (typeof item.output === 'string') item.output = text(item.output);
}

/** Text parts of either API: OpenAI `{type:'text', text}`, Anthropic text blocks, tool_result and tool_use blocks. */
function maskParts(parts: unknown[], text: (s: string) => string): void {
  for (const p of parts) {
    if (typeof p !== 'object' || p === null) continue;
    const part = p as Record<string, unknown>;
    if (typeof part.text === 'string') part.text = text(part.text);
    if (part.type === 'tool_result') {
      if (typeof part.content === 'string') part.content = text(part.content);
      else if (Array.isArray(part.content)) maskParts(part.content, text);
    }
    if (part.type === 'tool_use' && typeof part.input === 'object' && part.input !== null) maskLeaves(part.input, text);
  }
}

/** Every string inside a JSON value (a tool's input), in place. */
function maskLeaves(v: object, text: (s: string) => string): void {
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    const x = o[k];
    if (typeof x === 'string') o[k] = text(x);
    else if (typeof x === 'object' && x !== null) maskLeaves(x, text);
  }
}
