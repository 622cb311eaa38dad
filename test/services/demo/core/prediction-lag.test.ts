import { describe, expect, it } from 'vitest';
import { formatLag, PredictionLag } from '../../../../services/demo/core/prediction-lag.ts';

describe('prediction lag of the demo', () => {
  it('is the age of the oldest request still waiting, and grows while nothing arrives', () => {
    const lag = new PredictionLag(5_000);
    lag.sent('a', 1_000);
    lag.sent('b', 1_100);
    lag.sent('c', 1_200);
    expect(lag.report(1_500)).toMatchObject({ lagMs: 500, waiting: 3 });
    expect(lag.report(4_000)).toMatchObject({ lagMs: 3_000, waiting: 3 });
    // The oldest one predicted: the next oldest sets the lag.
    expect(lag.predicted('a', 4_000)).toBe(true);
    expect(lag.report(4_000)).toMatchObject({ lagMs: 2_900, waiting: 2 });
    expect(lag.predicted('b', 4_100)).toBe(true);
    expect(lag.predicted('c', 4_100)).toBe(true);
    expect(lag.report(4_100)).toMatchObject({ lagMs: 0, waiting: 0 });
  });

  it('ignores unknown and repeated prediction ids', () => {
    const lag = new PredictionLag(5_000);
    lag.sent('a', 0);
    expect(lag.predicted('other', 10)).toBe(false);
    expect(lag.predicted('a', 10)).toBe(true);
    expect(lag.predicted('a', 20)).toBe(false);
    expect(lag.report(20)).toEqual({ lagMs: 0, waiting: 0, p50Ms: 10, p99Ms: 10 });
  });

  it('reports latency quantiles over the recent window only', () => {
    const lag = new PredictionLag(1_000);
    for (let i = 0; i < 100; i++) {
      lag.sent(`r${i}`, 0);
      lag.predicted(`r${i}`, i + 1); // latencies 1..100 ms
    }
    expect(lag.report(100)).toMatchObject({ p50Ms: 50, p99Ms: 99 });
    lag.sent('slow', 5_000);
    lag.predicted('slow', 5_700);
    // The first hundred fell out of the window; only the 700 ms one is left.
    expect(lag.report(5_800)).toMatchObject({ p50Ms: 700, p99Ms: 700 });
    expect(lag.report(7_000)).toMatchObject({ p50Ms: null, p99Ms: null });
  });

  it('formats one line for the live view', () => {
    expect(formatLag({ lagMs: 12.4, waiting: 3, p50Ms: 30, p99Ms: 81.6 })).toBe(
      'prediction lag 12 ms (3 waiting; request → prediction p50 30 ms, p99 82 ms)',
    );
    expect(formatLag({ lagMs: 0, waiting: 0, p50Ms: null, p99Ms: null })).toBe(
      'prediction lag 0 ms (0 waiting; request → prediction p50 –, p99 –)',
    );
  });
});
