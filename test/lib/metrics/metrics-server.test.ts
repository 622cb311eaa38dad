import { afterEach, describe, expect, it } from 'vitest';
import {
  startMetricsServer,
  type RunningMetricsServer,
} from '../../../lib/metrics/metrics-server.ts';
import { createMetricsRegistry } from '../../../lib/metrics/prom-metrics.ts';
import { Readiness } from '../../../lib/metrics/readiness.ts';

let server: RunningMetricsServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('startMetricsServer', () => {
  it('serves /metrics, /healthz, and /readyz by the readiness conditions', async () => {
    const registry = createMetricsRegistry({ service: 'router', processMetrics: false });
    registry.counter({ name: 'dynab_x_total', help: 'x', labelNames: [] }).labels().inc();
    const readiness = new Readiness();
    const tables = readiness.condition('tables not read yet');
    const member = readiness.condition('no partitions yet');
    server = await startMetricsServer({ host: '127.0.0.1', port: 0, registry, readiness });
    expect(server.url).toBe(`http://127.0.0.1:${server.port}/metrics`);
    const base = `http://127.0.0.1:${server.port}`;

    const metrics = await fetch(`${base}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await metrics.text()).toContain('dynab_x_total{service="router"} 1');
    expect((await fetch(`${base}/healthz`)).status).toBe(200);

    let ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.text()).toBe('not ready:\n- tables not read yet\n- no partitions yet\n');
    tables.set(true);
    member.set(false, 'consumer crashed');
    ready = await fetch(`${base}/readyz`);
    expect(await ready.text()).toBe('not ready:\n- consumer crashed\n');
    member.set(true);
    ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.text()).toBe('ready\n');

    expect((await fetch(`${base}/nope`)).status).toBe(404);
    expect((await fetch(`${base}/metrics`, { method: 'POST' })).status).toBe(405);
  });
});
