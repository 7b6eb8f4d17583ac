import { isRecord } from '../canonical-json.ts';
import type { KubeObject } from '../resources.ts';
import { prepare } from './objects.ts';
import { compareStrings } from './order.ts';
import type { Problem } from './status.ts';

const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

interface ServicePort {
  name: string;
  port: number;
  targetPort: number | string | undefined;
}

interface SlicePort {
  name: string;
  port: number;
}

interface Slice {
  ports: SlicePort[];
  /** Ready addresses of the slice. */
  addresses: string[];
}

type IndexedService = { conflicting: true } | { conflicting: false; ports: ServicePort[]; slices: Slice[] };

/** Services by `namespace/name`, each with the EndpointSlices labelled for it. */
export type ServiceIndex = ReadonlyMap<string, IndexedService>;

export function indexServices(services: readonly KubeObject[], endpointSlices: readonly KubeObject[]): ServiceIndex {
  const index = new Map<string, IndexedService>();
  const svc = prepare(services);
  for (const info of svc.conflicting) index.set(info.id, { conflicting: true });
  for (const { info, object } of svc.entries) {
    index.set(info.id, { conflicting: false, ports: servicePorts(object), slices: [] });
  }
  // Conflicting copies of one slice are both used: the endpoint sets are merged anyway.
  const slices = prepare(endpointSlices);
  for (const { info, object } of slices.entries) {
    const labels = record(record(object['metadata'])?.['labels']);
    const service = labels?.[SERVICE_NAME_LABEL];
    if (typeof service !== 'string') continue;
    const target = index.get(`${info.namespace}/${service}`);
    if (target && !target.conflicting) target.slices.push(readSlice(object));
  }
  return index;
}

/** The TCP entries with a numeric port of a Service's or an EndpointSlice's `ports` (the name defaults to ''). */
function tcpPorts(ports: unknown): (SlicePort & { entry: Record<string, unknown> })[] {
  const out: (SlicePort & { entry: Record<string, unknown> })[] = [];
  for (const p of Array.isArray(ports) ? ports : []) {
    const r = record(p);
    if (!r || typeof r['port'] !== 'number') continue;
    if (r['protocol'] !== undefined && r['protocol'] !== 'TCP') continue;
    out.push({ name: typeof r['name'] === 'string' ? r['name'] : '', port: r['port'], entry: r });
  }
  return out;
}

function servicePorts(service: KubeObject): ServicePort[] {
  return tcpPorts(record(service['spec'])?.['ports']).map(({ name, port, entry }) => {
    const tp = entry['targetPort'];
    return { name, port, targetPort: typeof tp === 'number' || typeof tp === 'string' ? tp : undefined };
  });
}

function readSlice(slice: KubeObject): Slice {
  const ports = tcpPorts(slice['ports']).map(({ name, port }): SlicePort => ({ name, port }));
  const addresses: string[] = [];
  for (const e of Array.isArray(slice['endpoints']) ? slice['endpoints'] : []) {
    const r = record(e);
    // Kubernetes: a nil ready condition means ready.
    if (!r || record(r['conditions'])?.['ready'] === false) continue;
    for (const a of Array.isArray(r['addresses']) ? r['addresses'] : []) if (typeof a === 'string' && a !== '') addresses.push(a);
  }
  return { ports, addresses };
}

export interface ServiceRef {
  name: string;
  port: number;
  scheme?: 'http' | 'https' | undefined;
  path?: string | undefined;
}

/**
 * One base URL per ready address of the Service's EndpointSlices, sorted and without
 * duplicates (an address can sit in two slices while they are being rebalanced).
 */
export function serviceEndpoints(index: ServiceIndex, namespace: string, ref: ServiceRef): string[] | Problem {
  const svc = index.get(`${namespace}/${ref.name}`);
  if (!svc) return { reason: 'ServiceNotFound', message: `Service "${ref.name}" not found in namespace ${namespace}` };
  if (svc.conflicting) {
    return { reason: 'ServiceConflict', message: `Service "${ref.name}" is defined more than once with different contents` };
  }
  const sp = svc.ports.find((p) => p.port === ref.port);
  if (!sp) return { reason: 'ServicePortNotFound', message: `Service "${ref.name}" has no TCP port ${ref.port}` };
  const scheme = ref.scheme ?? 'http';
  const path = normalisePath(ref.path ?? '/v1');
  const urls = new Set<string>();
  for (const slice of svc.slices) {
    const port = slicePort(slice, sp);
    if (port === undefined) continue;
    for (const address of slice.addresses) {
      const host = address.includes(':') ? `[${address}]` : address;
      urls.add(`${scheme}://${host}:${port}${path}`);
    }
  }
  return [...urls].sort(compareStrings);
}

/**
 * The EndpointSlice controller names slice ports after the Service ports and resolves the
 * targetPort into the number; a slice without that port falls back to a numeric targetPort.
 */
function slicePort(slice: Slice, sp: ServicePort): number | undefined {
  const named = slice.ports.find((p) => p.name === sp.name);
  if (named) return named.port;
  if (typeof sp.targetPort === 'number') return sp.targetPort;
  if (sp.targetPort === undefined && slice.ports.length === 0) return sp.port;
  return undefined;
}

function normalisePath(path: string): string {
  const trimmed = path.replace(/\/+$/, '');
  return trimmed === '' || trimmed.startsWith('/') ? trimmed : `/${trimmed}`;
}

function record(v: unknown): Record<string, unknown> | undefined {
  return isRecord(v) ? v : undefined;
}
