import { describe, expect, it } from 'vitest';
import {
  compareWithBaseline,
  formatBaselineComparison,
  hasRegression,
  sameRunOptions,
  SCALE_METRICS,
} from '../../bench/scale-baseline.ts';

const metrics = { rate: 'higher', latencyMs: 'lower' } as const;

describe('compareWithBaseline', () => {
  it('flags a throughput below 0.85 × the baseline, not one at or above it', () => {
    const at = compareWithBaseline({ rate: 85 }, { rate: 100 }, metrics);
    expect(at[0]?.status).toBe('ok');
    const below = compareWithBaseline({ rate: 84.9 }, { rate: 100 }, metrics);
    expect(below[0]?.status).toBe('REGRESSION');
    expect(below[0]?.ratio).toBeCloseTo(0.849);
    expect(compareWithBaseline({ rate: 150 }, { rate: 100 }, metrics)[0]?.status).toBe('ok');
  });

  it('flags a latency above baseline / 0.85, not one at or below it', () => {
    expect(
      compareWithBaseline({ latencyMs: 200 / 0.85 }, { latencyMs: 200 }, metrics)[1]?.status,
    ).toBe('ok');
    expect(compareWithBaseline({ latencyMs: 236 }, { latencyMs: 200 }, metrics)[1]?.status).toBe(
      'REGRESSION',
    );
    expect(compareWithBaseline({ latencyMs: 50 }, { latencyMs: 200 }, metrics)[1]?.status).toBe(
      'ok',
    );
  });

  it('reports metrics missing on either side without flagging them', () => {
    const rows = compareWithBaseline({ rate: 10, latencyMs: null }, {}, metrics);
    expect(rows.map((r) => r.status)).toEqual(['no baseline', 'not measured']);
    expect(hasRegression(rows)).toBe(false);
    expect(rows[0]?.ratio).toBeNaN();
  });

  it('ignores keys that are not metrics and values that are not numbers', () => {
    const rows = compareWithBaseline(
      { rate: 'fast', run: { requests: 1 } },
      { rate: 100, run: { requests: 2 } },
      metrics,
    );
    expect(rows).toHaveLength(2);
    expect(rows[0]?.status).toBe('not measured');
  });

  it('covers the headline metrics of the scale run', () => {
    for (const key of [
      'e2eRequestsPerSecond',
      'e2eSpamRequestsPerSecond',
      'kafkaProducerRecordsPerSecond',
      'kafkaProducerSpamRecordsPerSecond',
      'routerVsNoopTwin',
      'inferenceVsNoopTwin',
    ])
      expect(SCALE_METRICS[key]).toBe('higher');
    expect(SCALE_METRICS['labelToRouterP99Ms']).toBe('lower');
  });

  it('formats a table that marks regressions', () => {
    const table = formatBaselineComparison(
      compareWithBaseline({ rate: 50, latencyMs: 10 }, { rate: 100, latencyMs: 10 }, metrics),
    );
    expect(table).toContain('| rate | higher | 100 | 50.0 | 0.50× | **REGRESSION** |');
    expect(table).toContain('| latencyMs | lower | 10.0 | 10.0 | 1.00× | ok |');
    const noVerdict = formatBaselineComparison(
      compareWithBaseline({ rate: 50 }, { rate: 100 }, metrics),
      false,
    );
    expect(noVerdict).toContain('| rate | higher | 100 | 50.0 | 0.50× | worse |');
    expect(noVerdict).not.toContain('REGRESSION');
  });
});

describe('sameRunOptions', () => {
  it('compares requests, partitions and --quick, nothing else', () => {
    const run = { requests: 10_000, partitions: 4, quick: false, seconds: 585 };
    expect(sameRunOptions(run, { ...run, seconds: 612, broker: 'x' })).toBe(true);
    expect(sameRunOptions(run, { ...run, quick: true })).toBe(false);
    expect(sameRunOptions(run, { ...run, requests: 1_000 })).toBe(false);
    expect(sameRunOptions(run, undefined)).toBe(false);
  });
});
