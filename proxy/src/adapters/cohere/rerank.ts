// Rerank requests (the Cohere/Jina shape the proxy serves at /v1/rerank and /v2/rerank) to
// Cohere's v2 Rerank API (POST {url}/v2/rerank; Cohere Rerank on Bedrock takes the same body
// through InvokeModel), and its answer back. Pure.
import { UnsupportedRequest } from '../types.ts';

type Json = Record<string, unknown>;

/** The request members Cohere's v2 rerank takes or the translation honours itself (return_documents). */
const CARRIED = new Set(['model', 'query', 'documents', 'top_n', 'max_tokens_per_doc', 'return_documents']);

/**
 * The v2 request. Documents go as strings: an object document is taken by its `text` when that
 * is all it holds; Cohere v1's semi-structured documents (other fields, `rank_fields`) and any
 * other member have no v2 equivalent and are refused, naming the member.
 */
export function rerankToCohere(body: Readonly<Json>, model: string, where = "Cohere's v2 rerank API (backend adapter cohere)"): Json {
  for (const k of Object.keys(body)) {
    if (!CARRIED.has(k) && body[k] !== undefined && body[k] !== null) {
      throw new UnsupportedRequest(k, `${k} is not supported by ${where}`);
    }
  }
  const documents = (body.documents as unknown[]).map((d, i) => documentText(d, i, where));
  const out: Json = { model, query: body.query, documents };
  if (typeof body.top_n === 'number') out.top_n = body.top_n;
  if (typeof body.max_tokens_per_doc === 'number') out.max_tokens_per_doc = body.max_tokens_per_doc;
  return out;
}

function documentText(d: unknown, i: number, where = "Cohere's v2 rerank API (backend adapter cohere)"): string {
  if (typeof d === 'string') return d;
  const o = d as Json;
  const keys = Object.keys(o);
  if (typeof o.text === 'string' && keys.length === 1) return o.text;
  throw new UnsupportedRequest('documents', `documents[${i}] is an object with fields other than text (${keys.join(', ')}): ${where} takes text documents only`);
}

/**
 * Cohere's answer as the client expects it: the same results (index, relevance_score), each
 * with its `document: {text}` when the client asked for `return_documents` (v2 returns none), and
 * Cohere's `meta` (billed search units) as it came.
 */
export function rerankFromCohere(r: Json, request: Readonly<Json>): Json {
  const docs = request.documents as unknown[];
  const wantDocs = request.return_documents === true;
  const results = ((r.results as Json[] | undefined) ?? []).map((x) => {
    const out: Json = { index: x.index, relevance_score: x.relevance_score };
    const i = x.index;
    if (wantDocs && typeof i === 'number' && i >= 0 && i < docs.length) out.document = { text: documentText(docs[i], i) };
    return out;
  });
  const out: Json = { id: r.id, results };
  if (r.meta !== undefined) out.meta = r.meta;
  return out;
}
