import { describe, expect, it } from 'vitest';
import type { ClientRequest } from '../adapters/types.ts';
import { Masker } from '../masking/masker.ts';
import { maskRequest } from './mask-request.ts';

const masker = new Masker([{ builtin: 'email' }]);

describe('maskRequest', () => {
  it('masks the Anthropic request as it came too (what an anthropic backend is sent), tool_use inputs included', () => {
    const anthropic = { model: 'm', system: [{ type: 'text', text: 'a@b.example' }], messages: [{ role: 'assistant', content: [{ type: 'tool_use', id: 't', name: 'f', input: { to: ['c@d.example'] } }] }] };
    const openai = { model: 'm', messages: [{ role: 'system', content: 'a@b.example' }] };
    const client = {
      operation: 'chat', raw: Buffer.from(JSON.stringify(openai)), body: openai, model: 'm', stream: false, clientWantsUsage: false, requestId: 'r',
      ingress: { schema: 'anthropic', raw: Buffer.from(JSON.stringify(anthropic)), body: anthropic, version: undefined, beta: undefined, untranslatable: undefined },
    } as ClientRequest;
    const counts: Record<string, number> = {};
    const out = maskRequest(client, masker, counts);
    expect(out.raw.toString()).not.toContain('@');
    expect(out.ingress!.raw.toString()).not.toContain('@');
    expect(JSON.parse(out.ingress!.raw.toString()).messages[0].content[0].input).toEqual({ to: ['[MASKED:email]'] });
    expect(counts).toEqual({ email: 3 });
  });

  it('returns the very same request when nothing matches', () => {
    const body = { model: 'm', messages: [{ role: 'user', content: 'nothing here' }] };
    const client = { operation: 'chat', raw: Buffer.from(JSON.stringify(body)), body, model: 'm', stream: false, clientWantsUsage: false, requestId: 'r' } as ClientRequest;
    expect(maskRequest(client, masker, {})).toBe(client);
  });
});
