import { describe, expect, it } from 'vitest';
import { EndpointHealth } from './endpoint-health.ts';

describe('EndpointHealth (passive ejection)', () => {
  it('ejects after consecutiveFailures and returns after ejectionTime', () => {
    const h = new EndpointHealth('k');
    expect(h.recordFailure(0, 3, 1000)).toBe(false);
    expect(h.recordFailure(1, 3, 1000)).toBe(false);
    expect(h.available(2)).toBe(true);
    expect(h.recordFailure(2, 3, 1000)).toBe(true);
    expect(h.available(500)).toBe(false);
    expect(h.available(1002)).toBe(true);
  });

  it('a success resets the count, so scattered failures never eject', () => {
    const h = new EndpointHealth('k');
    for (let i = 0; i < 100; i++) {
      expect(h.recordFailure(i, 2, 1000)).toBe(false);
      h.recordSuccess();
    }
    expect(h.available(100)).toBe(true);
  });

  it('is half-open after an ejection: one more failure ejects again, one success closes', () => {
    const h = new EndpointHealth('k');
    h.recordFailure(0, 2, 100);
    h.recordFailure(0, 2, 100);
    expect(h.available(150)).toBe(true);
    expect(h.recordFailure(150, 2, 100)).toBe(true);
    expect(h.available(200)).toBe(false);
    h.recordSuccess();
    expect(h.recordFailure(300, 2, 100)).toBe(false);
  });

  it('a 429 cooldown never shortens an existing one', () => {
    const h = new EndpointHealth('k');
    h.coolDown(5000);
    h.coolDown(1000);
    expect(h.available(4000)).toBe(false);
    expect(h.available(5000)).toBe(true);
  });
});

describe('EndpointHealth (active checks)', () => {
  it('goes down after unhealthyThreshold failed probes and up after healthyThreshold good ones', () => {
    const h = new EndpointHealth('k');
    expect(h.recordProbe(false, 2, 3)).toBe(false);
    expect(h.recordProbe(false, 2, 3)).toBe(true);
    expect(h.available(0)).toBe(false);
    expect(h.recordProbe(true, 2, 3)).toBe(false);
    expect(h.recordProbe(true, 2, 3)).toBe(false);
    expect(h.recordProbe(true, 2, 3)).toBe(true);
    expect(h.available(0)).toBe(true);
  });
});
