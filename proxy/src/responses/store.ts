// Responses the gateway keeps itself: those of the Responses API served through chat (a backend
// that does not serve the Responses API keeps nothing), so that `previous_response_id`, GET,
// DELETE and input_items work on them as on OpenAI. Each is kept in this replica's memory, bounded
// by bytes (the least recently used go first) and by age; with Redis configured, also in Redis
// under the same age, so any replica finds it. Their ids carry a prefix of their own (`resp_jrg`),
// told apart from the ids of responses a backend keeps (ids.ts) without a lookup.
import { randomBytes } from 'node:crypto';

type Json = Record<string, unknown>;

export const KEPT_PREFIX = 'resp_jrg';

export const newKeptId = (): string => KEPT_PREFIX + randomBytes(16).toString('hex');
export const isKeptId = (id: string): boolean => id.startsWith(KEPT_PREFIX) && id.length <= 64;

/** One kept response. */
export interface KeptResponse {
  /** The Tenant that created it: to any other, it does not exist. */
  readonly tenant: string;
  /** The Response object as the client received it (masked when the tenant masks responses). */
  readonly response: Json;
  /** The whole input the backend saw, earlier turns included, as input items with ids. */
  readonly input: Json[];
  /** Where this request's own input starts in `input` (what input_items lists). */
  readonly ownFrom: number;
}

/** Where kept responses live. Reads and writes never throw: a store that cannot answer has nothing. */
export interface ResponseStore {
  get(id: string): Promise<KeptResponse | null>;
  /** False when it was not kept (larger than the store, or the store is off). */
  put(id: string, r: KeptResponse): Promise<boolean>;
  delete(id: string): Promise<boolean>;
}

/** What a shared store needs of Redis (limits/redis.ts gives it): strings with a time to live. */
export interface KeyValue {
  /** The value, or null when absent; undefined when Redis did not answer. */
  get(key: string): Promise<string | null | undefined>;
  set(key: string, value: string, ttlMs: number): Promise<boolean>;
  /** Whether a key was removed; undefined when Redis did not answer. */
  del(key: string): Promise<boolean | undefined>;
}

export interface StoreOptions {
  /** How long a response is kept after it was created. */
  ttlMs: number;
  /** The most this replica holds in memory, in bytes of JSON; 0 = keep nothing. */
  maxBytes: number;
  now?: () => number;
}

/** What --response-store-ttl and --response-store-max-bytes default to (config.ts: 1h, 64MiB). */
export const DEFAULT_STORE_OPTIONS: Readonly<StoreOptions> = Object.freeze({ ttlMs: 3_600_000, maxBytes: 64 * 1024 ** 2 });

interface Entry {
  json: string;
  expires: number;
}

/** This replica's memory: a Map in least-recently-used order, bounded by bytes and age. */
export class MemoryResponseStore implements ResponseStore {
  readonly #entries = new Map<string, Entry>();
  readonly #opts: StoreOptions;
  readonly #now: () => number;
  #bytes = 0;

  constructor(opts: StoreOptions) {
    this.#opts = opts;
    this.#now = opts.now ?? Date.now;
  }

  /** Bytes held (the JSON of the kept responses). */
  get bytes(): number {
    return this.#bytes;
  }

  get size(): number {
    return this.#entries.size;
  }

  get ttlMs(): number {
    return this.#opts.ttlMs;
  }

  async get(id: string): Promise<KeptResponse | null> {
    const json = this.getJson(id);
    return json === null ? null : (JSON.parse(json) as KeptResponse);
  }

  /** The kept JSON, refreshed as recently used; null when absent or too old. */
  getJson(id: string): string | null {
    const e = this.#entries.get(id);
    if (e === undefined) return null;
    this.#entries.delete(id);
    if (e.expires <= this.#now()) {
      this.#bytes -= e.json.length;
      return null;
    }
    this.#entries.set(id, e);
    return e.json;
  }

  async put(id: string, r: KeptResponse): Promise<boolean> {
    return this.putJson(id, JSON.stringify(r), this.#now() + this.#opts.ttlMs);
  }

  putJson(id: string, json: string, expires: number): boolean {
    this.#remove(id);
    if (json.length > this.#opts.maxBytes) return false;
    this.#entries.set(id, { json, expires });
    this.#bytes += json.length;
    const now = this.#now();
    // Oldest use first: expired entries and, while over the bound, the least recently used.
    for (const [k, e] of this.#entries) {
      if (this.#bytes <= this.#opts.maxBytes && e.expires > now) break;
      if (k === id) continue;
      this.#remove(k);
    }
    return true;
  }

  async delete(id: string): Promise<boolean> {
    const e = this.#entries.get(id);
    this.#remove(id);
    return e !== undefined && e.expires > this.#now();
  }

  #remove(id: string): void {
    const e = this.#entries.get(id);
    if (e === undefined) return;
    this.#entries.delete(id);
    this.#bytes -= e.json.length;
  }
}

const redisKey = (id: string) => `jr:resp:${id}`;

/**
 * Redis, with this replica's memory as the fallback while Redis does not answer. Redis is read
 * first, so a response deleted through another replica is gone here too; a write in flight on
 * this replica is awaited before a read of the same id, so a client that continues a
 * conversation at once finds its last turn.
 */
export class SharedResponseStore implements ResponseStore {
  readonly #memory: MemoryResponseStore;
  readonly #redis: KeyValue;
  readonly #onError: (what: 'get' | 'set' | 'delete') => void;
  readonly #writing = new Map<string, Promise<boolean>>();

  constructor(memory: MemoryResponseStore, redis: KeyValue, onError: (what: 'get' | 'set' | 'delete') => void) {
    this.#memory = memory;
    this.#redis = redis;
    this.#onError = onError;
  }

  async get(id: string): Promise<KeptResponse | null> {
    await this.#writing.get(id);
    const json = await this.#redis.get(redisKey(id));
    if (json === undefined) {
      this.#onError('get');
      return this.#memory.get(id);
    }
    if (json === null) return null;
    try {
      return JSON.parse(json) as KeptResponse;
    } catch {
      return null;
    }
  }

  put(id: string, r: KeptResponse): Promise<boolean> {
    const json = JSON.stringify(r);
    const local = this.#memory.putJson(id, json, Date.now() + this.#memory.ttlMs);
    const write = this.#redis.set(redisKey(id), json, this.#memory.ttlMs).then((shared) => {
      this.#writing.delete(id);
      if (!shared) this.#onError('set');
      return local || shared;
    });
    this.#writing.set(id, write);
    return write;
  }

  async delete(id: string): Promise<boolean> {
    await this.#writing.get(id);
    const local = await this.#memory.delete(id);
    const shared = await this.#redis.del(redisKey(id));
    if (shared === undefined) this.#onError('delete');
    return local || shared === true;
  }
}
