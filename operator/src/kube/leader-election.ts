import { CoordinationV1Api, V1MicroTime, type KubeConfig, type V1Lease } from '@kubernetes/client-node';
import { httpStatus } from './status-writer.ts';

export interface LeaseClient {
  get(): Promise<V1Lease | undefined>;
  create(lease: V1Lease): Promise<V1Lease>;
  /** Replaces with the resourceVersion in `lease.metadata`; a 409 means someone else wrote first. */
  replace(lease: V1Lease): Promise<V1Lease>;
}

export class KubeLeaseClient implements LeaseClient {
  readonly #api: CoordinationV1Api;
  readonly #namespace: string;
  readonly #name: string;

  constructor(kc: KubeConfig, namespace: string, name: string) {
    this.#api = kc.makeApiClient(CoordinationV1Api);
    this.#namespace = namespace;
    this.#name = name;
  }

  async get(): Promise<V1Lease | undefined> {
    try {
      return await this.#api.readNamespacedLease({ namespace: this.#namespace, name: this.#name });
    } catch (e) {
      if (httpStatus(e) === 404) return undefined;
      throw e;
    }
  }

  create(lease: V1Lease): Promise<V1Lease> {
    return this.#api.createNamespacedLease({ namespace: this.#namespace, body: lease });
  }

  replace(lease: V1Lease): Promise<V1Lease> {
    return this.#api.replaceNamespacedLease({ namespace: this.#namespace, name: this.#name, body: lease });
  }
}

export interface LeaderElectionOptions {
  client: LeaseClient;
  name: string;
  namespace: string;
  identity: string;
  /** How long a lease holds without renewal (default 10 s: a crashed leader is replaced within about 11 s). */
  leaseDurationMs?: number;
  /** The leader renews this often (default 2 s). */
  renewPeriodMs?: number;
  /** The leader steps down when it could not renew for this long (default 7 s, below the lease duration). */
  renewDeadlineMs?: number;
  /** Followers look at the lease this often (default 1 s), so a free lease is taken soon after it expires. */
  retryPeriodMs?: number;
  onStartedLeading?: () => void;
  onStoppedLeading?: () => void;
  onError?: (err: unknown) => void;
  /** The API server answered a lease read (after errors, the streak is over). */
  onAnswer?: () => void;
  now?: () => number;
}

/**
 * Leader election on a coordination.k8s.io/v1 Lease, as client-go does it: every write is a
 * resourceVersion-checked replace (409 = someone else won), and expiry is judged on this
 * process's own clock from when the lease was last seen to change, so clock skew between
 * replicas cannot make a follower take a live leader's lease. The follower also waits for the
 * lease's own renewTime + duration, which keeps the nominal lease duration when clocks agree. The leader
 * gives up once it could not renew for renewDeadline (< lease duration), so two leaders never
 * overlap. On stop() a leader releases the lease so that another replica takes over at once.
 */
export class LeaderElector {
  readonly #o: Required<Omit<LeaderElectionOptions, 'onStartedLeading' | 'onStoppedLeading' | 'onError' | 'onAnswer'>> & LeaderElectionOptions;
  #leader = false;
  #stopped = false;
  #timer: NodeJS.Timeout | undefined;
  #watchdog: NodeJS.Timeout | undefined;
  #loop: Promise<void> | undefined;
  #lastRenew = 0;
  /** resourceVersion of the lease as last seen, and when (our clock). */
  #observedVersion: string | undefined;
  #observedAt = 0;
  /** When a follower saw a held lease, the moment it may expire: the next look is then, not a poll period later. */
  #expiresAt: number | undefined;

  constructor(opts: LeaderElectionOptions) {
    this.#o = {
      leaseDurationMs: 10_000, renewPeriodMs: 2_000, renewDeadlineMs: 7_000, retryPeriodMs: 1_000,
      now: () => Date.now(), ...opts,
    };
  }

  get isLeader(): boolean {
    return this.#leader;
  }

  start(): void {
    this.#stopped = false;
    this.#schedule(0);
    // A renew request that hangs (no answer, no error) must not keep this replica leading
    // past the renew deadline, while a follower may already have taken the expired lease.
    this.#watchdog = setInterval(() => {
      if (this.#leader && this.#o.now() - this.#lastRenew >= this.#o.renewDeadlineMs) this.#setLeader(false);
    }, Math.max(10, Math.min(1000, this.#o.renewDeadlineMs / 10)));
    this.#watchdog.unref();
  }

  /** Stops campaigning; a leader releases the lease (best effort) and stops leading. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#watchdog) clearInterval(this.#watchdog);
    // Shutdown must not hang on an API server that stopped answering.
    const bounded = <T>(p: Promise<T> | undefined) =>
      Promise.race([p, new Promise<undefined>((r) => setTimeout(() => r(undefined), 2000).unref())]);
    await bounded(this.#loop);
    if (this.#leader) {
      this.#setLeader(false); // no write of ours after this point
      try {
        await bounded((async () => {
          const lease = await this.#o.client.get();
          if (lease?.spec?.holderIdentity !== this.#o.identity) return;
          await this.#o.client.replace({
            ...lease,
            spec: { ...lease.spec, holderIdentity: '', renewTime: new V1MicroTime(this.#o.now()), leaseDurationSeconds: 1 },
          });
        })());
      } catch (e) {
        this.#o.onError?.(e);
      }
    }
  }

  #schedule(ms: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#loop = this.#tick().finally(() => {
        this.#loop = undefined;
        const untilExpiry = this.#expiresAt === undefined ? Infinity : Math.max(5, this.#expiresAt - this.#o.now());
        this.#schedule(this.#leader ? this.#o.renewPeriodMs : Math.min(this.#o.retryPeriodMs, untilExpiry));
      });
    }, ms);
  }

  /** One attempt to acquire or renew. */
  async #tick(): Promise<void> {
    const now = this.#o.now();
    this.#expiresAt = undefined;
    try {
      const lease = await this.#o.client.get();
      this.#o.onAnswer?.();
      if (this.#stopped) return;
      if (!lease) {
        await this.#o.client.create(this.#leaseBody(undefined, now, 0));
        this.#acquired(now);
        return;
      }
      const spec = lease.spec ?? {};
      const rv = lease.metadata?.resourceVersion;
      if (rv !== this.#observedVersion) {
        this.#observedVersion = rv;
        this.#observedAt = now;
      }
      if (spec.holderIdentity === this.#o.identity) {
        await this.#o.client.replace(this.#leaseBody(lease, now, spec.leaseTransitions ?? 0));
        this.#acquired(now);
        return;
      }
      if (this.#leader) this.#setLeader(false); // someone else holds it now
      if (spec.holderIdentity && !this.#expired(lease, now)) return;
      await this.#o.client.replace(this.#leaseBody(lease, now, (spec.leaseTransitions ?? 0) + 1, true));
      this.#acquired(now);
    } catch (e) {
      if (httpStatus(e) === 409) {
        // Lost the race or our view was stale: not leader (anymore).
        if (this.#leader) this.#setLeader(false);
        return;
      }
      this.#o.onError?.(e);
      if (this.#leader && this.#o.now() - this.#lastRenew >= this.#o.renewDeadlineMs) this.#setLeader(false);
    }
  }

  #expired(lease: V1Lease, now: number): boolean {
    const durationMs = (lease.spec?.leaseDurationSeconds ?? this.#o.leaseDurationMs / 1000) * 1000;
    const renew = lease.spec?.renewTime ? new Date(lease.spec.renewTime as unknown as string | Date).getTime() : 0;
    const leaseEnd = Number.isFinite(renew) ? renew + durationMs : 0;
    const observedEnd = this.#observedAt + Math.min(durationMs, this.#o.renewDeadlineMs);
    this.#expiresAt = Math.max(leaseEnd, observedEnd);
    return now >= this.#expiresAt;
  }

  #leaseBody(current: V1Lease | undefined, now: number, transitions: number, takeOver = false): V1Lease {
    const t = new V1MicroTime(now); // six fractional digits, as the API server wants (KUBERNETES-NOTES)
    const spec = current?.spec ?? {};
    return {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: {
        name: this.#o.name,
        namespace: this.#o.namespace,
        ...(current?.metadata?.resourceVersion !== undefined && { resourceVersion: current.metadata.resourceVersion }),
      },
      spec: {
        holderIdentity: this.#o.identity,
        leaseDurationSeconds: Math.max(1, Math.round(this.#o.leaseDurationMs / 1000)),
        acquireTime: !current || takeOver ? t : (spec.acquireTime ? new V1MicroTime(spec.acquireTime as unknown as string) : t),
        renewTime: t,
        leaseTransitions: transitions,
      },
    };
  }

  #acquired(now: number): void {
    this.#lastRenew = now;
    if (!this.#leader) this.#setLeader(true);
  }

  #setLeader(v: boolean): void {
    if (this.#leader === v) return;
    this.#leader = v;
    if (v) this.#o.onStartedLeading?.();
    else this.#o.onStoppedLeading?.();
  }
}
