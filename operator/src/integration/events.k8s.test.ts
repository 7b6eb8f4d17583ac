// KubeEventRecorder against a real kube-apiserver: repeats of one transition aggregate into one
// Event (count, lastTimestamp) through a merge patch, a different reason or message is its own
// Event, and an Event deleted meanwhile is created anew. The involved objects need not exist.
// Skipped when JAIROUTER_SKIP_K8S=1.
import { KubeConfig } from '@kubernetes/client-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { kubeRequest } from '@jairouter/testkit/control-plane';
import { freshNamespace, skipK8s, useControlPlane } from '@jairouter/testkit/control-plane/testing';
import type { ConditionTransition } from '../reconcile/status.ts';
import { COMPONENT, KubeEventRecorder, type EventTarget } from '../kube/events.ts';

interface Event {
  metadata: { name: string };
  involvedObject: { kind: string; name: string; uid?: string };
  reason: string;
  message: string;
  type: string;
  count: number;
  firstTimestamp: string;
  lastTimestamp: string;
  reportingComponent: string;
}

const MISSING: ConditionTransition = { type: 'ResolvedRefs', from: 'True', to: 'False', reason: 'SecretNotFound', message: 'Secret creds not found' };

describe.skipIf(skipK8s)('Events on a real kube-apiserver', () => {
  const cp = useControlPlane();
  let kc: KubeConfig;
  let ns: string;
  // Each recording is 5 s later than the one before, so lastTimestamp visibly moves.
  let clock = Date.now();
  const now = () => new Date((clock += 5_000));

  async function events(name: string): Promise<Event[]> {
    const r = await kubeRequest(cp(), `/api/v1/namespaces/${ns}/events?fieldSelector=${encodeURIComponent(`involvedObject.name=${name}`)}`);
    if (r.status !== 200) throw new Error(`listing Events: HTTP ${r.status}: ${r.text.slice(0, 300)}`);
    return (r.body as { items: Event[] }).items;
  }

  beforeAll(async () => {
    kc = new KubeConfig();
    kc.loadFromFile(cp().kubeconfig);
    ns = await freshNamespace(cp(), 'events');
  });

  it('three repeats are one Event with count 3; another reason or message is a separate Event; a deleted Event is created anew', async () => {
    const rec = new KubeEventRecorder(kc, 'op-events', { now });
    const target: EventTarget = { kind: 'ModelRoute', namespace: ns, name: 'chat', uid: '8c6f1e0a-0000-4000-8000-000000000001' };

    for (let i = 0; i < 3; i++) await rec.transition(target, MISSING);
    let list = await events('chat');
    expect(list).toHaveLength(1);
    const first = list[0]!;
    expect(first).toMatchObject({
      reason: 'SecretNotFound', type: 'Warning', message: 'ResolvedRefs=False: Secret creds not found', count: 3,
      reportingComponent: COMPONENT, involvedObject: { kind: 'ModelRoute', name: 'chat', uid: target.uid },
    });
    expect(Date.parse(first.lastTimestamp)).toBeGreaterThanOrEqual(Date.parse(first.firstTimestamp));
    expect(Date.parse(first.lastTimestamp) - Date.parse(first.firstTimestamp)).toBe(10_000);

    await rec.transition(target, { ...MISSING, reason: 'KeyNotFound', message: 'Secret creds has no key apiKey' });
    await rec.transition(target, { ...MISSING, message: 'Secret creds2 not found' });
    list = await events('chat');
    expect(list).toHaveLength(3);
    expect(list.map((e) => [e.reason, e.message, e.count]).sort()).toEqual([
      ['KeyNotFound', 'ResolvedRefs=False: Secret creds has no key apiKey', 1],
      ['SecretNotFound', 'ResolvedRefs=False: Secret creds not found', 3],
      ['SecretNotFound', 'ResolvedRefs=False: Secret creds2 not found', 1],
    ]);

    // Another object with the same transition has its own Event.
    await rec.transition({ ...target, name: 'other', uid: '8c6f1e0a-0000-4000-8000-000000000002' }, MISSING);
    expect((await events('other')).map((e) => e.count)).toEqual([1]);

    const del = await kubeRequest(cp(), `/api/v1/namespaces/${ns}/events/${first.metadata.name}`, { method: 'DELETE' });
    expect(del.status).toBe(200);
    await rec.transition(target, MISSING);
    list = (await events('chat')).filter((e) => e.message === 'ResolvedRefs=False: Secret creds not found');
    expect(list).toHaveLength(1);
    expect(list[0]!.metadata.name).not.toBe(first.metadata.name);
    expect(list[0]!.count).toBe(1);

    // ... and the next repeat aggregates into the new one.
    await rec.transition(target, MISSING);
    list = (await events('chat')).filter((e) => e.message === 'ResolvedRefs=False: Secret creds not found');
    expect(list.map((e) => [e.metadata.name, e.count])).toEqual([[list[0]!.metadata.name, 2]]);
  });
});
