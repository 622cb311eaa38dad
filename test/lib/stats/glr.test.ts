// Hand-computed examples; the numbers were also evaluated with mpmath 1.3 (mp.mp.dps = 40),
// expressions noted per value.
import { describe, expect, it } from 'vitest';
import { bernoulliDivergence, glrBestArm } from '../../../lib/stats/glr.ts';

const binary = (n: number, successes: number) => ({ n, sum: successes, sumSquares: successes });

describe('glrBestArm, Bernoulli', () => {
  it('matches the hand computation for 60/100 vs 40/100', () => {
    // μ_ab = 0.5; Z = 100 d(0.6, 0.5) + 100 d(0.4, 0.5) = 200 (0.6 ln 1.2 + 0.4 ln 0.8)
    //   = 4.0271027101377747 (mpmath); β = ln(2 · 200 · 1 / 0.05) = ln 8000.
    const result = glrBestArm([binary(100, 60), binary(100, 40)], 'bernoulli', 0.05);
    expect(result.leader).toBe(0);
    expect(result.statistic).toBeCloseTo(200 * (0.6 * Math.log(1.2) + 0.4 * Math.log(0.8)), 13);
    expect(result.statistic).toBeCloseTo(4.0271027101377747, 13);
    expect(result.threshold).toBeCloseTo(Math.log(8000), 13);
    expect(result.stop).toBe(false);
  });

  it('takes the minimum over challengers (three arms)', () => {
    // Leader 0.6 (n 100). vs 0.5 (n 200): μ_ab = 160/300, Z = 1.3463899812307031;
    // vs 0.3 (n 50): μ_ab = 75/150, Z = 6.1276952803214797. β = ln(2 · 350 · 2 / 0.05).
    const result = glrBestArm(
      [binary(200, 100), binary(100, 60), binary(50, 15)],
      'bernoulli',
      0.05,
    );
    expect(result.leader).toBe(1);
    expect(result.statistic).toBeCloseTo(1.3463899812307031, 13);
    expect(result.threshold).toBeCloseTo(10.239959789157341, 13);
    const withoutMiddle = glrBestArm([binary(100, 60), binary(50, 15)], 'bernoulli', 0.05);
    expect(withoutMiddle.statistic).toBeCloseTo(6.1276952803214797, 13);
  });

  it('stops once the evidence passes the threshold', () => {
    // Ten times the data of the first example: Z = 40.27 > ln(2 · 2000 / 0.05) ≈ 11.29.
    const result = glrBestArm([binary(1000, 600), binary(1000, 400)], 'bernoulli', 0.05);
    expect(result.statistic).toBeCloseTo(40.271027101377747, 11);
    expect(result.stop).toBe(true);
  });

  it('handles means of exactly 0 and 1 (0 ln 0 = 0)', () => {
    // 10/10 vs 0/10: μ_ab = 1/2, Z = 10 ln 2 + 10 ln 2.
    const result = glrBestArm([binary(10, 10), binary(10, 0)], 'bernoulli', 0.05);
    expect(result.statistic).toBeCloseTo(20 * Math.LN2, 13);
    expect(bernoulliDivergence(0, 0.25)).toBeCloseTo(-Math.log(0.75), 15);
    expect(bernoulliDivergence(0.3, 0.3)).toBe(0);
  });

  it('reports no leader without data, and Z = 0 for ties or unsampled arms', () => {
    expect(glrBestArm([binary(0, 0), binary(0, 0)], 'bernoulli', 0.1)).toEqual({
      leader: null,
      statistic: 0,
      threshold: Math.log((2 * 1 * 1) / 0.1),
      stop: false,
    });
    expect(glrBestArm([], 'bernoulli', 0.1).leader).toBeNull();
    const unsampled = glrBestArm([binary(100, 60), binary(0, 0)], 'bernoulli', 0.1);
    expect(unsampled.leader).toBe(0);
    expect(unsampled.statistic).toBe(0);
    const tie = glrBestArm([binary(100, 50), binary(200, 100)], 'bernoulli', 0.1);
    expect(tie.leader).toBe(0);
    expect(tie.statistic).toBe(0);
  });

  it('a single arm with data is trivially identified', () => {
    const result = glrBestArm([binary(5, 2)], 'bernoulli', 0.05);
    expect(result.leader).toBe(0);
    expect(result.statistic).toBe(Number.POSITIVE_INFINITY);
    expect(result.stop).toBe(true);
  });

  it('rejects bad delta, kinds and sums', () => {
    for (const delta of [0, 1, -0.5, Number.NaN]) {
      expect(() => glrBestArm([binary(1, 1)], 'bernoulli', delta)).toThrow(RangeError);
    }
    expect(() => glrBestArm([binary(10, 11)], 'bernoulli', 0.1)).toThrow(RangeError);
    expect(() => glrBestArm([{ n: -1, sum: 0, sumSquares: 0 }], 'gaussian', 0.1)).toThrow(
      RangeError,
    );
    expect(() => glrBestArm([binary(10, 1)], 'poisson' as unknown as 'gaussian', 0.1)).toThrow(
      RangeError,
    );
  });
});

describe('glrBestArm, Gaussian', () => {
  it('equals Δ²/(2σ²(1/n_a + 1/n_b)) with the pooled variance', () => {
    // Arm a: n 40, mean 1.2, Σ(r - r̄)² = 40 · 0.5 = 20. Arm b: n 60, mean 1.0, Σ(r - r̄)² = 60 · 0.8 = 48.
    // σ² = (20 + 48)/(100 - 2) = 68/98; Z = 0.2² / (2 σ² (1/40 + 1/60)).
    const a = { n: 40, sum: 48, sumSquares: 20 + (48 * 48) / 40 };
    const b = { n: 60, sum: 60, sumSquares: 48 + (60 * 60) / 60 };
    const result = glrBestArm([b, a], 'gaussian', 0.01);
    const variance = 68 / 98;
    expect(result.leader).toBe(1);
    expect(result.statistic).toBeCloseTo(0.04 / (2 * variance * (1 / 40 + 1 / 60)), 12);
    expect(result.threshold).toBeCloseTo(Math.log((2 * 100 * 1) / 0.01), 13);
    expect(result.stop).toBe(false);
  });

  it('does not stop on a degenerate (zero) pooled variance', () => {
    const constant = glrBestArm(
      [
        { n: 3, sum: 3, sumSquares: 3 },
        { n: 3, sum: 0, sumSquares: 0 },
      ],
      'gaussian',
      0.05,
    );
    expect(constant.leader).toBe(0);
    expect(constant.statistic).toBe(0);
    expect(constant.stop).toBe(false);
  });
});
