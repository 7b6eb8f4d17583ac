// The Responses API's state the gateway keeps itself, for the answers of backends served through
// chat (responses/kept.ts, responses/store.ts): continuing a kept response, and GET, DELETE,
// input_items and cancel on one.
import type { Logger } from '../telemetry/logger.ts';
import type { ApiError } from '../api/errors.ts';
import type { Exchange } from '../exchange.ts';
import { maskResponseObject } from '../masking/response-responses.ts';
import { continueConversation, keptAnswer, keptRecord, previousNotFound } from '../responses/kept.ts';
import { isKeptId, newKeptId, type ResponseStore } from '../responses/store.ts';

export function keptResponses(responses: ResponseStore | null, log: Logger, reject: (ex: Exchange, e: ApiError) => void, finish: (ex: Exchange) => void) {
  /**
   * The Responses API's state the gateway keeps (responses/kept.ts): a request continuing a kept
   * response gets its turns replayed, and the answer of a chat-served backend is kept unless the
   * request says store: false. The new body when it changed, null when not, false once answered.
   */
  async function continued(ex: Exchange, b: Record<string, unknown>): Promise<Buffer | null | false> {
    const tenant = ex.identity!.tenant;
    const prev = typeof b.previous_response_id === 'string' && isKeptId(b.previous_response_id) ? b.previous_response_id : null;
    let ownFrom = 0;
    if (prev !== null) {
      const kept = responses === null ? null : await responses.get(prev);
      if (kept === null || kept.tenant !== tenant.id) {
        reject(ex, previousNotFound(prev));
        return false;
      }
      ownFrom = continueConversation(b, kept);
    }
    const store = b.store === false ? null : responses;
    const id = store === null ? null : newKeptId();
    ex.keep = {
      id,
      previous: prev,
      save: (response) => {
        if (store === null || id === null) return;
        // Kept as the client received it.
        const masker = tenant.maskResponses;
        if (masker !== null) maskResponseObject(response, (t) => masker.mask(t).text);
        void store.put(id, keptRecord(tenant.id, response, ex.client!.body.input, ownFrom)).then((ok) => {
          if (!ok) log.warn({ requestId: ex.requestId, response: id }, 'response not kept: larger than --response-store-max-bytes, and Redis (if any) did not take it');
        });
      },
    };
    return prev === null ? null : Buffer.from(JSON.stringify(b));
  }

  /** GET, DELETE, input_items and cancel on a response the gateway keeps. */
  async function answer(ex: Exchange, ask: { id: string; suffix: '' | '/cancel' | '/input_items'; method: 'GET' | 'POST' | 'DELETE' }): Promise<void> {
    const q = ex.req.url!.indexOf('?');
    const kept = responses === null ? null : await responses.get(ask.id);
    const r = keptAnswer(ask.id, ask, new URLSearchParams(q < 0 ? '' : ex.req.url!.slice(q + 1)), kept, ex.identity!.tenant.id);
    if ('status' in r) return reject(ex, r);
    if ('delete' in r) await responses!.delete(ask.id);
    ex.out.json(200, JSON.stringify('delete' in r ? r.delete : r.body));
    finish(ex);
  }

  return { continued, answer };
}
