// The API server stopped for 30 s under steady traffic (issue 14): two operators (leader
// election) and two proxies on the local control plane. While kube-apiserver is down the
// proxies keep serving the config they have (no request fails, /readyz stays 200) and the
// operators stay up, logging one warning per failing thing rather than one per retry. Once it is back, a leader is elected again and the next change reaches
// both proxies and the resource's status.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setupTimeoutMs, skipK8s, useControlPlane } from '@jairouter/testkit/control-plane/testing';
import { startChatStack, Stack, waitFor, type ChatStack } from './stack.ts';
import { keepTalking, models, readyz } from './traffic.ts';

const KEY = 'sk-e2e-outage-0123456789';
const TRUE3 = { Accepted: 'True', ResolvedRefs: 'True', Programmed: 'True' };
const OUTAGE_MS = 30_000;

describe.skipIf(skipK8s)('the stack on the local control plane: kube-apiserver stopped for 30 s', () => {
  const cp = useControlPlane();
  let stack: Stack;
  let chatRoute: ChatStack['chatRoute'];
  let all: ChatStack | undefined;

  beforeAll(async () => {
    all = await startChatStack(cp(), 'outage', KEY);
    ({ stack, chatRoute } = all);
  }, setupTimeoutMs());

  afterAll(async () => {
    await all?.stop();
  }, 30_000);

  it('the proxies serve throughout, the operators stay up, and the first change after it reaches the proxies and the status', async (ctx) => {
    const api = cp().apiServer;
    if (!api) return ctx.skip();
    const version = (await readyz(stack.proxies[0]!)).configVersion;
    const talk = keepTalking(() => stack.proxies, KEY, () => 'e2e-chat');

    const stoppedAt = Date.now();
    await api.stop();
    // The outage itself: traffic and probes run meanwhile; nothing here measures time.
    const during: { status: number; ready?: boolean; configVersion?: string }[] = [];
    while (Date.now() - stoppedAt < OUTAGE_MS) {
      for (const p of stack.proxies) during.push(await readyz(p));
      await new Promise((r) => setTimeout(r, 1_000));
    }
    await api.start();
    const backAt = Date.now();

    expect(during.length).toBeGreaterThan(20);
    expect(during.filter((r) => !(r.status === 200 && r.ready === true && r.configVersion === version))).toEqual([]);
    for (const o of stack.operators) expect(o.isRunning(), `${o.label} still running`).toBe(true);

    // The first change after the outage: a leader again, both proxies serve it, status says so.
    const gen = (await stack.get('ModelRoute', 'chat')).metadata!.generation!;
    await stack.apply(chatRoute(['e2e-chat', 'after-outage']));
    for (const p of stack.proxies) await waitFor(`${p.name} lists after-outage`, async () => (await models(p, KEY)).includes('after-outage'), 60_000, 200);
    const servedMs = Date.now() - backAt;
    const r = await stack.waitForConditions('ModelRoute', 'chat', TRUE3, 60_000);
    expect(r.metadata!.generation).toBe(gen + 1);
    expect(r['status'].observedGeneration).toBe(gen + 1);

    const { ok, failures } = await talk.stop();
    // What the outage cost in logs: one warning per failing thing (the lease, each watch, the
    // served-versions writer), not one per retry (operator/src/log-streak.ts).
    const warned = [...stack.operators, ...stack.proxies].map((proc) => {
      const lines = proc.lines.filter((l) => l.seenAt >= stoppedAt && l.seenAt <= backAt && ['warn', 'error', 'fatal'].includes(String(l['level'])));
      const byWhat = new Map<string, number>();
      for (const l of lines) {
        const what = `${String(l.msg)}${l['resource'] ? ` (${String(l['resource'])})` : ''}`;
        byWhat.set(what, (byWhat.get(what) ?? 0) + 1);
      }
      return { name: proc.label, lines: lines.length, byWhat: Object.fromEntries(byWhat) };
    });
    console.log(`warnings logged during the outage: ${JSON.stringify(warned)}`);
    for (const w of warned) {
      expect(Object.entries(w.byWhat).filter(([, n]) => n > 1), `${w.name} repeated a warning`).toEqual([]);
    }
    console.log(`kube-apiserver down ${backAt - stoppedAt} ms: ${ok} chat answers, ${failures.length} failed; the next change served by both proxies ${servedMs} ms after it was back, leader ${await stack.leaseHolder()}`);
    expect(failures, failures.slice(0, 5).join('\n')).toEqual([]);
    expect(ok).toBeGreaterThan(100);
  }, 180_000);
});
