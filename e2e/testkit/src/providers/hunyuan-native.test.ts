// The Hunyuan native fake, called with plain HTTP (there is no Tencent Cloud SDK installed):
// requests are signed with the fake's tc3Sign, which is first checked against the worked
// example of Tencent Cloud's "Signature v3" documentation (CVM DescribeInstances, timestamp
// 1551113065, signature 2230eefd…), so fake and documentation agree.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HUNYUAN_TEST_KEY, startHunyuanNativeProvider, tc3Sign } from './hunyuan-native.ts';
import type { ProviderFake } from './scenario.ts';

let fake: ProviderFake;
beforeAll(async () => {
  fake = await startHunyuanNativeProvider();
});
afterAll(() => fake.close());

async function call(body: unknown, opts: { secretKey?: string } = {}): Promise<Response> {
  const payload = JSON.stringify(body);
  const timestamp = Math.floor(Date.now() / 1000);
  const host = new URL(fake.url).host;
  const date = new Date(timestamp * 1000).toISOString().slice(0, 10);
  const signature = tc3Sign(opts.secretKey ?? HUNYUAN_TEST_KEY.secretKey, 'hunyuan', timestamp, [['content-type', 'application/json'], ['host', host]], payload);
  return fetch(`${fake.url}/`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-tc-action': 'ChatCompletions',
      'x-tc-version': '2023-09-01',
      'x-tc-timestamp': String(timestamp),
      authorization: `TC3-HMAC-SHA256 Credential=${HUNYUAN_TEST_KEY.secretId}/${date}/hunyuan/tc3_request, SignedHeaders=content-type;host, Signature=${signature}`,
    },
    body: payload,
  });
}

describe('hunyuan native fake', () => {
  it('signs like the worked example of the TC3 documentation', () => {
    const payload = '{"Limit": 1, "Filters": [{"Values": ["\\u672a\\u547d\\u540d"], "Name": "instance-name"}]}';
    const signed: Array<[string, string]> = [['content-type', 'application/json; charset=utf-8'], ['host', 'cvm.tencentcloudapi.com']];
    expect(tc3Sign('Gu5t9xGARNpq86cd98joQYCN3*******', 'cvm', 1551113065, signed, payload)).toBe('2230eefd229f582d8b1b891af7107b91597240707d778ab3738f756258d7652c');
  });

  it('answers a signed ChatCompletions with Response.Choices and Usage', async () => {
    const r = await call({ Model: 'hunyuan-lite', Messages: [{ Role: 'user', Content: 'hi' }] });
    expect(r.status).toBe(200);
    const body = (await r.json()) as { Response: { Choices: Array<{ Message: { Content: string }; FinishReason: string }>; Usage: { PromptTokens: number } } };
    expect(body.Response.Choices[0]!.Message.Content).toBe('Hello from hunyuan-native-fake: hi');
    expect(body.Response.Choices[0]!.FinishReason).toBe('stop');
    expect(body.Response.Usage.PromptTokens).toBe(1);
  });

  it('streams Choices[].Delta events ending with a FinishReason, and tool calls', async () => {
    const r = await call({ Model: 'hunyuan-lite', Stream: true, Messages: [{ Role: 'user', Content: 'weather?' }], Tools: [{ Type: 'function', Function: { Name: 'weather', Parameters: '{}' } }] });
    expect(r.headers.get('content-type')).toBe('text/event-stream');
    const events = (await r.text()).split('\n\n').filter(Boolean).map((e) => JSON.parse(e.slice(6)) as { Choices: Array<{ Delta: { ToolCalls?: Array<{ Function: { Name: string; Arguments: string } }> }; FinishReason: string }> });
    const last = events[events.length - 1]!;
    expect(last.Choices[0]!.FinishReason).toBe('tool_calls');
    const call0 = events.flatMap((e) => e.Choices[0]!.Delta.ToolCalls ?? [])[0]!;
    expect(call0.Function).toEqual({ Name: 'weather', Arguments: '{"city":"Paris"}' });
  });

  it('refuses a bad signature with Response.Error AuthFailure.SignatureFailure (HTTP 200), and answers scenario errors', async () => {
    const bad = (await (await call({ Model: 'm', Messages: [{ Role: 'user', Content: 'hi' }] }, { secretKey: 'wrong' })).json()) as { Response: { Error: { Code: string } } };
    expect(bad.Response.Error.Code).toBe('AuthFailure.SignatureFailure');
    const limited = (await (await call({ Model: 'm', Messages: [{ Role: 'user', Content: 'ERROR 429' }] })).json()) as { Response: { Error: { Code: string } } };
    expect(limited.Response.Error.Code).toBe('LimitExceeded');
  });
});
