/**
 * The snapshot stream between the operator and the proxies (docs/distribution.md).
 *
 * Transport: HTTPS served by every operator replica (`--listen`, default :8443), certificate
 * issued by the operator's own CA, which proxies trust through the `ca.crt` key of the
 * ConfigMap `jairouter-ca`. Every request carries `Authorization: Bearer <ServiceAccount token>`
 * (checked with a TokenReview against `--proxy-service-account`) and `x-jairouter-proxy: <pod name>`.
 *
 * `GET /v1/snapshots?have=<version>`: a long-lived `application/x-ndjson` response, one
 * SnapshotMessage per line. A `snapshot` line comes at once when the operator's current version
 * differs from `have` (empty or absent `have`: any version), and again whenever a new version is
 * published; a `heartbeat` line every HEARTBEAT_INTERVAL_MS. A proxy that hears nothing for three
 * intervals reconnects with `have=` the version it holds, so nothing is resent needlessly.
 *
 * `POST /v1/served` with a ServedReport body: the proxy applied that version. The operator keeps
 * the latest report per proxy while the proxy has a stream open (that drives `Programmed`);
 * opening a stream with `have=V` also counts as a report of V. Answer: 204.
 *
 * `POST /v1/usage` with a UsageReport body, every USAGE_REPORT_INTERVAL_MS: what the proxy's
 * tenants consumed in the current UTC minute and day (and budget period), and how many requests
 * its limits refused today. Any replica takes it (no stream needed); replicas share reports like
 * served versions, and the leader sums them into Tenant and RateLimitPolicy status. Answer: 204.
 *
 * Errors are JSON ErrorBody with 400 (bad request), 401 (no or invalid token), 403 (token of
 * another account), 404, 405.
 *
 * The proxy reads this protocol through the zod-free `@jairouter/crds/snapshot-wire` (same
 * constants, a hand check of the config shape and its content hash); these schemas are the
 * definition and what the operator and the tests validate with.
 */
import { z } from 'zod';
import { ProxyConfig } from './proxy-config.ts';

export {
  HEARTBEAT_INTERVAL_MS,
  NDJSON,
  PROXY_HEADER,
  SERVED_PATH,
  SNAPSHOT_SECRET_KEY,
  USAGE_PATH,
  USAGE_REPORT_INTERVAL_MS,
  SNAPSHOTS_PATH,
  checkSnapshotConfig,
  configVersion,
  type SnapshotCheck,
} from './snapshot-wire.ts';

/** A pod name: a DNS subdomain (RFC 1123), at most 253 characters. */
export const ProxyName = z
  .string()
  .max(253)
  .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, 'a pod name (lowercase letters, digits, "-" and ".")');

export const SnapshotLine = z.object({ type: z.literal('snapshot'), config: ProxyConfig });
export type SnapshotLine = z.infer<typeof SnapshotLine>;

/** `proxies`: how many proxies the operator knows to be running (they split Cluster limits by it while Redis is down). */
export const HeartbeatLine = z.object({ type: z.literal('heartbeat'), proxies: z.number().int().min(1).optional() });
export type HeartbeatLine = z.infer<typeof HeartbeatLine>;

/** One line of the stream. Unknown `type`s are for later versions: a proxy ignores them. */
export const SnapshotMessage = z.discriminatedUnion('type', [SnapshotLine, HeartbeatLine]);
export type SnapshotMessage = z.infer<typeof SnapshotMessage>;

export const ServedReport = z.object({
  proxy: ProxyName,
  /** The ProxyConfig version the proxy serves now. */
  version: z.string().min(1).max(200),
});
export type ServedReport = z.infer<typeof ServedReport>;

const Count = z.number().int().min(0);

/** One tenant's consumption as one proxy counted it. */
export const TenantUsageReport = z.object({
  requestsMinute: Count,
  tokensMinute: Count,
  requestsDay: Count,
  tokensDay: Count,
  /** Requests refused with 429 by the gateway's own limits and budget, today. */
  throttledDay: Count,
  /** Spend in the tenant's budget period `period` (its key, e.g. 2026-12), in millionths of the pricing unit. */
  budget: z.object({ period: z.string().max(32), spentMicros: Count }).optional(),
});
export type TenantUsageReport = z.infer<typeof TenantUsageReport>;

export const UsageReport = z.object({
  proxy: ProxyName,
  /** The UTC minute (`2026-12-04T00:05`) and day (`2026-12-04`) the counts are for. */
  minute: z.string().max(32),
  day: z.string().max(32),
  /** The Redis of Cluster limits: none configured, answering, or not (limits split per replica). */
  redis: z.enum(['none', 'up', 'down']),
  /** By tenant id (`namespace/name`). */
  tenants: z.record(z.string().max(512), TenantUsageReport),
  /** Requests each limit (LimitIR id) refused today. */
  limits: z.record(z.string().max(1024), z.object({ throttledDay: Count })),
  /**
   * Endpoints out of rotation (ejected, cooling down, failing active checks) and saturated
   * (docs/autoscaling.md), by route id and backend name, as this proxy sees them now. Absent
   * from proxies before it.
   */
  endpoints: z.record(z.string().max(512), z.record(z.string().max(63), z.object({ ejected: Count, saturated: Count }))).optional(),
});
export type UsageReport = z.infer<typeof UsageReport>;

export const ErrorBody = z.object({
  /** Machine-readable: `unauthenticated`, `forbidden`, `bad_request`, `not_found`, `method_not_allowed`. */
  error: z.string(),
  message: z.string(),
});
export type ErrorBody = z.infer<typeof ErrorBody>;
