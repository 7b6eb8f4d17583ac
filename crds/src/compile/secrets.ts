import { isRecord } from '../canonical-json.ts';
import type { KubeObject } from '../resources.ts';
import { prepare } from './objects.ts';
import { compareStrings } from './order.ts';
import type { Problem } from './status.ts';

/** One data/stringData entry of a Secret, decoded; `invalid` says why it cannot be used. */
export type SecretEntry = { key: string; value: string } | { key: string; invalid: string };

type IndexedSecret = { conflicting: true } | { conflicting: false; entries: Map<string, SecretEntry>; annotations: Readonly<Record<string, string>> };

/** Secrets by `namespace/name`. */
export type SecretIndex = ReadonlyMap<string, IndexedSecret>;

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export function indexSecrets(secrets: readonly KubeObject[]): SecretIndex {
  const { entries, conflicting } = prepare(secrets);
  const index = new Map<string, IndexedSecret>();
  for (const info of conflicting) index.set(info.id, { conflicting: true });
  for (const { info, object } of entries) index.set(info.id, { conflicting: false, entries: decodeSecret(object), annotations: annotationsOf(object) });
  return index;
}

/**
 * data is base64 (as the API stores it); stringData is plain text and wins, as on a real apply.
 * Values are kept as written: credentials and API keys travel in HTTP headers, whose
 * surrounding whitespace every parser strips, so their users trim() them (a key stored with a
 * trailing newline, echo | base64, could never be matched or sent as written).
 */
function decodeSecret(object: KubeObject): Map<string, SecretEntry> {
  const out = new Map<string, SecretEntry>();
  const data = object['data'];
  if (isRecord(data)) {
    for (const key of Object.keys(data)) {
      const raw = data[key];
      if (typeof raw !== 'string') out.set(key, { key, invalid: 'is not a string' });
      else if (!BASE64.test(raw)) out.set(key, { key, invalid: 'is not valid base64' });
      else out.set(key, { key, value: Buffer.from(raw, 'base64').toString('utf8') });
    }
  }
  const stringData = object['stringData'];
  if (isRecord(stringData)) {
    for (const key of Object.keys(stringData)) {
      const raw = stringData[key];
      out.set(key, typeof raw === 'string' ? { key, value: raw } : { key, invalid: 'is not a string' });
    }
  }
  return out;
}

function annotationsOf(object: KubeObject): Record<string, string> {
  const m = object['metadata'];
  const a = isRecord(m) ? m['annotations'] : undefined;
  const out: Record<string, string> = {};
  if (isRecord(a)) for (const k of Object.keys(a)) if (typeof a[k] === 'string') out[k] = a[k];
  return out;
}

/** One annotation of a Secret that can be used; undefined when absent or the Secret is not usable. */
export function secretAnnotation(index: SecretIndex, namespace: string, name: string, annotation: string): string | undefined {
  const secret = index.get(`${namespace}/${name}`);
  return secret && !secret.conflicting ? secret.annotations[annotation] : undefined;
}

/** The entries of a Secret that can be used, or why it cannot. */
function usableEntries(index: SecretIndex, namespace: string, name: string): ReadonlyMap<string, SecretEntry> | Problem {
  const secret = index.get(`${namespace}/${name}`);
  if (!secret) return { reason: 'SecretNotFound', message: `Secret "${name}" not found in namespace ${namespace}` };
  if (secret.conflicting) {
    return { reason: 'SecretConflict', message: `Secret "${name}" is defined more than once with different contents` };
  }
  return secret.entries;
}

/** The entries of a Secret sorted by key, or why the Secret cannot be used. */
export function secretEntries(index: SecretIndex, namespace: string, name: string): SecretEntry[] | Problem {
  const entries = usableEntries(index, namespace, name);
  if (isProblem(entries)) return entries;
  return [...entries.values()].sort((a, b) => compareStrings(a.key, b.key));
}

/** The value of one Secret key, or why it cannot be used. Messages name Secret and key, never the value. */
export function secretValue(index: SecretIndex, namespace: string, ref: { name: string; key: string }): { value: string } | Problem {
  const entries = usableEntries(index, namespace, ref.name);
  if (isProblem(entries)) return entries;
  const entry = entries.get(ref.key);
  if (!entry) return { reason: 'SecretKeyNotFound', message: `key "${ref.key}" not found in Secret "${ref.name}"` };
  if ('invalid' in entry) {
    return { reason: 'SecretKeyInvalid', message: `key "${ref.key}" of Secret "${ref.name}" ${entry.invalid}` };
  }
  return { value: entry.value };
}

export function isProblem<T extends object>(v: T | Problem): v is Problem {
  return 'reason' in v;
}
