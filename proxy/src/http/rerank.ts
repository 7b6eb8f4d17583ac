// What a rerank request (`POST /v1/rerank`, `/v2/rerank`) must hold before it is routed: the
// fields every rerank API shares (Cohere v1 and v2, Jina, vLLM, Xinference, LocalAI, GPUStack).
// The rest of the body goes to the backend as it came.

/** Cohere's documented maximum per request; larger lists are refused rather than sent. */
export const MAX_RERANK_DOCUMENTS = 10_000;

/** The first problem of a rerank body (the field and why), or null when it can be routed. */
export function rerankProblem(b: Readonly<Record<string, unknown>>): { field: string; message: string } | null {
  if (typeof b.query !== 'string' || b.query === '') return { field: 'query', message: 'query must be a non-empty string' };
  const docs = b.documents;
  if (!Array.isArray(docs) || docs.length === 0) return { field: 'documents', message: 'documents must be a non-empty array of strings or objects' };
  if (docs.length > MAX_RERANK_DOCUMENTS) return { field: 'documents', message: `documents holds ${docs.length} entries, more than the ${MAX_RERANK_DOCUMENTS} allowed` };
  for (let i = 0; i < docs.length; i++) {
    const d = docs[i];
    if (typeof d !== 'string' && (typeof d !== 'object' || d === null || Array.isArray(d))) return { field: 'documents', message: `documents[${i}] must be a string or an object` };
  }
  const n = b.top_n;
  if (n !== undefined && n !== null && !(Number.isInteger(n) && (n as number) > 0)) return { field: 'top_n', message: 'top_n must be a positive integer' };
  return null;
}
