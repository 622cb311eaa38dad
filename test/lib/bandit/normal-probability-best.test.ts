import { describe, expect, it } from 'vitest';
import { normalCdf } from '../../../lib/bandit/normal-distribution.ts';
import {
  computeNormalProbabilityBest,
  type NormalArm,
} from '../../../lib/bandit/normal-probability-best.ts';

const INV_SQRT_TWO_PI = 1 / Math.sqrt(2 * Math.PI);

/**
 * Independent reference for P(k best) = ∫ φ_k ∏_{j≠k} Φ_j: a uniform grid over every arm's
 * ±12 sd with `stepsPerSd` steps per smallest sd. The CDFs are not taken from erfc but
 * integrated from the densities along the grid (Simpson on each step, with the midpoint),
 * and the outer integral is composite Simpson; both errors are O(h⁴), ~1e-12 here.
 */
function bruteForceProbabilityBest(arms: readonly NormalArm[], stepsPerSd = 200): number[] {
  const start = Math.min(...arms.map((arm) => arm.mean - 12 * arm.sd));
  const end = Math.max(...arms.map((arm) => arm.mean + 12 * arm.sd));
  const h0 = Math.min(...arms.map((arm) => arm.sd)) / stepsPerSd;
  const steps = 2 * Math.ceil((end - start) / (2 * h0));
  const h = (end - start) / steps;
  const density = (arm: NormalArm, x: number): number => {
    const z = (x - arm.mean) / arm.sd;
    return (INV_SQRT_TWO_PI / arm.sd) * Math.exp(-0.5 * z * z);
  };
  const cdfs = arms.map((arm) => {
    const cdf = new Float64Array(steps + 1);
    let previous = density(arm, start);
    for (let i = 1; i <= steps; i += 1) {
      const x = start + i * h;
      const current = density(arm, x);
      cdf[i] = (cdf[i - 1] ?? 0) + (h / 6) * (previous + 4 * density(arm, x - h / 2) + current);
      previous = current;
    }
    return cdf;
  });
  return arms.map((arm, k) => {
    let sum = 0;
    for (let i = 0; i <= steps; i += 1) {
      const x = start + i * h;
      let value = density(arm, x);
      cdfs.forEach((cdf, j) => {
        if (j !== k) value *= cdf[i] ?? 0;
      });
      sum += (i === 0 || i === steps ? 1 : i % 2 === 1 ? 4 : 2) * value;
    }
    return (h * sum) / 3;
  });
}

function expectClose(actual: readonly number[], expected: readonly number[], tolerance: number) {
  expect(actual).toHaveLength(expected.length);
  expected.forEach((p, k) => {
    expect(Math.abs((actual[k] ?? Number.NaN) - p)).toBeLessThan(tolerance);
  });
}

function sum(values: readonly number[]): number {
  return values.reduce((total, value) => total + value, 0);
}

describe('computeNormalProbabilityBest', () => {
  it('handles no arms and a single arm', () => {
    expect(computeNormalProbabilityBest([])).toEqual([]);
    expect(computeNormalProbabilityBest([{ mean: 3, sd: 2 }])).toEqual([1]);
  });

  it('matches the two-arm closed form Φ((m1 - m2)/sqrt(s1² + s2²))', () => {
    // sqrt(0.6² + 0.8²) = 1, so the argument is the mean difference; Φ(0.5), Φ(2), Φ(-3).
    for (const [difference, expected] of [
      [0.5, 0.6914624612740131],
      [2, 0.9772498680518208],
      [-3, 0.0013498980316300946],
      [0, 0.5],
    ] as const) {
      const [first, second] = computeNormalProbabilityBest([
        { mean: 10 + difference, sd: 0.6 },
        { mean: 10, sd: 0.8 },
      ]);
      expect(Math.abs((first ?? Number.NaN) - expected)).toBeLessThan(1e-12);
      expect(Math.abs((second ?? Number.NaN) - (1 - expected))).toBeLessThan(1e-12);
    }
    // Very different widths and scales.
    for (const [a, b] of [
      [
        { mean: 0.02, sd: 1e-3 },
        { mean: 0, sd: 0.05 },
      ],
      [
        { mean: 1200, sd: 40 },
        { mean: 1190, sd: 3 },
      ],
      [
        { mean: -5, sd: 2 },
        { mean: -5.001, sd: 2 },
      ],
    ] as const) {
      const [first] = computeNormalProbabilityBest([a, b]);
      const exact = normalCdf((a.mean - b.mean) / Math.hypot(a.sd, b.sd));
      expect(Math.abs((first ?? Number.NaN) - exact)).toBeLessThan(1e-12);
    }
  });

  it('matches brute-force integration for 2, 3 and 10 arms', () => {
    const cases: (readonly NormalArm[])[] = [
      [
        { mean: 0, sd: 1 },
        { mean: 0.3, sd: 1.7 },
      ],
      // Mixed widths.
      [
        { mean: 0, sd: 1 },
        { mean: 0.1, sd: 2 },
        { mean: 0.2, sd: 0.5 },
      ],
      // Nearly equal arms (means 1e-3 sd apart) and one dominated arm (10 sd below).
      [
        { mean: 5, sd: 0.2 },
        { mean: 5.0002, sd: 0.2 },
        { mean: 3, sd: 0.2 },
      ],
      // A narrow arm inside a wide one, plus a third.
      [
        { mean: 5, sd: 0.05 },
        { mean: 4.99, sd: 0.3 },
        { mean: 4.5, sd: 1 },
      ],
      // Ten arms: a ladder of means with growing widths, one clear leader pack.
      Array.from({ length: 10 }, (_, i) => ({ mean: 10 + 0.05 * i, sd: 0.1 + 0.01 * i })),
      // Ten nearly equal arms and one far behind.
      [
        ...Array.from({ length: 9 }, (_, i) => ({ mean: 1 + 1e-4 * i, sd: 0.02 })),
        { mean: 0.5, sd: 0.02 },
      ],
    ];
    for (const arms of cases) {
      const shares = computeNormalProbabilityBest(arms);
      expectClose(shares, bruteForceProbabilityBest(arms), 1e-9);
      expect(sum(shares)).toBeCloseTo(1, 14);
    }
  });

  it('gives identical arms equal shares, at every scale', () => {
    for (const arm of [
      { mean: 0, sd: 1 },
      { mean: 1e6, sd: 1e-3 },
      { mean: -3, sd: 50 },
    ]) {
      for (const share of computeNormalProbabilityBest([arm, arm, arm])) {
        expect(share).toBeCloseTo(1 / 3, 13);
      }
    }
    const hundred = computeNormalProbabilityBest(
      Array.from({ length: 100 }, () => ({ mean: 0.4, sd: 0.01 })),
    );
    for (const share of hundred) expect(share).toBeCloseTo(0.01, 13);
  });

  it('gives dominated arms (almost) nothing', () => {
    const shares = computeNormalProbabilityBest([
      { mean: 0, sd: 1 },
      { mean: 30, sd: 1 },
      { mean: 10, sd: 2 },
    ]);
    expect(shares[0]).toBeLessThan(1e-15);
    expect(shares[2]).toBeLessThan(1e-15);
    expect(shares[1]).toBeCloseTo(1, 14);
  });

  it('orders arms with equal widths by their means and is permutation-equivariant', () => {
    const arms = Array.from({ length: 20 }, (_, i) => ({ mean: 0.01 * ((i * 7) % 20), sd: 0.05 }));
    const shares = computeNormalProbabilityBest(arms);
    const byMean = arms
      .map((arm, i) => ({ mean: arm.mean, share: shares[i] ?? Number.NaN }))
      .sort((a, b) => a.mean - b.mean);
    for (let i = 1; i < byMean.length; i += 1) {
      expect(byMean[i]?.share ?? 0).toBeGreaterThan(byMean[i - 1]?.share ?? 1);
    }
    const reversed = computeNormalProbabilityBest([...arms].reverse()).reverse();
    shares.forEach((p, k) => expect(reversed[k]).toBeCloseTo(p, 14));
  });

  it('resolves posteriors far narrower than the spacing of doubles around their means', () => {
    // ulp(1e6) ≈ 1.16e-10; sd 1e-12 is a hundredth of it.
    expect(
      computeNormalProbabilityBest([
        { mean: 1e6, sd: 1e-12 },
        { mean: 1e6, sd: 1e-12 },
      ]),
    ).toEqual([0.5, 0.5]);
    const above = 1e6 + 2 * 1.1641532182693481e-10; // two ulps up
    const [higher] = computeNormalProbabilityBest([
      { mean: above, sd: 1.5e-10 },
      { mean: 1e6, sd: 2e-10 },
    ]);
    const exact = normalCdf((above - 1e6) / Math.hypot(1.5e-10, 2e-10));
    expect(Math.abs((higher ?? Number.NaN) - exact)).toBeLessThan(1e-12);
  });

  it('rejects invalid arms', () => {
    expect(() => computeNormalProbabilityBest([{ mean: 0, sd: 0 }])).toThrow(RangeError);
    expect(() => computeNormalProbabilityBest([{ mean: Number.NaN, sd: 1 }])).toThrow(RangeError);
    expect(() =>
      computeNormalProbabilityBest([
        { mean: 0, sd: 1 },
        { mean: 0, sd: Number.POSITIVE_INFINITY },
      ]),
    ).toThrow(RangeError);
    expect(() =>
      computeNormalProbabilityBest([
        { mean: 0, sd: 1 },
        { mean: 1e300, sd: 1e308 },
      ]),
    ).toThrow(RangeError);
  });
});
