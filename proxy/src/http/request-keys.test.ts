import { describe, expect, it } from 'vitest';
import { prefixKey } from './request-keys.ts';

const SYSTEM = 'You are a careful SQL assistant. '.repeat(20); // 660 characters

describe('prefixKey (LoadAware prefix affinity)', () => {
  it('chat: the system prompt and earlier turns, not the last message, cut to whole blocks (blockSize), at most maxBlocks', () => {
    const a = prefixKey({ messages: [{ role: 'system', content: SYSTEM }, { role: 'user', content: 'list the tables' }] }, 256, 8);
    const b = prefixKey({ messages: [{ role: 'system', content: SYSTEM }, { role: 'user', content: 'drop nothing, count rows' }] }, 256, 8);
    expect(a).toBe(b);
    expect(a.length).toBe(512);
    expect(prefixKey({ messages: [{ role: 'system', content: SYSTEM }, { role: 'user', content: 'q' }] }, 64, 3).length).toBe(192);
    // The next turn of a conversation shares the earlier one's key when the shared part fills maxBlocks.
    const turn2 = prefixKey({ messages: [{ role: 'system', content: SYSTEM }, { role: 'user', content: 'list the tables' }, { role: 'assistant', content: 'users, orders' }, { role: 'user', content: 'and?' }] }, 256, 2);
    expect(turn2).toBe(prefixKey({ messages: [{ role: 'system', content: SYSTEM }, { role: 'user', content: 'x' }] }, 256, 2));
  });

  it('text parts count; a prompt shorter than one block has no key', () => {
    const parts = prefixKey({ messages: [{ role: 'system', content: [{ type: 'text', text: SYSTEM }] }, { role: 'user', content: 'q' }] }, 256, 8);
    expect(parts).toBe(prefixKey({ messages: [{ role: 'system', content: SYSTEM }, { role: 'user', content: 'z' }] }, 256, 8));
    expect(prefixKey({ messages: [{ role: 'system', content: 'short' }, { role: 'user', content: 'q' }] }, 256, 8)).toBe('');
    expect(prefixKey({ messages: [] }, 256, 8)).toBe('');
  });

  it('a lone message, a completion prompt and the Responses API\'s instructions and input items', () => {
    expect(prefixKey({ messages: [{ role: 'user', content: SYSTEM }] }, 256, 8).length).toBe(512);
    expect(prefixKey({ prompt: SYSTEM }, 256, 1)).toBe(SYSTEM.slice(0, 256));
    const r1 = prefixKey({ instructions: SYSTEM, input: 'first question' }, 256, 8);
    const r2 = prefixKey({ instructions: SYSTEM, input: 'second question' }, 256, 8);
    expect(r1).toBe(r2);
    expect(r1.length).toBe(512);
  });
});
