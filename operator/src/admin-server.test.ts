import { Registry, Counter } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { startAdminServer } from './admin-server.ts';

describe('admin server', () => {
  it('serves /healthz, /readyz (503 until ready) and /metrics', async () => {
    const registry = new Registry();
    new Counter({ name: 'jairouter_operator_test_total', help: 'x', registers: [registry] }).inc();
    let ready = false;
    const admin = await startAdminServer({ host: '127.0.0.1', port: 0, ready: () => ready, registry });
    const base = `http://127.0.0.1:${admin.address().port}`;
    try {
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      expect((await fetch(`${base}/readyz`)).status).toBe(503);
      ready = true;
      expect((await fetch(`${base}/readyz`)).status).toBe(200);
      const metrics = await fetch(`${base}/metrics`);
      expect(await metrics.text()).toContain('jairouter_operator_test_total 1');
      expect((await fetch(`${base}/nope`)).status).toBe(404);
    } finally {
      await admin.close();
    }
  });
});
