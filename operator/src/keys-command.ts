import { randomBytes } from 'node:crypto';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { GROUP, VERSION } from '@jairouter/crds';
import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig, type V1Secret } from '@kubernetes/client-node';
import { loadKubeConfig, NoKubeconfigError } from './kubeconfig.ts';
import { httpStatus } from './kube/status-writer.ts';

export const KEYS_USAGE = `Usage: jairouter-operator keys create --tenant T [--name ID]
       jairouter-operator keys list   --tenant T
       jairouter-operator keys revoke --tenant T --name ID [--secret S]

Manages a Tenant's API keys: the entries of the Secrets its spec.apiKeys.secretRefs name
(entry name = key id). create mints a random key into the first referenced Secret (when the
Tenant references none, it creates the Secret <tenant>-keys and adds it to the Tenant) and
prints the key once on stdout; it cannot be shown again. list prints every key's id, Secret
and creation time, never a key. revoke removes a key from the Secret that holds it.

  -t, --tenant T        the Tenant (required)
  -n, --namespace N     its namespace (default: the kubeconfig context's namespace, else default)
      --name ID         key id (create: default key-<8 hex>; revoke: required). 1 to 51 letters,
                        digits, '-', '_' or '.', starting and ending with a letter or digit
      --secret S        revoke: the Secret to remove the key from, when several hold that id
      --kubeconfig F    kubeconfig file (default: $KUBECONFIG, else ~/.kube/config)
      --context C       kubeconfig context (default: its current-context)
  -h, --help            this text

Exit status: 0 on success, 1 when it failed (Tenant or key not found, no permission, API
server unreachable...; one line on stderr says why), 2 on bad usage.`;

/** Per-key creation time on the key Secret: `jairouter.io/key-created.<id>: <RFC 3339>`. */
export const CREATED_ANNOTATION_PREFIX = 'jairouter.io/key-created.';
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY = 'jairouter';
export const KEY_PREFIX = 'sk-jr-';
/** An annotation's name part is at most 63 characters; `key-created.` takes 12 of them. */
export const MAX_KEY_ID_LENGTH = 63 - 'key-created.'.length;
const FIELD_MANAGER = 'jairouter-operator-keys';
/** A Secret data key that is also the tail of an annotation name: alphanumerics at both ends. */
const KEY_ID = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
/** 43 base62 characters carry 256 bits. */
const KEY_CHARS = 43;
/** Optimistic-concurrency retries when the Secret or Tenant changes between read and write. */
const ATTEMPTS = 3;

export class KeysUsageError extends Error {}
/** A failure whose message is fit for the user: one line, no key. */
export class KeysError extends Error {}

export type KeysAction = 'create' | 'list' | 'revoke';

export interface KeysRequest {
  action: KeysAction;
  tenant: string;
  namespace: string | undefined;
  name: string | undefined;
  secret: string | undefined;
  kubeconfig: string | undefined;
  context: string | undefined;
}

export interface KeysIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

export interface KeysEnv {
  /** $KUBECONFIG */
  kubeconfigEnv: string | undefined;
  /** ~/.kube/config */
  homeKubeconfig: string;
  now: () => Date;
  random: (n: number) => Buffer;
}

const defaultIo: KeysIo = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
};

function defaultEnv(): KeysEnv {
  return {
    kubeconfigEnv: process.env['KUBECONFIG'],
    homeKubeconfig: join(process.env['HOME'] || homedir(), '.kube', 'config'),
    now: () => new Date(),
    random: randomBytes,
  };
}

/** The arguments after the word `keys`; 'help' for --help. Throws KeysUsageError. */
export function parseKeysArgs(argv: string[]): KeysRequest | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        tenant: { type: 'string', short: 't' },
        namespace: { type: 'string', short: 'n' },
        name: { type: 'string' },
        secret: { type: 'string' },
        kubeconfig: { type: 'string' },
        context: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: true,
    });
  } catch (e) {
    throw new KeysUsageError((e as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) return 'help';
  const [action, ...rest] = positionals;
  if (action === undefined) throw new KeysUsageError('a subcommand is required: create, list or revoke');
  if (action !== 'create' && action !== 'list' && action !== 'revoke') throw new KeysUsageError(`unknown subcommand ${JSON.stringify(action)} (create, list or revoke)`);
  if (rest.length > 0) throw new KeysUsageError(`unexpected argument ${JSON.stringify(rest[0])}`);
  const tenant = values.tenant;
  if (tenant === undefined || tenant === '') throw new KeysUsageError('--tenant is required');
  if (!DNS_SUBDOMAIN.test(tenant) || tenant.length > 253) throw new KeysUsageError(`--tenant: not an object name: ${JSON.stringify(tenant)}`);
  const namespace = values.namespace;
  if (namespace !== undefined && !/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(namespace)) {
    throw new KeysUsageError(`--namespace: not a namespace name: ${JSON.stringify(namespace)}`);
  }
  const name = values.name;
  if (action === 'revoke' && name === undefined) throw new KeysUsageError('revoke needs --name ID (keys list shows the ids)');
  if (action === 'list' && name !== undefined) throw new KeysUsageError('--name is not an option of list');
  if (action === 'create' && name !== undefined) {
    const problem = keyIdProblem(name);
    if (problem) throw new KeysUsageError(`--name: ${problem}`);
  }
  if (values.secret !== undefined && action !== 'revoke') throw new KeysUsageError('--secret is an option of revoke only');
  if (values.context === '') throw new KeysUsageError('--context: empty');
  return { action, tenant, namespace, name, secret: values.secret, kubeconfig: values.kubeconfig, context: values.context };
}

/** Why ID cannot name a new key (it must be a Secret data key and fit in the creation annotation's name), or undefined. */
export function keyIdProblem(id: string): string | undefined {
  if (id.length === 0 || id.length > MAX_KEY_ID_LENGTH || !KEY_ID.test(id)) {
    return `${JSON.stringify(id)} is not a valid key id: 1 to ${MAX_KEY_ID_LENGTH} letters, digits, '-', '_' or '.', starting and ending with a letter or digit`;
  }
  return undefined;
}

/** A new API key: the prefix and 256 random bits as base62 (no characters a shell or URL would mangle). */
export function mintKey(random: (n: number) => Buffer = randomBytes): string {
  let out = KEY_PREFIX;
  while (out.length < KEY_PREFIX.length + KEY_CHARS) {
    for (const byte of random(64)) {
      // 248 = 4 * 62: bytes above it are dropped so every character is equally likely.
      if (byte >= 248) continue;
      out += BASE62[byte % 62];
      if (out.length === KEY_PREFIX.length + KEY_CHARS) break;
    }
  }
  return out;
}

export function newKeyId(random: (n: number) => Buffer = randomBytes): string {
  return `key-${random(4).toString('hex')}`;
}

/** RFC 3339 in UTC, whole seconds (what kubectl shows). */
export function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export interface KeyRow {
  id: string;
  secret: string;
  created: string | undefined;
}

/** The list printout: a header and one aligned row per key. */
export function formatKeyTable(rows: readonly KeyRow[]): string {
  const table = [['KEY ID', 'SECRET', 'CREATED'], ...rows.map((r) => [r.id, r.secret, r.created ?? '-'])];
  const widths = [0, 1].map((i) => Math.max(...table.map((r) => r[i]!.length)));
  return table.map((r) => `${r[0]!.padEnd(widths[0]!)}   ${r[1]!.padEnd(widths[1]!)}   ${r[2]}`).join('\n') + '\n';
}

/** Runs `keys` with its arguments (after the word `keys`); resolves to the exit status. */
export async function runKeysCommand(argv: string[], io: KeysIo = defaultIo, env: KeysEnv = defaultEnv()): Promise<number> {
  let req: KeysRequest;
  try {
    const parsed = parseKeysArgs(argv);
    if (parsed === 'help') {
      io.stdout(KEYS_USAGE + '\n');
      return 0;
    }
    req = parsed;
  } catch (e) {
    if (!(e instanceof KeysUsageError)) throw e;
    io.stderr(`jairouter-operator keys: ${e.message}\n\n${KEYS_USAGE}\n`);
    return 2;
  }

  // Whatever goes wrong after a key exists, its value must not reach stderr.
  let minted: string | undefined;
  const scrub = (text: string) => (minted ? text.split(minted).join('<redacted>') : text);
  try {
    const kc = kubeConfigFor(req, env);
    const keys = new TenantKeys(kc, req.namespace ?? contextNamespace(kc), req.tenant);
    if (req.action === 'list') {
      await list(keys, io);
    } else if (req.action === 'revoke') {
      await revoke(keys, req.name!, req.secret, io);
    } else {
      await create(keys, req.name ?? newKeyId(env.random), env, io, (key) => (minted = key));
    }
    return 0;
  } catch (e) {
    const message = e instanceof KeysError ? e.message : `unexpected error: ${(e as Error).message ?? String(e)}`;
    io.stderr(`jairouter-operator keys ${req.action}: ${scrub(message).replace(/\s*\n\s*/g, ' ')}\n`);
    return 1;
  }
}

function kubeConfigFor(req: KeysRequest, env: KeysEnv): KubeConfig {
  let kc: KubeConfig;
  try {
    kc = loadKubeConfig({ flag: req.kubeconfig, env: env.kubeconfigEnv, homeConfig: env.homeKubeconfig });
  } catch (e) {
    const message = (e as Error).message;
    throw new KeysError(e instanceof NoKubeconfigError ? 'no kubeconfig found (--kubeconfig PATH, $KUBECONFIG or ~/.kube/config)' : `cannot load the kubeconfig: ${message}`);
  }
  if (req.context !== undefined) {
    if (!kc.getContextObject(req.context)) throw new KeysError(`--context: no context ${JSON.stringify(req.context)} in the kubeconfig`);
    kc.setCurrentContext(req.context);
  }
  return kc;
}

function contextNamespace(kc: KubeConfig): string {
  return kc.getContextObject(kc.getCurrentContext())?.namespace || 'default';
}

async function create(keys: TenantKeys, id: string, env: KeysEnv, io: KeysIo, onMinted: (key: string) => void): Promise<void> {
  const key = mintKey(env.random);
  onMinted(key);
  const created = rfc3339(env.now());
  for (let attempt = 1; ; attempt++) {
    const tenant = await keys.tenant();
    const refs = secretRefs(tenant);
    const target = refs[0] ?? `${keys.tenantName}-keys`;
    const secrets = await keys.secrets(refs.includes(target) ? refs : [...refs, target]);
    const holder = [...secrets.entries()].find(([, s]) => s !== undefined && Object.hasOwn(s.data ?? {}, id));
    if (holder) throw new KeysError(`key id "${id}" already exists in Secret ${keys.namespace}/${holder[0]} (pick another --name, or revoke it first)`);
    const existing = secrets.get(target);
    if (refs.length === 0 && existing && existing.metadata?.labels?.[MANAGED_BY_LABEL] !== MANAGED_BY) {
      throw new KeysError(`Tenant ${keys.where} references no key Secret and Secret ${keys.namespace}/${target} exists without the label ${MANAGED_BY_LABEL}=${MANAGED_BY}: add it to the Tenant's spec.apiKeys.secretRefs yourself, or delete it`);
    }
    const placed = await keys.addEntry(target, existing, id, key, created);
    if (placed === 'conflict') {
      if (attempt >= ATTEMPTS) throw new KeysError(`Secret ${keys.namespace}/${target} kept changing while adding key "${id}"; try again`);
      continue;
    }
    if (refs.length === 0) {
      const linked = await keys.referenceSecret(tenant, target).catch((e: unknown) => e);
      if (linked !== true) {
        // An unreferenced key would authenticate nobody: take it back rather than leave it lying around.
        await keys.undo(target, placed, id).catch(() => undefined);
        if (linked === 'conflict') {
          if (attempt >= ATTEMPTS) throw new KeysError(`Tenant ${keys.where} kept changing while adding its key Secret; try again`);
          continue;
        }
        throw linked;
      }
      io.stderr(`Created Secret ${keys.namespace}/${target} and added it to Tenant ${keys.where}'s spec.apiKeys.secretRefs.\n`);
    }
    io.stdout(key + '\n');
    io.stderr(`Key "${id}" of Tenant ${keys.where} is in Secret ${keys.namespace}/${target}. It is shown only this once and cannot be retrieved again: store it now.\n`);
    io.stderr('The proxies accept it once the operator has reconciled the change (usually within seconds).\n');
    return;
  }
}

async function list(keys: TenantKeys, io: KeysIo): Promise<void> {
  const refs = secretRefs(await keys.tenant());
  if (refs.length === 0) io.stderr(`Tenant ${keys.where} references no key Secret (spec.apiKeys.secretRefs is empty).\n`);
  const rows: KeyRow[] = [];
  for (const [name, secret] of await keys.secrets(refs)) {
    if (!secret) {
      io.stderr(`Secret ${keys.namespace}/${name} is referenced by the Tenant but does not exist.\n`);
      continue;
    }
    const annotations = secret.metadata?.annotations ?? {};
    for (const id of Object.keys(secret.data ?? {}).sort()) rows.push({ id, secret: name, created: annotations[CREATED_ANNOTATION_PREFIX + id] });
  }
  io.stdout(formatKeyTable(rows));
}

async function revoke(keys: TenantKeys, id: string, only: string | undefined, io: KeysIo): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const refs = secretRefs(await keys.tenant());
    if (only !== undefined && !refs.includes(only)) throw new KeysError(`Secret ${only} is not among Tenant ${keys.where}'s key Secrets (${refs.join(', ') || 'none'})`);
    const secrets = await keys.secrets(only !== undefined ? [only] : refs);
    const holders = [...secrets.entries()].filter(([, s]) => s !== undefined && Object.hasOwn(s.data ?? {}, id));
    if (holders.length === 0) throw new KeysError(`no key "${id}" in Tenant ${keys.where}'s key Secrets (${refs.join(', ') || 'none'})`);
    if (holders.length > 1) throw new KeysError(`key id "${id}" is in several Secrets (${holders.map(([n]) => n).join(', ')}): name one with --secret`);
    const [name, secret] = holders[0]!;
    const done = await keys.removeEntry(name, secret!, id);
    if (done === 'conflict') {
      if (attempt >= ATTEMPTS) throw new KeysError(`Secret ${keys.namespace}/${name} kept changing while removing key "${id}"; try again`);
      continue;
    }
    io.stderr(`Revoked key "${id}" of Tenant ${keys.where} (removed from Secret ${keys.namespace}/${name}). The proxies refuse it once the operator has reconciled the change.\n`);
    if (Object.keys(secret!.data ?? {}).length === 1) io.stderr(`Secret ${keys.namespace}/${name} holds no keys now.\n`);
    return;
  }
}

interface TenantObject {
  metadata?: { resourceVersion?: string };
  spec?: { apiKeys?: { secretRefs?: { name?: unknown }[] } };
}

function secretRefs(tenant: TenantObject): string[] {
  const names = (tenant.spec?.apiKeys?.secretRefs ?? []).map((r) => r.name).filter((n): n is string => typeof n === 'string' && n !== '');
  return [...new Set(names)];
}

/** How a key got into its Secret, for undoing it. */
type Placed = 'created-secret' | 'added-entry';

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** The Kubernetes calls of one Tenant's keys; every failure comes out as a KeysError. */
class TenantKeys {
  readonly namespace: string;
  readonly tenantName: string;
  readonly where: string;
  readonly #core: CoreV1Api;
  readonly #custom: CustomObjectsApi;
  readonly #server: string;

  constructor(kc: KubeConfig, namespace: string, tenant: string) {
    this.namespace = namespace;
    this.tenantName = tenant;
    this.where = `${namespace}/${tenant}`;
    this.#core = kc.makeApiClient(CoreV1Api);
    this.#custom = kc.makeApiClient(CustomObjectsApi);
    this.#server = kc.getCurrentCluster()?.server ?? '(no server)';
  }

  async tenant(): Promise<TenantObject> {
    try {
      return (await this.#custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, plural: 'tenants', namespace: this.namespace, name: this.tenantName })) as TenantObject;
    } catch (e) {
      if (httpStatus(e) === 404) {
        throw new KeysError(`Tenant ${this.where} not found${notFoundKind(e) ? '' : ' (are the JAiRouter CRDs installed?)'}`);
      }
      throw this.#failure(e, `reading Tenant ${this.where}`);
    }
  }

  /** The named Secrets in order, undefined for the missing ones. */
  async secrets(names: readonly string[]): Promise<Map<string, V1Secret | undefined>> {
    const out = new Map<string, V1Secret | undefined>();
    for (const name of names) out.set(name, await this.#secret(name));
    return out;
  }

  async #secret(name: string): Promise<V1Secret | undefined> {
    try {
      return await this.#core.readNamespacedSecret({ name, namespace: this.namespace });
    } catch (e) {
      if (httpStatus(e) === 404) return undefined;
      throw this.#failure(e, `reading Secret ${this.namespace}/${name}`);
    }
  }

  /** Adds ID to Secret NAME (creating it when EXISTING is undefined); 'conflict' when it changed since it was read. */
  async addEntry(name: string, existing: V1Secret | undefined, id: string, key: string, created: string): Promise<Placed | 'conflict'> {
    const data = { [id]: Buffer.from(key, 'utf8').toString('base64') };
    const annotations = { [CREATED_ANNOTATION_PREFIX + id]: created };
    try {
      if (existing === undefined) {
        await this.#core.createNamespacedSecret({
          namespace: this.namespace, fieldManager: FIELD_MANAGER,
          body: { apiVersion: 'v1', kind: 'Secret', type: 'Opaque', metadata: { name, labels: { [MANAGED_BY_LABEL]: MANAGED_BY }, annotations }, data },
        });
        return 'created-secret';
      }
      // resourceVersion makes the write conditional: an id added meanwhile is never overwritten.
      await this.#core.patchNamespacedSecret(
        { name, namespace: this.namespace, fieldManager: FIELD_MANAGER, body: { metadata: { resourceVersion: existing.metadata?.resourceVersion, annotations }, data } },
        mergePatch,
      );
      return 'added-entry';
    } catch (e) {
      if (httpStatus(e) === 409 || (existing !== undefined && httpStatus(e) === 404)) return 'conflict';
      throw this.#failure(e, `writing Secret ${this.namespace}/${name}`);
    }
  }

  async undo(name: string, placed: Placed, id: string): Promise<void> {
    if (placed === 'created-secret') {
      await this.#core.deleteNamespacedSecret({ name, namespace: this.namespace });
    } else {
      await this.#core.patchNamespacedSecret(
        { name, namespace: this.namespace, fieldManager: FIELD_MANAGER, body: { metadata: { annotations: { [CREATED_ANNOTATION_PREFIX + id]: null } }, data: { [id]: null } } },
        mergePatch,
      );
    }
  }

  /** Sets the Tenant's secretRefs to [NAME] if it still has none (resourceVersion); true, 'conflict', or throws. */
  async referenceSecret(tenant: TenantObject, name: string): Promise<true | 'conflict'> {
    try {
      await this.#custom.patchNamespacedCustomObject(
        {
          group: GROUP, version: VERSION, plural: 'tenants', namespace: this.namespace, name: this.tenantName, fieldManager: FIELD_MANAGER,
          body: { metadata: { resourceVersion: tenant.metadata?.resourceVersion }, spec: { apiKeys: { secretRefs: [{ name }] } } },
        },
        mergePatch,
      );
      return true;
    } catch (e) {
      if (httpStatus(e) === 409) return 'conflict';
      if (httpStatus(e) === 404) throw new KeysError(`Tenant ${this.where} was deleted meanwhile`);
      throw this.#failure(e, `adding Secret ${name} to Tenant ${this.where}`);
    }
  }

  async removeEntry(name: string, secret: V1Secret, id: string): Promise<true | 'conflict'> {
    try {
      await this.#core.patchNamespacedSecret(
        {
          name, namespace: this.namespace, fieldManager: FIELD_MANAGER,
          body: { metadata: { resourceVersion: secret.metadata?.resourceVersion, annotations: { [CREATED_ANNOTATION_PREFIX + id]: null } }, data: { [id]: null } },
        },
        mergePatch,
      );
      return true;
    } catch (e) {
      if (httpStatus(e) === 409 || httpStatus(e) === 404) return 'conflict';
      throw this.#failure(e, `writing Secret ${this.namespace}/${name}`);
    }
  }

  #failure(e: unknown, doing: string): KeysError {
    const status = httpStatus(e);
    if (status === undefined) {
      const cause = (e as { cause?: { code?: unknown; message?: unknown } }).cause;
      const why = typeof cause?.code === 'string' ? cause.code : typeof cause?.message === 'string' ? cause.message : (e as Error).message;
      return new KeysError(`${doing}: cannot reach the API server at ${this.#server}: ${why}`);
    }
    const message = statusMessage(e);
    if (status === 401) return new KeysError(`${doing}: the API server did not accept the kubeconfig's credentials (401 Unauthorized)`);
    if (status === 403) return new KeysError(`${doing}: forbidden${message ? `: ${message}` : ''}`);
    return new KeysError(`${doing}: HTTP ${status}${message ? `: ${message}` : ''}`);
  }
}

/** The `message` of the Kubernetes Status an ApiException carries (never the raw body). */
function statusMessage(e: unknown): string | undefined {
  let body = (e as { body?: unknown }).body;
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body);
    } catch {
      return undefined;
    }
  }
  const m = (body as { message?: unknown } | undefined)?.message;
  return typeof m === 'string' ? m : undefined;
}

/** A 404 for the object (Status details name its kind) rather than for the resource type (no CRD). */
function notFoundKind(e: unknown): boolean {
  let body = (e as { body?: unknown }).body;
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body);
    } catch {
      return false;
    }
  }
  return typeof (body as { details?: { kind?: unknown } } | undefined)?.details?.kind === 'string';
}
