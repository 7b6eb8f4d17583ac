import { describe, expect, it } from 'vitest';
import { desiredStatus, statusPatchNeeded, type UntimedCondition } from './status.ts';

const T0 = new Date('2026-01-01T10:00:00.123Z');
const T1 = new Date('2026-01-01T11:00:00.456Z');

const accepted = (status: 'True' | 'False', reason = status === 'True' ? 'Accepted' : 'Invalid', generation = 1): UntimedCondition =>
  ({ type: 'Accepted', status, reason, message: `m-${reason}`, observedGeneration: generation });

describe('desiredStatus', () => {
  it('stamps new conditions with now (second precision) and reports them as transitions', () => {
    const { status, transitions } = desiredStatus(undefined, [accepted('True')], { generation: 1, keys: 2 }, T0);
    expect(status).toEqual({
      observedGeneration: 1, keys: 2,
      conditions: [{ type: 'Accepted', status: 'True', reason: 'Accepted', message: 'm-Accepted', observedGeneration: 1, lastTransitionTime: '2026-01-01T10:00:00Z' }],
    });
    expect(transitions).toEqual([{ type: 'Accepted', from: undefined, to: 'True', reason: 'Accepted', message: 'm-Accepted' }]);
  });

  it('keeps lastTransitionTime while the status stays (even with a new reason or generation), moves it on a change', () => {
    const first = desiredStatus(undefined, [accepted('False', 'Invalid')], { generation: 1 }, T0).status;
    const same = desiredStatus(first, [accepted('False', 'ModelNameConflict', 2)], { generation: 2 }, T1);
    expect(same.status.conditions[0]?.lastTransitionTime).toBe('2026-01-01T10:00:00Z');
    expect(same.status.conditions[0]?.reason).toBe('ModelNameConflict');
    expect(same.transitions).toEqual([]);
    const flipped = desiredStatus(first, [accepted('True')], { generation: 2 }, T1);
    expect(flipped.status.conditions[0]?.lastTransitionTime).toBe('2026-01-01T11:00:00Z');
    expect(flipped.transitions).toEqual([{ type: 'Accepted', from: 'False', to: 'True', reason: 'Accepted', message: 'm-Accepted' }]);
  });

  it('ModelRoute: ejected and saturated endpoints per backend and the CAPACITY text once proxies report; nothing of it before', () => {
    const backends = [{ name: 'vllm', endpoints: 3 }, { name: 'tgi', endpoints: 1 }];
    const none = desiredStatus(undefined, [accepted('True')], { generation: 1, backends }, T0).status;
    expect(none.backends).toEqual(backends);
    expect(none.capacity).toBeUndefined();
    const capacity = new Map([['vllm', { ejected: 1, saturated: 2 }]]);
    const short = desiredStatus(undefined, [accepted('True')], { generation: 1, backends, capacity }, T0).status;
    expect(short.backends).toEqual([{ name: 'vllm', endpoints: 3, ejected: 1, saturated: 2 }, { name: 'tgi', endpoints: 1, ejected: 0, saturated: 0 }]);
    expect(short.capacity).toBe('2 saturated, 1 ejected');
    expect(desiredStatus(undefined, [accepted('True')], { generation: 1, backends, capacity: new Map() }, T0).status.capacity).toBe('ok');
    expect(statusPatchNeeded(none, short)).toBe(true);
  });
});

describe('statusPatchNeeded', () => {
  const desired = desiredStatus(undefined, [accepted('True')], { generation: 1, backends: [{ name: 'b', endpoints: 1 }] }, T0).status;

  it('is false for an identical status, whatever the order of conditions or extra fields the server added', () => {
    const fromServer = JSON.parse(JSON.stringify(desired)) as Record<string, unknown>;
    expect(statusPatchNeeded(fromServer, desired)).toBe(false);
    const second = { ...desired.conditions[0]!, type: 'ResolvedRefs' };
    const two = { ...desired, conditions: [desired.conditions[0]!, second] };
    expect(statusPatchNeeded({ ...two, conditions: [second, desired.conditions[0]] }, two)).toBe(false);
  });

  it('is true when anything the operator owns differs', () => {
    expect(statusPatchNeeded(undefined, desired)).toBe(true);
    expect(statusPatchNeeded({ ...desired, observedGeneration: 0 }, desired)).toBe(true);
    expect(statusPatchNeeded({ ...desired, backends: [{ name: 'b', endpoints: 2 }] }, desired)).toBe(true);
    expect(statusPatchNeeded({ ...desired, conditions: [{ ...desired.conditions[0], message: 'old' }] }, desired)).toBe(true);
    expect(statusPatchNeeded({ ...desired, conditions: [] }, desired)).toBe(true);
  });
});
