import { openAICompatible } from './openai-compatible.ts';
import { UnsupportedRequest, type Adapter, type ClientRequest } from './types.ts';
import { HunyuanNativeTranslator, nativeToUpstream } from './hunyuan/native.ts';
import { DashScopeNativeTranslator, dashScopeNativeToUpstream } from './dashscope/native.ts';

/**
 * Hosted providers that speak the OpenAI API at the backend's url (Bearer credential), with the
 * differences that change an answer handled here. Hunyuan's native API (TC3-signed
 * ChatCompletions, `options.api: native`) is in hunyuan/native.ts, DashScope's native
 * text-generation API in dashscope/native.ts.
 */

/**
 * Qwen's hybrid thinking models switch reasoning with `enable_thinking`, not `reasoning_effort`
 * (which DashScope and Hunyuan ignore): an effort asks for thinking, `none` turns it off. A
 * client that set `enable_thinking` itself keeps its value.
 */
function thinkingSwitch(req: ClientRequest): Record<string, unknown> | null {
  const effort = req.body.reasoning_effort;
  if (effort === undefined) return null;
  const changes: Record<string, unknown> = { reasoning_effort: undefined };
  if (req.body.enable_thinking === undefined && effort !== null) changes.enable_thinking = effort !== 'none';
  return changes;
}

/** Hugging Face Inference Providers (router), TGI and TEI: the OpenAI API as is. */
export function huggingFace(): Adapter {
  return openAICompatible('huggingface');
}

/**
 * Alibaba Cloud Model Studio (DashScope): compatible mode by default; `options.api: native`
 * calls the text-generation API instead (dashscope/native.ts). `now` is the clock for `created`.
 */
export function dashScope(now: () => number = Date.now): Adapter {
  const compatible = openAICompatible('dashscope', { adjust: (req) => (req.operation === 'chat' ? thinkingSwitch(req) : null) });
  return {
    ...compatible,
    toUpstream: (req, backend, basePath, origin) => (backend.options.api === 'native' ? dashScopeNativeToUpstream(req, backend, compatible.authHeaders(backend)) : compatible.toUpstream(req, backend, basePath, origin)),
    translator: (req, backend) => (backend.options.api === 'native' ? new DashScopeNativeTranslator(req, backend.model ?? req.model, Math.floor(now() / 1000)) : compatible.translator(req, backend)),
  };
}

/**
 * Tencent Hunyuan: the OpenAI-compatible endpoint by default, with one choice per answer (its
 * ChatCompletions has no `n`) and no log probabilities, so a request for either is refused
 * rather than answered without them; `options.api: native` calls the Tencent Cloud API
 * ChatCompletions action instead (hunyuan/native.ts). `now` is the clock that dates signatures
 * and `created`.
 */
export function hunyuan(now: () => number = Date.now): Adapter {
  const compatible = openAICompatible('hunyuan', {
    adjust: (req) => {
      if (req.operation !== 'chat') return null;
      const n = req.body.n;
      if (typeof n === 'number' && n > 1) throw new UnsupportedRequest('n', `n: the hunyuan adapter answers with one choice, so n=${n} cannot be honoured`);
      if (req.body.logprobs === true) throw new UnsupportedRequest('logprobs', 'logprobs: the hunyuan adapter cannot return log probabilities');
      return thinkingSwitch(req);
    },
  });
  return {
    ...compatible,
    toUpstream: (req, backend, basePath, origin) => (backend.options.api === 'native' ? nativeToUpstream(req, backend, basePath, origin, now) : compatible.toUpstream(req, backend, basePath, origin)),
    // A native request is signed over its body: health probes get no credential header.
    authHeaders: (backend) => (backend.options.api === 'native' ? {} : compatible.authHeaders(backend)),
    translator: (req, backend) => (backend.options.api === 'native' ? new HunyuanNativeTranslator(req, backend.model ?? req.model, Math.floor(now() / 1000)) : compatible.translator(req, backend)),
  };
}
