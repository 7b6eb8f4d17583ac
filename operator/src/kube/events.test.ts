// KubeEventRecorder's aggregation against an in-memory stand-in for the two Event calls it makes
// (create, merge patch); the real API server's side is in integration/events.k8s.test.ts.
import { ApiException, KubeConfig, type CoreV1Event } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { ConditionTransition } from '../reconcile/status.ts';
import { KubeEventRecorder, type EventTarget, type EventsApi } from './events.ts';

class FakeEvents {
  events = new Map<string, CoreV1Event>();
  calls: string[] = [];
  fail: number | undefined;
  #n = 0;

  api(): EventsApi {
    return {
      createNamespacedEvent: async ({ namespace, body }) => {
        this.calls.push('create');
        if (this.fail !== undefined) throw new ApiException(this.fail, 'refused', '', {});
        const name = `${body.metadata?.generateName ?? ''}${++this.#n}`;
        const ev: CoreV1Event = { ...body, metadata: { ...body.metadata, name, namespace } };
        this.events.set(name, ev);
        return ev;
      },
      patchNamespacedEvent: async ({ name, body }) => {
        this.calls.push(`patch ${name}`);
        if (this.fail !== undefined) throw new ApiException(this.fail, 'refused', '', {});
        const ev = this.events.get(name);
        if (ev === undefined) throw new ApiException(404, 'not found', '', {});
        const patched: CoreV1Event = { ...ev, count: body.count, lastTimestamp: new Date(body.lastTimestamp) };
        this.events.set(name, patched);
        return patched;
      },
    };
  }
}

const TARGET: EventTarget = { kind: 'ModelRoute', namespace: 'ai', name: 'chat', uid: 'u-1' };
const MISSING: ConditionTransition = { type: 'ResolvedRefs', from: 'True', to: 'False', reason: 'SecretNotFound', message: 'Secret ai/creds not found' };

function setup(opts: { cacheSize?: number } = {}) {
  const fake = new FakeEvents();
  let now = Date.parse('2025-01-01T00:00:00Z');
  const rec = new KubeEventRecorder(new KubeConfig(), 'op-1', { api: fake.api(), now: () => new Date(now), ...opts });
  return { fake, rec, advance: (ms: number) => (now += ms) };
}

describe('KubeEventRecorder', () => {
  it('creates one Event and patches its count and lastTimestamp on repeats', async () => {
    const { fake, rec, advance } = setup();
    await rec.transition(TARGET, MISSING);
    advance(30_000);
    await rec.transition(TARGET, MISSING);
    advance(30_000);
    await rec.transition(TARGET, MISSING);
    expect(fake.calls).toEqual(['create', 'patch chat.1', 'patch chat.1']);
    const ev = fake.events.get('chat.1')!;
    expect(ev.count).toBe(3);
    expect(ev.firstTimestamp?.toISOString()).toBe('2025-01-01T00:00:00.000Z');
    expect(ev.lastTimestamp?.toISOString()).toBe('2025-01-01T00:01:00.000Z');
    expect(ev).toMatchObject({ reason: 'SecretNotFound', type: 'Warning', message: 'ResolvedRefs=False: Secret ai/creds not found', reportingInstance: 'op-1' });
  });

  it('a different reason, message, type, object or uid is a separate Event', async () => {
    const { fake, rec } = setup();
    await rec.transition(TARGET, MISSING);
    await rec.transition(TARGET, { ...MISSING, message: 'Secret ai/other not found' });
    await rec.transition(TARGET, { ...MISSING, reason: 'KeyNotFound' });
    await rec.transition(TARGET, { ...MISSING, to: 'True', reason: 'ResolvedRefs', message: 'Secret ai/creds not found' });
    await rec.transition({ ...TARGET, name: 'other' }, MISSING);
    await rec.transition({ ...TARGET, uid: 'u-2' }, MISSING);
    expect(fake.calls).toEqual(['create', 'create', 'create', 'create', 'create', 'create']);
    await rec.transition(TARGET, MISSING);
    expect(fake.calls.at(-1)).toBe('patch chat.1');
  });

  it('a repeat 10 minutes or more after the last occurrence starts a new Event; sooner ones keep aggregating', async () => {
    const { fake, rec, advance } = setup();
    await rec.transition(TARGET, MISSING);
    advance(9 * 60_000);
    await rec.transition(TARGET, MISSING);
    advance(9 * 60_000); // 18 min after the first, 9 after the last
    await rec.transition(TARGET, MISSING);
    advance(10 * 60_000);
    await rec.transition(TARGET, MISSING);
    expect(fake.calls).toEqual(['create', 'patch chat.1', 'patch chat.1', 'create']);
    expect(fake.events.get('chat.1')!.count).toBe(3);
    expect(fake.events.get('chat.2')!.count).toBe(1);
  });

  it('creates a new Event when the remembered one is gone (404) and aggregates into that one', async () => {
    const { fake, rec } = setup();
    await rec.transition(TARGET, MISSING);
    await rec.transition(TARGET, MISSING);
    fake.events.delete('chat.1');
    await rec.transition(TARGET, MISSING);
    await rec.transition(TARGET, MISSING);
    expect(fake.calls).toEqual(['create', 'patch chat.1', 'patch chat.1', 'create', 'patch chat.2']);
    expect(fake.events.get('chat.2')!.count).toBe(2);
  });

  it('other errors propagate; the next repeat patches the same Event with the count it was going to write', async () => {
    const { fake, rec } = setup();
    await rec.transition(TARGET, MISSING);
    fake.fail = 403;
    await expect(rec.transition(TARGET, MISSING)).rejects.toMatchObject({ code: 403 });
    fake.fail = undefined;
    await rec.transition(TARGET, MISSING);
    expect(fake.calls).toEqual(['create', 'patch chat.1', 'patch chat.1']);
    expect(fake.events.get('chat.1')!.count).toBe(2);
  });

  it('a failed create is not remembered', async () => {
    const { fake, rec } = setup();
    fake.fail = 500;
    await expect(rec.transition(TARGET, MISSING)).rejects.toMatchObject({ code: 500 });
    fake.fail = undefined;
    await rec.transition(TARGET, MISSING);
    expect(fake.calls).toEqual(['create', 'create']);
  });

  it('forgets the least recently used Event beyond its size', async () => {
    const { fake, rec } = setup({ cacheSize: 2 });
    const a = { ...TARGET, name: 'a' };
    const b = { ...TARGET, name: 'b' };
    const c = { ...TARGET, name: 'c' };
    await rec.transition(a, MISSING);
    await rec.transition(b, MISSING);
    await rec.transition(a, MISSING); // a is now the most recent
    await rec.transition(c, MISSING); // evicts b
    await rec.transition(a, MISSING);
    await rec.transition(b, MISSING);
    expect(fake.calls).toEqual(['create', 'create', 'patch a.1', 'create', 'patch a.1', 'create']);
  });

  it('concurrent repeats of one Event do not lose counts', async () => {
    const { fake, rec } = setup();
    await rec.transition(TARGET, MISSING);
    await Promise.all([rec.transition(TARGET, MISSING), rec.transition(TARGET, MISSING), rec.transition(TARGET, MISSING)]);
    expect(fake.events.get('chat.1')!.count).toBe(4);
    expect(fake.events.size).toBe(1);
  });
});
