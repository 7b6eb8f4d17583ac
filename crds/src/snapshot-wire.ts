// The parts of the snapshot protocol a proxy needs at run time, without zod: the proxy keeps
// zod out of its long-lived process for memory (see proxy/src/source/compile-worker.ts), and a
// snapshot arrives rarely, so it is checked by hand here and by its content hash. The zod
// schemas that define the protocol are in snapshot-protocol.ts, which re-exports this.
import { contentVersion, isRecord } from './canonical-json.ts';
import type { ProxyConfig } from './proxy-config.ts';

/** The stream of snapshots: `GET ${SNAPSHOTS_PATH}?have=<version>`. */
export const SNAPSHOTS_PATH = '/v1/snapshots';
/** Where a proxy reports the version it serves: `POST ${SERVED_PATH}`. */
export const SERVED_PATH = '/v1/served';
/** Where a proxy reports what its tenants consumed: `POST ${USAGE_PATH}` (UsageReport), every USAGE_REPORT_INTERVAL_MS. */
export const USAGE_PATH = '/v1/usage';
export const USAGE_REPORT_INTERVAL_MS = 10_000;
/** Request header naming the proxy (its pod name). */
export const PROXY_HEADER = 'x-jairouter-proxy';
export const NDJSON = 'application/x-ndjson';
/** The operator writes a heartbeat line this often; a proxy that hears nothing for 3x as long reconnects. */
export const HEARTBEAT_INTERVAL_MS = 10_000;
/** The key of the snapshot Secret that holds the ProxyConfig JSON (mounted by proxies as --snapshot-file). */
export const SNAPSHOT_SECRET_KEY = 'snapshot.json';
/** The ProxyConfig schemaVersion this build reads; a newer one is refused, the last good config stays. */
export const SCHEMA_VERSION = 4 as const;

/** The version a config must carry: `sha256:` of the canonical JSON of everything but `version`. */
export function configVersion(config: Record<string, unknown>): string {
  const { version: _ignored, ...body } = config;
  return contentVersion(body);
}

export type SnapshotCheck = { ok: true; config: ProxyConfig } | { ok: false; reason: string };

/**
 * A cheap check of a snapshot received or read from disk: the top-level shape, a schemaVersion
 * this build understands, and a version equal to the hash of the content. The operator built
 * the document with the zod-validated compile(), so a matching hash means it arrived intact;
 * the hand check stops a config from a newer operator or a truncated file.
 */
export function checkSnapshotConfig(value: unknown): SnapshotCheck {
  if (!isRecord(value)) return { ok: false, reason: 'not a JSON object' };
  if (value.schemaVersion !== SCHEMA_VERSION) {
    return { ok: false, reason: `schemaVersion ${JSON.stringify(value.schemaVersion)} is not ${SCHEMA_VERSION}, the one this proxy reads` };
  }
  if (!Array.isArray(value.routes) || !Array.isArray(value.tenants) || !Array.isArray(value.limits)) {
    return { ok: false, reason: 'routes, tenants and limits must be arrays' };
  }
  if (typeof value.version !== 'string' || !/^sha256:[0-9a-f]{64}$/.test(value.version)) return { ok: false, reason: 'version must be sha256:<hex>' };
  const want = configVersion(value);
  if (want !== value.version) return { ok: false, reason: `version does not match the content (content hashes to ${want})` };
  return { ok: true, config: value as ProxyConfig };
}
