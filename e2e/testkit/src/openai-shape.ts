// Structural comparison of OpenAI payloads: the same keys with the same JSON types,
// values ignored. Used to hold the fake backend (and the proxy's output) to the
// formats recorded in e2e/testkit/testdata/fixtures/openai/.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export type Shape = string | Shape[] | { [key: string]: Shape };

/** The JSON type tree of a value; arrays are described by their first element. */
export function shapeOf(v: unknown): Shape {
  if (v === null) return 'null';
  if (Array.isArray(v)) return v.length === 0 ? [] : [shapeOf(v[0])];
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    const out: { [key: string]: Shape } = {};
    for (const k of Object.keys(o).sort()) out[k] = shapeOf(o[k]);
    return out;
  }
  return typeof v;
}

export interface Fixture {
  description: string;
  source: string;
  request: { method: string; path: string; body?: Record<string, unknown> };
  response: {
    status: number;
    headers: Record<string, string>;
    body?: unknown;
    /** SSE data payloads in order: chunk objects, then the string "[DONE]". */
    events?: unknown[];
  };
}

const FIXTURES_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'testdata', 'fixtures', 'openai');

export function loadFixture(name: string): Fixture {
  return JSON.parse(readFileSync(join(FIXTURES_DIR, `${name}.json`), 'utf8')) as Fixture;
}

/** Parses an SSE body into its data payloads (JSON objects, or the raw text such as "[DONE]"). */
export function parseSse(text: string): unknown[] {
  const out: unknown[] = [];
  for (const block of text.split(/\r?\n\r?\n/)) {
    const data = block
      .split(/\r?\n/)
      .filter((l) => l.startsWith('data:'))
      .map((l) => l.slice(5).replace(/^ /, ''))
      .join('\n');
    if (data === '') continue;
    try {
      out.push(JSON.parse(data));
    } catch {
      out.push(data);
    }
  }
  return out;
}

export type ChunkKind = 'role' | 'content' | 'finish' | 'usage' | 'done' | 'error' | 'other';

/** Classifies a chat.completion.chunk payload by its role in the stream. */
export function chunkKind(ev: unknown): ChunkKind {
  if (ev === '[DONE]') return 'done';
  if (typeof ev !== 'object' || ev === null) return 'other';
  const o = ev as Record<string, unknown>;
  if ('error' in o) return 'error';
  const choices = o['choices'];
  if (Array.isArray(choices) && choices.length === 0) return 'usage';
  const c = Array.isArray(choices) ? (choices[0] as Record<string, unknown> | undefined) : undefined;
  if (!c) return 'other';
  if (c['finish_reason'] != null) return 'finish';
  const delta = c['delta'] as Record<string, unknown> | undefined;
  if (delta && 'role' in delta) return 'role';
  if (delta && 'content' in delta) return 'content';
  return 'other';
}
