import { describe, expect, it } from 'vitest';
import {
  MAX_SERIES_PER_FAMILY,
  OVERFLOW_LABEL,
  createMetricsRegistry,
} from '../../../lib/metrics/prom-metrics.ts';

const spec = {
  name: 'dynab_test_things_total',
  help: 'Things.',
  labelNames: ['experiment', 'variant'],
} as const;

describe('createMetricsRegistry', () => {
  it('labels every series with the service and serves Prometheus text', async () => {
    const registry = createMetricsRegistry({ service: 'router', instance: 'a' });
    const things = registry.counter(spec);
    things.labels('spam-filter', 'champion').inc();
    things.labels('spam-filter', 'champion').inc(2);
    const text = await registry.exposition();
    expect(text).toContain(
      'dynab_test_things_total{experiment="spam-filter",variant="champion",service="router",instance="a"} 3',
    );
    expect(text).toContain('process_cpu_seconds_total');
    expect(registry.contentType).toMatch(/^text\/plain/);
  });

  it('hands out the same child for the same labels, and removes it', async () => {
    const registry = createMetricsRegistry({ service: 's', processMetrics: false });
    const things = registry.counter(spec);
    expect(things.labels('e', 'v')).toBe(things.labels('e', 'v'));
    expect(things.labels('e', 'v')).not.toBe(things.labels('e', 'w'));
    things.labels('e', 'v').inc();
    things.remove('e', 'v');
    expect(await registry.exposition()).not.toContain('variant="v"');
  });

  it('keeps counting between scrapes, each scrape showing the running total', async () => {
    const registry = createMetricsRegistry({ service: 's', processMetrics: false });
    const things = registry.counter(spec);
    const child = things.labels('e', 'v');
    for (let i = 0; i < 1000; i++) child.inc();
    expect(await registry.exposition()).toContain('variant="v",service="s"} 1000');
    child.inc(0.5);
    expect(await registry.exposition()).toContain('variant="v",service="s"} 1000.5');
    expect(await registry.exposition()).toContain('variant="v",service="s"} 1000.5');
    expect(() => child.inc(-1)).toThrow(/only goes up/);
    expect(() => child.inc(Number.NaN)).toThrow(/only goes up/);
    // A removed child's series is gone, and a new child of the same labels starts from 0.
    things.remove('e', 'v');
    things.labels('e', 'v').inc(2);
    expect(await registry.exposition()).toContain('variant="v",service="s"} 2');
  });

  it('shares one family between two requests for the same name', () => {
    const registry = createMetricsRegistry({ service: 's', processMetrics: false });
    const a = registry.counter(spec);
    const b = registry.counter(spec);
    expect(a.labels('e', 'v')).toBe(b.labels('e', 'v'));
  });

  it('bounds the label sets of a family: made-up names end under _other', async () => {
    const registry = createMetricsRegistry({ service: 's', processMetrics: false });
    const things = registry.counter(spec);
    for (let i = 0; i < MAX_SERIES_PER_FAMILY + 50; i++) things.labels(`e${i}`, 'v').inc();
    const text = await registry.exposition();
    expect(text.split('\n').filter((line) => line.startsWith(spec.name))).toHaveLength(
      MAX_SERIES_PER_FAMILY + 1,
    );
    expect(text).toContain(
      `dynab_test_things_total{experiment="${OVERFLOW_LABEL}",variant="${OVERFLOW_LABEL}",service="s"} 50`,
    );
  });

  it('reads counters and gauges from their sources when scraped, summing several', async () => {
    const registry = createMetricsRegistry({ service: 's', processMetrics: false });
    let a = 2;
    const base = { help: 'x', labelNames: [] } as const;
    registry.counterFrom({ name: 'dynab_a_total', ...base }, () => a);
    registry.counterFrom({ name: 'dynab_a_total', ...base }, () => 5);
    registry.gaugeFrom(
      { name: 'dynab_age_seconds', help: 'x', labelNames: ['experiment'] },
      (set) => set(1.5, 'e'),
    );
    expect(await registry.exposition()).toContain('dynab_a_total{service="s"} 7');
    a = 10;
    const text = await registry.exposition();
    expect(text).toContain('dynab_a_total{service="s"} 15');
    expect(text).toContain('dynab_age_seconds{experiment="e",service="s"} 1.5');
  });

  it('records histograms in the buckets given', async () => {
    const registry = createMetricsRegistry({ service: 's', processMetrics: false });
    const latency = registry.histogram({
      name: 'dynab_x_seconds',
      help: 'x',
      labelNames: [],
      buckets: [0.1, 1],
    });
    latency.labels().observe(0.05);
    latency.labels().observe(0.5);
    const text = await registry.exposition();
    expect(text).toContain('dynab_x_seconds_bucket{le="0.1",service="s"} 1');
    expect(text).toContain('dynab_x_seconds_count{service="s"} 2');
  });
});
