// Reference values: mpmath 1.3 (mp.mp.dps = 40) and scipy 1.x, expressions noted per value.
import { describe, expect, it } from 'vitest';
import {
  chiSquareSurvival,
  regularizedGammaQ,
  sampleRatioMismatch,
} from '../../../lib/stats/chi-square.ts';
import { normalSurvival } from '../../../lib/bandit/normal-distribution.ts';

function expectRelative(actual: number, expected: number, tolerance: number): void {
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(tolerance * Math.abs(expected));
}

describe('chiSquareSurvival', () => {
  // [df, x, mp.gammainc(mp.mpf(df)/2, mp.mpf(x)/2, mp.inf, regularized=True)]
  // (= scipy.stats.chi2.sf(x, df) to ~1e-15)
  const references: [number, number, number][] = [
    [1, 0.001, 0.97477287936996039],
    [1, 1, 0.3173105078629141],
    [1, 3.841458820694124, 0.050000000000000057],
    [1, 10, 0.0015654022580025497],
    [1, 50, 1.5374597944280349e-12],
    [2, 0.5, 0.77880078307140487],
    [2, 5, 0.082084998623898795],
    [2, 100, 1.9287498479639178e-22],
    [3, 0.35, 0.95036611736847601],
    [3, 7.81, 0.050106056350005941],
    [3, 20, 0.00016974243555282643],
    [10, 2, 0.99634015317265629],
    [10, 10, 0.44049328506521241],
    [10, 18.307, 0.05000058909139812],
    [10, 40, 1.6944743930067384e-5],
    [10, 200, 1.6139305336977305e-37],
    [99, 50, 0.99999005454681246],
    [99, 99, 0.4810969124082639],
    [99, 123.225, 0.050001403840465294],
    [99, 200, 8.1939118914221111e-9],
    [99, 1000, 7.2296079024912631e-149],
    [100_000, 99_000, 0.9875216843619172],
    [100_000, 101_000, 0.01286884037723367],
  ];

  it('matches mpmath for df 1, 2, 3, 10, 99 and 10^5, in the centre and far tails', () => {
    for (const [df, x, expected] of references) {
      expectRelative(chiSquareSurvival(x, df), expected, 1e-12);
    }
  });

  it('agrees with the closed forms for df 1 and 2', () => {
    for (const x of [0.01, 0.7, 2.5, 9, 40, 300]) {
      // χ²(1) = Z², so P(X > x) = 2 (1 - Φ(√x)); χ²(2) is exponential with mean 2.
      expectRelative(chiSquareSurvival(x, 1), 2 * normalSurvival(Math.sqrt(x)), 1e-13);
      expectRelative(chiSquareSurvival(x, 2), Math.exp(-x / 2), 1e-13);
    }
  });

  it('handles the ends of the range and rejects bad input', () => {
    expect(chiSquareSurvival(0, 3)).toBe(1);
    expect(chiSquareSurvival(-1, 3)).toBe(1);
    expect(chiSquareSurvival(Number.POSITIVE_INFINITY, 3)).toBe(0);
    expect(() => chiSquareSurvival(Number.NaN, 3)).toThrow(RangeError);
    expect(() => chiSquareSurvival(1, 0)).toThrow(RangeError);
    expect(() => chiSquareSurvival(1, -2)).toThrow(RangeError);
    expect(() => chiSquareSurvival(1, Number.POSITIVE_INFINITY)).toThrow(RangeError);
    expect(() => regularizedGammaQ(1, -1)).toThrow(RangeError);
  });

  it('regularizedGammaQ(a, x) is e^{-x} for a = 1', () => {
    for (const x of [0.1, 1, 1.99, 2, 30])
      expectRelative(regularizedGammaQ(1, x), Math.exp(-x), 1e-14);
  });
});

describe('sampleRatioMismatch', () => {
  it('matches the textbook 50/50 example (50,000 vs 50,500 users)', () => {
    // scipy.stats.chisquare([50000, 50500]) -> statistic 2.487562189054726, pvalue 0.11474934170731495
    const result = sampleRatioMismatch([50_000, 50_500], [0.5, 0.5]);
    expect(result).not.toBeNull();
    expectRelative(result?.chiSquare ?? 0, 2.487562189054726, 1e-13);
    expectRelative(result?.pValue ?? 0, 0.11474934170731495, 1e-12);
    expect(result?.degreesOfFreedom).toBe(1);
  });

  it('rescales expected weights to the observed total (three cells, 1:1:2)', () => {
    // scipy.stats.chisquare([1030, 980, 2090], [1025, 1025, 2050])
    //   -> statistic 2.7804878048780486, pvalue 0.24901456196531116
    for (const expected of [
      [1, 1, 2],
      [0.25, 0.25, 0.5],
      [1025, 1025, 2050],
    ]) {
      const result = sampleRatioMismatch([1030, 980, 2090], expected);
      expectRelative(result?.chiSquare ?? 0, 2.7804878048780486, 1e-13);
      expectRelative(result?.pValue ?? 0, 0.24901456196531116, 1e-12);
      expect(result?.degreesOfFreedom).toBe(2);
    }
  });

  it('drops cells with nothing expected and nothing observed', () => {
    // scipy.stats.chisquare([1030, 980]) -> statistic 1.243781094527363, pvalue 0.2647435871058995
    const result = sampleRatioMismatch([1030, 0, 980], [1, 0, 1]);
    expect(result?.degreesOfFreedom).toBe(1);
    expectRelative(result?.chiSquare ?? 0, 1.243781094527363, 1e-13);
    expectRelative(result?.pValue ?? 0, 0.2647435871058995, 1e-12);
  });

  it('reports observations where none are expected as an outright mismatch', () => {
    expect(sampleRatioMismatch([100, 90, 3], [1, 1, 0])).toEqual({
      chiSquare: Number.POSITIVE_INFINITY,
      degreesOfFreedom: 2,
      pValue: 0,
    });
  });

  it('is null with fewer than two cells or no observations', () => {
    expect(sampleRatioMismatch([], [])).toBeNull();
    expect(sampleRatioMismatch([10], [1])).toBeNull();
    expect(sampleRatioMismatch([10, 0], [1, 0])).toBeNull();
    expect(sampleRatioMismatch([0, 0], [1, 1])).toBeNull();
  });

  it('rejects mismatched lengths, negative and non-finite counts', () => {
    expect(() => sampleRatioMismatch([1, 2], [1])).toThrow(RangeError);
    expect(() => sampleRatioMismatch([1, -2], [1, 1])).toThrow(RangeError);
    expect(() => sampleRatioMismatch([1, 2], [1, Number.NaN])).toThrow(RangeError);
    expect(() => sampleRatioMismatch([1, Number.POSITIVE_INFINITY], [1, 1])).toThrow(RangeError);
  });
});
