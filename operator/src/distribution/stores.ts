import type { ProxyConfig } from '@jairouter/crds';
import type { TlsBundle } from './certs.ts';

/**
 * Where the TLS material lives: the Secret `jairouter-operator-tls` in a cluster (kube.ts), a
 * plain object in tests. `revision` is the resourceVersion, for replace-if-unchanged.
 */
export interface CertStore {
  read(): Promise<{ bundle: TlsBundle; revision: string } | null>;
  /** Creates the Secret; false when it exists already (another replica won). */
  create(bundle: TlsBundle): Promise<boolean>;
  /** Replaces it if still at `revision`; false on a conflict (another replica changed it). */
  replace(bundle: TlsBundle, revision: string): Promise<boolean>;
  /** Makes `caCert` the `ca.crt` of the ConfigMap `jairouter-ca` (create or update). */
  publishCa(caCert: string): Promise<void>;
}

/** Where the leader keeps the last snapshot for proxies that start while the operator is down. */
export interface SnapshotStore {
  /** Writes `config` as JSON (create or update), unless the stored one has this version already. */
  write(config: ProxyConfig): Promise<void>;
}

export class MemoryCertStore implements CertStore {
  bundle: TlsBundle | null = null;
  revision = 0;
  ca: string | null = null;

  async read(): Promise<{ bundle: TlsBundle; revision: string } | null> {
    return this.bundle ? { bundle: this.bundle, revision: String(this.revision) } : null;
  }
  async create(bundle: TlsBundle): Promise<boolean> {
    if (this.bundle) return false;
    this.bundle = bundle;
    this.revision++;
    return true;
  }
  async replace(bundle: TlsBundle, revision: string): Promise<boolean> {
    if (String(this.revision) !== revision) return false;
    this.bundle = bundle;
    this.revision++;
    return true;
  }
  async publishCa(caCert: string): Promise<void> {
    this.ca = caCert;
  }
}

export class MemorySnapshotStore implements SnapshotStore {
  json: string | null = null;
  writes = 0;
  async write(config: ProxyConfig): Promise<void> {
    this.json = JSON.stringify(config);
    this.writes++;
  }
}
