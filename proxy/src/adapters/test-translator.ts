// Test helper: the translator of a pass-through adapter, as far as a wrapper around it cares
// (masking, response ids): bytes in, bytes out.
import type { ResponseMode, ResponseTranslator } from './types.ts';

export function passThroughTranslator(mode: ResponseMode): ResponseTranslator {
  return {
    classify: () => mode,
    headers: () => ({ 'content-type': mode === 'stream' ? 'text/event-stream' : 'application/json', 'content-length': '10' }),
    body: (c) => c,
    bodyEnd: () => null,
    stream: (c) => c,
    streamRest: () => null,
    complete: false,
    usage: null,
    errorMessage: () => '',
  };
}
