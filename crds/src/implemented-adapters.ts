import type { Adapter } from './api/model-route.ts';

/** One key of `backends[].options` that an adapter reads. */
export interface AdapterOption {
  /** The key; `header.<Name>` stands for every key that starts with `header.`. */
  key: string;
  /** `string`: the value must be a string; `scalar`: a string, number or boolean, sent as text. */
  type: 'string' | 'scalar';
  /** What the value ends up as in the upstream request, which decides the characters it may hold (`text`: neither header name nor value, e.g. a region or an API version). */
  becomes: 'header-name' | 'header-value' | 'text';
  /** What it does; no "(default ...)": the reference doc would read that as the map's default. */
  description: string;
  /** The adapter cannot build a request without it: compile() refuses a backend that lacks it (reason InvalidOption). */
  required?: true;
  /** The only values the adapter understands: compile() refuses any other (reason InvalidOption). */
  values?: readonly string[];
  /** Read only when another option has this value: compile() refuses it otherwise (reason InvalidOption). */
  onlyWith?: { key: string; value: string };
}

/**
 * What proxy/src/adapters/openai-compatible.ts reads. compile() refuses every other key
 * (reason UnsupportedOption) and values the adapter would ignore or could not send (reason
 * InvalidOption), so no option is accepted and then silently ignored; the proxy's
 * spec-fields test shows each key below reaching the upstream request.
 */
export const OPENAI_COMPATIBLE_OPTIONS: readonly AdapterOption[] = [
  { key: 'authHeader', type: 'string', becomes: 'header-name', description: 'the header that carries the credential, authorization when unset' },
  { key: 'authPrefix', type: 'string', becomes: 'header-value', description: 'text put before the credential, "Bearer " in authorization and nothing in another header when unset' },
  { key: 'organization', type: 'string', becomes: 'header-value', description: 'sent as the OpenAI-Organization header' },
  { key: 'project', type: 'string', becomes: 'header-value', description: 'sent as the OpenAI-Project header' },
  { key: 'header.<Name>', type: 'scalar', becomes: 'header-value', description: 'a static header <Name> sent with every request' },
];

/** What proxy/src/adapters/anthropic/adapter.ts reads. */
export const ANTHROPIC_OPTIONS: readonly AdapterOption[] = [
  { key: 'anthropicVersion', type: 'string', becomes: 'header-value', description: 'sent as the anthropic-version header, 2023-06-01 when unset' },
  { key: 'beta', type: 'string', becomes: 'header-value', description: 'sent as the anthropic-beta header (comma-separated beta feature names)' },
];

/** The credential header options and static headers, for providers reached with a Bearer token by default. */
const BEARER_OPTIONS: readonly AdapterOption[] = OPENAI_COMPATIBLE_OPTIONS.filter((o) => o.key !== 'organization' && o.key !== 'project');

/** What proxy/src/adapters/azure-openai.ts reads. */
export const AZURE_OPENAI_OPTIONS: readonly AdapterOption[] = [
  { key: 'apiVersion', type: 'string', becomes: 'text', required: true, description: 'the api-version query parameter (e.g. 2024-10-21); v1 calls the v1 API ({url}/openai/v1, the model in the body) instead of a deployment' },
  { key: 'authHeader', type: 'string', becomes: 'header-name', description: 'the header that carries the credential, api-key when unset (authorization for a Microsoft Entra ID token)' },
  { key: 'authPrefix', type: 'string', becomes: 'header-value', description: 'text put before the credential, "Bearer " in authorization and nothing in another header when unset' },
  { key: 'header.<Name>', type: 'scalar', becomes: 'header-value', description: 'a static header <Name> sent with every request' },
];

/** What proxy/src/adapters/cohere/ reads: the credential always goes as a Bearer token. */
const COHERE_OPTIONS: readonly AdapterOption[] = [
  { key: 'header.<Name>', type: 'scalar', becomes: 'header-value', description: 'a static header <Name> sent with every request (e.g. X-Client-Name)' },
];

/** What proxy/src/adapters/gemini/adapter.ts reads. */
export const GEMINI_OPTIONS: readonly AdapterOption[] = [
  { key: 'apiVersion', type: 'string', becomes: 'text', description: 'the Gemini API version in the request path: v1beta when unset, or v1' },
];

/** What proxy/src/adapters/bedrock/adapter.ts reads; the credential's form picks SigV4 or a Bedrock API key. */
export const BEDROCK_OPTIONS: readonly AdapterOption[] = [
  { key: 'region', type: 'string', becomes: 'text', description: 'the AWS region requests are signed for (SigV4), e.g. eu-west-1; read from a bedrock-runtime.<region>.amazonaws.com url when unset, us-east-1 otherwise' },
];

/** What proxy/src/adapters/openai-like.ts (hunyuan) reads: the Bearer options for the compatible API, api and region for the native one. */
const HUNYUAN_OPTIONS: readonly AdapterOption[] = [
  ...BEARER_OPTIONS,
  { key: 'api', type: 'string', becomes: 'text', values: ['compatible', 'native'], description: 'compatible: the OpenAI-compatible endpoint at the url (Bearer credential); native: the Tencent Cloud API ChatCompletions action (version 2023-09-01) at the url, TC3-HMAC-SHA256-signed with a credential {"secretId","secretKey"}; compatible when unset' },
  { key: 'region', type: 'string', becomes: 'text', onlyWith: { key: 'api', value: 'native' }, description: 'native API only: sent as the X-TC-Region header, e.g. ap-guangzhou; not sent when unset' },
];

/** What proxy/src/adapters/openai-like.ts (dashscope) reads: the Bearer options for compatible mode, api to pick the native API. */
const DASHSCOPE_OPTIONS: readonly AdapterOption[] = [
  ...BEARER_OPTIONS,
  { key: 'api', type: 'string', becomes: 'text', values: ['compatible', 'native'], description: 'compatible: the OpenAI-compatible mode at the url; native: the text-generation API at the url\'s origin (/api/v1/services/aigc/text-generation/generation), Bearer credential; compatible when unset' },
];

/**
 * The adapters the proxy of this release implements, each with the option keys it reads. The
 * schema names every provider the API will support; a backend whose adapter is not here yet
 * is reported by compile() (reason UnsupportedAdapter) instead of being silently skipped by
 * the proxy. The proxy has a test that its adapter registry matches these keys.
 */
export const ADAPTER_OPTIONS: Readonly<Partial<Record<Adapter, readonly AdapterOption[]>>> = {
  openai: OPENAI_COMPATIBLE_OPTIONS,
  vllm: OPENAI_COMPATIBLE_OPTIONS,
  ollama: OPENAI_COMPATIBLE_OPTIONS,
  xinference: OPENAI_COMPATIBLE_OPTIONS,
  localai: OPENAI_COMPATIBLE_OPTIONS,
  gpustack: OPENAI_COMPATIBLE_OPTIONS,
  gemini: GEMINI_OPTIONS,
  'azure-openai': AZURE_OPENAI_OPTIONS,
  huggingface: BEARER_OPTIONS,
  dashscope: DASHSCOPE_OPTIONS,
  hunyuan: HUNYUAN_OPTIONS,
  cohere: COHERE_OPTIONS,
  anthropic: ANTHROPIC_OPTIONS,
  bedrock: BEDROCK_OPTIONS,
};

export const IMPLEMENTED_ADAPTERS: readonly Adapter[] = Object.keys(ADAPTER_OPTIONS) as Adapter[];

/** The documented option that `key` is, if any (`header.X-Team` is `header.<Name>`). */
export function findAdapterOption(options: readonly AdapterOption[], key: string): AdapterOption | undefined {
  return options.find((o) => (o.key.endsWith('<Name>') ? key.startsWith(o.key.slice(0, -'<Name>'.length)) : key === o.key));
}
