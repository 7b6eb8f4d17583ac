import { describe, expect, it } from 'vitest';
import { parseOptions } from '../config.ts';
import { DEFAULT_STORE_OPTIONS, MemoryResponseStore, SharedResponseStore, isKeptId, newKeptId, type KeptResponse, type KeyValue } from './store.ts';

const record = (text: string, tenant = 'ai/acme'): KeptResponse => ({ tenant, response: { id: 'r', output: [{ type: 'message', content: [{ type: 'output_text', text }] }] }, input: [], ownFrom: 0 });
const size = (r: KeptResponse) => JSON.stringify(r).length;

describe('the store\'s defaults', () => {
  it('are what --response-store-ttl and --response-store-max-bytes default to, so a server built without a store keeps answers as the binary does', () => {
    const opts = parseOptions(['--config', 'x.yaml'], {});
    if (opts === 'help') throw new Error('unexpected help');
    expect({ ttlMs: opts.responseStoreTtlMs, maxBytes: opts.responseStoreMaxBytes }).toEqual(DEFAULT_STORE_OPTIONS);
  });
});

describe('kept response ids', () => {
  it('carry their own prefix, unlike a backend\'s ids and the encoded ones', () => {
    const id = newKeptId();
    expect(id).toMatch(/^resp_jrg[0-9a-f]{32}$/);
    expect(isKeptId(id)).toBe(true);
    expect(newKeptId()).not.toBe(id);
    expect(isKeptId('resp_abc')).toBe(false);
    expect(isKeptId('resp_jr1eyJhIjoxfQ')).toBe(false);
    expect(isKeptId('resp_jrg' + 'x'.repeat(100))).toBe(false);
  });
});

describe('MemoryResponseStore', () => {
  it('gives back what it kept, until its time is up', async () => {
    let now = 1_000;
    const s = new MemoryResponseStore({ ttlMs: 60_000, maxBytes: 1 << 20, now: () => now });
    expect(await s.put('a', record('one'))).toBe(true);
    expect(await s.get('a')).toEqual(record('one'));
    now += 59_999;
    expect(await s.get('a')).not.toBeNull();
    now += 1;
    expect(await s.get('a')).toBeNull();
    expect(s.bytes).toBe(0);
    expect(s.size).toBe(0);
  });

  it('stays within its bytes: the least recently used go first, a read counts as a use', async () => {
    const one = size(record('aaaa'));
    const s = new MemoryResponseStore({ ttlMs: 60_000, maxBytes: one * 3 });
    await s.put('a', record('aaaa'));
    await s.put('b', record('bbbb'));
    await s.put('c', record('cccc'));
    await s.get('a');
    await s.put('d', record('dddd'));
    expect(await s.get('b')).toBeNull();
    for (const k of ['a', 'c', 'd']) expect(await s.get(k)).not.toBeNull();
    expect(s.bytes).toBe(one * 3);
  });

  it('a response larger than the whole store is not kept, and takes nothing else with it', async () => {
    const s = new MemoryResponseStore({ ttlMs: 60_000, maxBytes: 200 });
    await s.put('small', record('x'));
    expect(await s.put('big', record('y'.repeat(300)))).toBe(false);
    expect(await s.get('big')).toBeNull();
    expect(await s.get('small')).not.toBeNull();
  });

  it('delete says whether there was one; replacing an id counts its bytes once', async () => {
    const s = new MemoryResponseStore({ ttlMs: 60_000, maxBytes: 1 << 20 });
    await s.put('a', record('one'));
    await s.put('a', record('two'));
    expect(s.bytes).toBe(size(record('two')));
    expect(await s.delete('a')).toBe(true);
    expect(await s.delete('a')).toBe(false);
    expect(s.bytes).toBe(0);
  });

  it('maxBytes 0 keeps nothing', async () => {
    const s = new MemoryResponseStore({ ttlMs: 60_000, maxBytes: 0 });
    expect(await s.put('a', record('one'))).toBe(false);
    expect(await s.get('a')).toBeNull();
  });
});

/** A Redis stand-in: a Map, or no answer at all while `down`. */
class FakeKv implements KeyValue {
  readonly map = new Map<string, { v: string; ttl: number }>();
  down = false;
  /** Holds every set until release() (a write in flight). */
  held: (() => void)[] | null = null;
  async get(k: string) {
    return this.down ? undefined : (this.map.get(k)?.v ?? null);
  }
  async set(k: string, v: string, ttl: number) {
    if (this.held) await new Promise<void>((r) => this.held!.push(r));
    if (this.down) return false;
    this.map.set(k, { v, ttl });
    return true;
  }
  async del(k: string) {
    return this.down ? undefined : this.map.delete(k);
  }
}

describe('SharedResponseStore', () => {
  const make = () => {
    const kv = new FakeKv();
    const errors: string[] = [];
    const memory = new MemoryResponseStore({ ttlMs: 3_600_000, maxBytes: 1 << 20 });
    return { kv, errors, memory, store: new SharedResponseStore(memory, kv, (w) => errors.push(w)) };
  };

  it('writes to Redis with the time to live, under a key of its own; another replica reads it there', async () => {
    const { kv, store } = make();
    await store.put('resp_jrg1', record('one'));
    expect(kv.map.get('jr:resp:resp_jrg1')?.ttl).toBe(3_600_000);
    const other = new SharedResponseStore(new MemoryResponseStore({ ttlMs: 3_600_000, maxBytes: 1 << 20 }), kv, () => {});
    expect(await other.get('resp_jrg1')).toEqual(record('one'));
  });

  it('a delete through another replica is seen here: Redis is read first', async () => {
    const { kv, store } = make();
    await store.put('r', record('one'));
    const other = new SharedResponseStore(new MemoryResponseStore({ ttlMs: 3_600_000, maxBytes: 1 << 20 }), kv, () => {});
    expect(await other.delete('r')).toBe(true);
    expect(await store.get('r')).toBeNull();
  });

  it('while Redis does not answer, this replica\'s memory serves what it kept, and the failures are reported', async () => {
    const { kv, store, errors } = make();
    kv.down = true;
    expect(await store.put('r', record('one'))).toBe(true);
    expect(await store.get('r')).toEqual(record('one'));
    expect(await store.get('unknown')).toBeNull();
    expect(errors).toEqual(['set', 'get', 'get']);
  });

  it('a read waits for this replica\'s write of the same id still in flight', async () => {
    const { kv, store } = make();
    kv.held = [];
    const put = store.put('r', record('one'));
    const got = store.get('r');
    await Promise.resolve();
    expect(kv.map.size).toBe(0);
    const release = kv.held;
    kv.held = null;
    for (const r of release) r();
    expect(await got).toEqual(record('one'));
    expect(await put).toBe(true);
  });
});
