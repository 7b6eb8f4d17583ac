/**
 * Tool call ids. Gemini's function calls have none, so the adapter numbers them (`call_<n>`, in
 * order of appearance, the same in a stream and in a body). Gemini 3 refuses a replayed call
 * without the thought signature it was given, and an OpenAI client sends back only the id: so
 * a call that came with a signature carries it in its id (`call_<n>_gsig_<base64url>`), and
 * the request translation takes it out again.
 */
const MARK = '_gsig_';

export function callId(n: number, signature: unknown): string {
  if (typeof signature !== 'string' || signature === '') return `call_${n}`;
  return `call_${n}${MARK}${signature.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')}`;
}

/** The thought signature an id made by callId carries, as Gemini sent it (base64), or undefined. */
export function signatureFromCallId(id: string): string | undefined {
  const at = id.indexOf(MARK);
  if (at < 0) return undefined;
  const s = id.slice(at + MARK.length).replace(/-/g, '+').replace(/_/g, '/');
  return s + '='.repeat((4 - (s.length % 4)) % 4);
}
