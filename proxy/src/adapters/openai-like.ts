import { openAICompatible } from './openai-compatible.ts';
import { UnsupportedRequest, type Adapter, type ClientRequest } from './types.ts';

/**
 * Hosted providers that speak the OpenAI API at the backend's url (Bearer credential), with the
 * differences that change an answer handled here. Their native APIs (DashScope text-generation,
 * Hunyuan's TC3-signed ChatCompletions) are not implemented: compile() refuses `options.api`.
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

/** Alibaba Cloud Model Studio (DashScope) compatible mode. */
export function dashScope(): Adapter {
  return openAICompatible('dashscope', { adjust: (req) => (req.operation === 'chat' ? thinkingSwitch(req) : null) });
}

/**
 * Tencent Hunyuan's OpenAI-compatible endpoint: one choice per answer (its ChatCompletions has
 * no `n`) and no log probabilities, so a request for either is refused rather than answered
 * without them.
 */
export function hunyuan(): Adapter {
  return openAICompatible('hunyuan', {
    adjust: (req) => {
      if (req.operation !== 'chat') return null;
      const n = req.body.n;
      if (typeof n === 'number' && n > 1) throw new UnsupportedRequest('n', `n: the hunyuan adapter answers with one choice, so n=${n} cannot be honoured`);
      if (req.body.logprobs === true) throw new UnsupportedRequest('logprobs', 'logprobs: the hunyuan adapter cannot return log probabilities');
      return thinkingSwitch(req);
    },
  });
}
