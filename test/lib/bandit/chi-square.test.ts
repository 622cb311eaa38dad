import { describe, expect, it } from 'vitest';
import { createSeededRandom } from '../../../lib/bandit/random.ts';
import { chiSquareGoodnessOfFit, chiSquareUpperTail, countVariants } from './chi-square.ts';
import { regularizedGammaQ } from '../../../lib/stats/chi-square.ts';

describe('chiSquareUpperTail', () => {
  it('matches reference quantiles and closed forms', () => {
    // 95% quantiles of χ²_1, χ²_10, χ²_100 (reference values from mpmath at 30 digits).
    expect(chiSquareUpperTail(3.841458820694124, 1)).toBeCloseTo(0.05, 12);
    expect(chiSquareUpperTail(18.307038053275146, 10)).toBeCloseTo(0.05, 12);
    expect(chiSquareUpperTail(124.34211340400407, 100)).toBeCloseTo(0.05, 12);
    expect(chiSquareUpperTail(0.5, 3)).toBeCloseTo(0.91889141165467586, 12);
    const tail5 = chiSquareUpperTail(40, 5);
    expect(Math.abs(tail5 - 1.4933679000503952e-7) / 1.4933679000503952e-7).toBeLessThan(1e-10);
    const tail50 = chiSquareUpperTail(200, 50);
    expect(Math.abs(tail50 - 7.8576107246547436e-20) / 7.8576107246547436e-20).toBeLessThan(1e-9);
    // Two degrees of freedom: exp(-x/2); four: exp(-x/2)(1 + x/2).
    for (const x of [0.1, 1, 4, 30]) {
      expect(chiSquareUpperTail(x, 2)).toBeCloseTo(Math.exp(-x / 2), 13);
      expect(chiSquareUpperTail(x, 4)).toBeCloseTo(Math.exp(-x / 2) * (1 + x / 2), 13);
    }
    expect(chiSquareUpperTail(0, 3)).toBe(1);
    expect(regularizedGammaQ(2, 0)).toBe(1);
  });
});

describe('chiSquareGoodnessOfFit', () => {
  it('accepts draws from the tested distribution and rejects a slightly different one', () => {
    const probabilities = [0.5, 0.3, 0.15, 0.05];
    const random = createSeededRandom(7);
    const draws = 100_000;
    const picks: string[] = [];
    for (let i = 0; i < draws; i += 1) {
      let u = random();
      let k = 0;
      while (k < probabilities.length - 1 && u >= (probabilities[k] ?? 0)) {
        u -= probabilities[k] ?? 0;
        k += 1;
      }
      picks.push(`v${k}`);
    }
    const counts = countVariants(['v0', 'v1', 'v2', 'v3'], picks);
    expect(chiSquareGoodnessOfFit(counts, probabilities).pValue).toBeGreaterThan(1e-4);
    // One percentage point moved between two outcomes is ~6 standard errors at n = 100,000.
    expect(chiSquareGoodnessOfFit(counts, [0.49, 0.31, 0.15, 0.05]).pValue).toBeLessThan(1e-4);
    expect(chiSquareGoodnessOfFit(counts, [0.25, 0.25, 0.25, 0.25]).pValue).toBeLessThan(1e-100);
  });

  it('pools small expected counts and fails on impossible outcomes', () => {
    // Expected 1 and 2 are pooled (3), which is then merged into the smallest regular bin.
    const pooled = chiSquareGoodnessOfFit([500, 496, 1, 3], [0.5, 0.497, 0.001, 0.002]);
    expect(pooled.degreesOfFreedom).toBe(1);
    expect(pooled.pValue).toBeGreaterThan(0.5);
    expect(chiSquareGoodnessOfFit([10, 1], [1, 0]).pValue).toBe(0);
    expect(chiSquareGoodnessOfFit([10, 0], [1, 0]).pValue).toBe(1);
    expect(() => chiSquareGoodnessOfFit([1], [0.5, 0.5])).toThrow(RangeError);
  });
});
