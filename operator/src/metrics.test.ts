import { describe, expect, it } from 'vitest';
import { CONTROLLER_NAME, OperatorMetrics } from './metrics.ts';
import { sample } from './metrics.test-support.ts';

describe('OperatorMetrics', () => {
  it('registerController creates every controller-runtime and workqueue series at its starting value', async () => {
    const m = new OperatorMetrics();
    m.registerController(CONTROLLER_NAME, { runningForMs: undefined }, 1);
    const text = await m.registry.metrics();
    const c = { controller: 'jairouter' };
    const q = { name: 'jairouter', controller: 'jairouter' };
    for (const result of ['success', 'error', 'requeue', 'requeue_after']) {
      expect(sample(text, 'controller_runtime_reconcile_total', { ...c, result })).toBe(0);
    }
    expect(sample(text, 'controller_runtime_reconcile_errors_total', c)).toBe(0);
    expect(sample(text, 'controller_runtime_max_concurrent_reconciles', c)).toBe(1);
    expect(sample(text, 'controller_runtime_active_workers', c)).toBe(0);
    expect(sample(text, 'workqueue_depth', q)).toBe(0);
    expect(sample(text, 'workqueue_adds_total', q)).toBe(0);
    expect(sample(text, 'workqueue_retries_total', q)).toBe(0);
    expect(sample(text, 'workqueue_unfinished_work_seconds', q)).toBe(0);
    expect(sample(text, 'workqueue_longest_running_processor_seconds', q)).toBe(0);
    expect(text).toContain('# TYPE controller_runtime_reconcile_time_seconds histogram');
    expect(text).toContain('# TYPE workqueue_queue_duration_seconds histogram');
    expect(text).toContain('# TYPE workqueue_work_duration_seconds histogram');
    expect(sample(text, 'jairouter_operator_proxies_versions_behind')).toBe(0);
  });

  it("uses controller-runtime's buckets: reconcile time 5 ms..60 s, workqueue 10 ns..1000 s by powers of 10", async () => {
    const m = new OperatorMetrics();
    m.controllerReconcileTime.observe({ controller: 'x' }, 0.3);
    m.workqueueQueueDuration.observe({ name: 'x', controller: 'x' }, 2e-6);
    const text = await m.registry.metrics();
    const les = (name: string) => [...text.matchAll(new RegExp(`^${name}_bucket\\{le="([^"]+)"`, 'gm'))].map((x) => x[1]);
    expect(les('controller_runtime_reconcile_time_seconds')).toHaveLength(41); // 40 bounds and +Inf
    expect(les('controller_runtime_reconcile_time_seconds').slice(0, 3)).toEqual(['0.005', '0.01', '0.025']);
    expect(les('controller_runtime_reconcile_time_seconds').at(-2)).toBe('60');
    expect(les('workqueue_queue_duration_seconds')).toEqual(['1e-8', '1e-7', '0.000001', '0.00001', '0.0001', '0.001', '0.01', '0.1', '1', '10', '100', '1000', '+Inf']);
    expect(sample(text, 'workqueue_queue_duration_seconds_bucket', { le: '0.00001' })).toBe(1);
    expect(sample(text, 'workqueue_queue_duration_seconds_bucket', { le: '0.000001' })).toBe(0);
  });

  it('the unfinished-work gauges read the run in flight at scrape time', async () => {
    const m = new OperatorMetrics();
    const probe: { runningForMs: number | undefined } = { runningForMs: 2500 };
    m.registerController('c', probe, 1);
    let text = await m.registry.metrics();
    expect(sample(text, 'workqueue_unfinished_work_seconds', { name: 'c', controller: 'c' })).toBe(2.5);
    expect(sample(text, 'workqueue_longest_running_processor_seconds', { name: 'c', controller: 'c' })).toBe(2.5);
    probe.runningForMs = undefined;
    text = await m.registry.metrics();
    expect(sample(text, 'workqueue_unfinished_work_seconds', { name: 'c', controller: 'c' })).toBe(0);
  });

  it('the jairouter_operator_* series that duplicate a controller-runtime one say so', async () => {
    const text = await new OperatorMetrics().registry.metrics();
    expect(text).toMatch(/# HELP jairouter_operator_reconcile_total .*controller_runtime_reconcile_total/);
    expect(text).toMatch(/# HELP jairouter_operator_reconcile_duration_seconds .*controller_runtime_reconcile_time_seconds/);
    expect(text).toMatch(/# HELP jairouter_operator_queue_depth .*workqueue_depth/);
    expect(text).toMatch(/# HELP jairouter_operator_reconcile_retries_total .*workqueue_retries_total/);
  });
});
