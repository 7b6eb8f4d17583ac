// The bedrock adapter's credential forms through the proxy, against the Bedrock fake (which
// verifies SigV4 signatures): a Bedrock API key as Bearer, no credentialsRef (the AWS default
// credential chain, here from the environment), and a wrong secret key answered as the
// gateway's credential failing. The access-key JSON form runs the whole conformance table.
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BEDROCK_TEST_CREDENTIALS, startBedrockProvider, type BedrockFake } from '@jairouter/testkit/providers/bedrock';
import { modelRoute, secret, tenantWithKeys, toYaml } from './config.ts';
import { startInProcess, type InProcessProxy } from './in-process.ts';

const KEY = 'sk-bedrock-test-0123456789';
const ENV = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE'] as const;
const saved: Partial<Record<(typeof ENV)[number], string | undefined>> = {};

let fake: BedrockFake;
let proxy: InProcessProxy;
let client: OpenAI;

beforeAll(async () => {
  // The default chain reads the environment first: the fake's keys stand in for IRSA's.
  for (const k of ENV) saved[k] = process.env[k];
  process.env.AWS_ACCESS_KEY_ID = BEDROCK_TEST_CREDENTIALS.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = BEDROCK_TEST_CREDENTIALS.secretAccessKey;
  delete process.env.AWS_SESSION_TOKEN;
  delete process.env.AWS_PROFILE;
  fake = await startBedrockProvider({ name: 'bedrock', auth: 'api-key' });
  const route = (name: string, credentialsRef?: { name: string; key: string }) =>
    modelRoute(name, { models: [name], backends: [{ name: 'br', adapter: 'bedrock', url: fake.url, model: 'us.anthropic.claude-sonnet-4-20250514-v1:0', ...(credentialsRef ? { credentialsRef } : {}) }], retry: { attempts: 0 } });
  proxy = await startInProcess(toYaml(
    tenantWithKeys('t', { k: KEY }),
    secret('br-key', { stringData: { key: fake.credential } }),
    secret('br-wrong', { stringData: { key: JSON.stringify({ ...BEDROCK_TEST_CREDENTIALS, secretAccessKey: 'not-the-secret' }) } }),
    route('br-api-key', { name: 'br-key', key: 'key' }),
    route('br-default-chain'),
    route('br-wrong-secret', { name: 'br-wrong', key: 'key' }),
  ));
  client = proxy.client(KEY);
});

afterAll(async () => {
  await proxy?.stop();
  await fake?.close();
  for (const k of ENV) {
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
});

describe('bedrock credentials through the proxy', () => {
  it('sends a Bedrock API key as Authorization: Bearer, JSON and stream', async () => {
    const r = await client.chat.completions.create({ model: 'br-api-key', messages: [{ role: 'user', content: 'hi' }] });
    expect(r.choices[0]!.message.content).toBe('Hello from bedrock: hi');
    expect(fake.requests.at(-1)!.headers.authorization).toBe(`Bearer ${fake.credential}`);
    const final = await client.chat.completions.stream({ model: 'br-api-key', messages: [{ role: 'user', content: 'stream me' }] }).finalChatCompletion();
    expect(final.choices[0]!.message.content).toBe('Hello from bedrock: stream me');
  });

  it('signs with the AWS default credential chain when the backend has no credentialsRef', async () => {
    const r = await client.chat.completions.create({ model: 'br-default-chain', messages: [{ role: 'user', content: 'hi' }] });
    expect(r.choices[0]!.message.content).toBe('Hello from bedrock: hi');
    expect(fake.requests.at(-1)!.headers.authorization).toMatch(new RegExp(`^AWS4-HMAC-SHA256 Credential=${BEDROCK_TEST_CREDENTIALS.accessKeyId}/\\d{8}/us-east-1/bedrock/aws4_request`));
    expect(fake.requests.at(-1)!.path).toBe('/model/us.anthropic.claude-sonnet-4-20250514-v1%3A0/converse');
  });

  it('answers a signature Bedrock refuses as the gateway credential failing (502 upstream_auth_failed), never echoing the secret', async () => {
    const e = (await client.chat.completions.create({ model: 'br-wrong-secret', messages: [{ role: 'user', content: 'hi' }] }).catch((x: unknown) => x)) as InstanceType<typeof OpenAI.APIError>;
    expect(e).toBeInstanceOf(OpenAI.APIError);
    expect(e.status).toBe(502);
    expect(e.code).toBe('upstream_auth_failed');
    expect(e.message).toContain('signature we calculated does not match');
    expect(e.message).not.toContain('not-the-secret');
  });
});
