import { describe, expect, it } from 'vitest';
import { Errors, apiError, errorBody, streamErrorEvent } from './errors.ts';

describe('error bodies in the client schema', () => {
  it('OpenAI: {"error": {message, type, param, code}}, a stream error as a data event', () => {
    expect(JSON.parse(errorBody(Errors.invalidKey()))).toEqual({ error: { message: 'incorrect API key provided', type: 'authentication_error', param: null, code: 'invalid_api_key' } });
    expect(streamErrorEvent(Errors.invalidKey()).toString()).toMatch(/^data: \{"error":/);
  });

  it.each([
    [400, 'invalid_request_error'], [401, 'authentication_error'], [403, 'permission_error'], [404, 'not_found_error'],
    [413, 'request_too_large'], [429, 'rate_limit_error'], [500, 'api_error'], [502, 'api_error'], [503, 'overloaded_error'], [504, 'api_error'],
  ])('Anthropic: status %i is a %s error body, and a named error event in a stream', (status, type) => {
    const e = apiError(status, 'x', 'y', 'why');
    expect(JSON.parse(errorBody(e, 'anthropic'))).toEqual({ type: 'error', error: { type, message: 'why' } });
    expect(streamErrorEvent(e, 'anthropic').toString()).toBe(`event: error\ndata: ${errorBody(e, 'anthropic')}\n\n`);
  });
});
