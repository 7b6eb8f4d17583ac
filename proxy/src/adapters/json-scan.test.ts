import { describe, expect, it } from 'vitest';
import { lastObjectValue } from './json-scan.ts';
import { usageFromBody } from './openai-usage.ts';

describe('lastObjectValue', () => {
  it('finds the usage object of a chat completion without parsing the rest', () => {
    const body = Buffer.from(JSON.stringify({
      id: 'x', choices: [{ message: { content: 'the word "usage": {fake} inside a string' } }],
      usage: { prompt_tokens: 9, completion_tokens: 12, total_tokens: 21 },
    }));
    expect(usageFromBody(body)).toEqual({ promptTokens: 9, completionTokens: 12 });
  });

  it('handles whitespace, nested objects and braces inside strings', () => {
    const body = Buffer.from('{"usage" :\n {"prompt_tokens": 1, "completion_tokens": 2, "details": {"x": "}{"}}, "model": "m"}');
    expect(lastObjectValue(body, 'usage')).toEqual({ prompt_tokens: 1, completion_tokens: 2, details: { x: '}{' } });
  });

  it('skips "usage": null and returns null when there is no object', () => {
    expect(lastObjectValue(Buffer.from('{"usage":null}'), 'usage')).toBeNull();
    expect(usageFromBody(Buffer.from('{"data":[]}'))).toBeNull();
    expect(usageFromBody(Buffer.from('{"usage":{"prompt_tokens":1'))).toBeNull();
  });

  it('reads embeddings usage (prompt tokens only)', () => {
    const body = Buffer.from('{"object":"list","data":[],"usage":{"prompt_tokens":5,"total_tokens":5}}');
    expect(usageFromBody(body)).toEqual({ promptTokens: 5, completionTokens: 0 });
  });
});
