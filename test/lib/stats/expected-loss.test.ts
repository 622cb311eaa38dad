// Reference values (expressions noted per case) come from two independent integrations of
// L_j = ∫ (F_j(x) - Π_k F_k(x)) dx:
// * mpmath 1.3, mp.mp.dps = 30: mp.quad over breakpoints at each arm's mean ± 2i sd, with
//   mp.betainc(a, b, 0, x, regularized=True) or mp.ncdf((x - m)/s);
// * scipy 1.x: scipy.integrate.quad(epsabs=1e-16, epsrel=1e-13) of scipy.special.betainc over
//   [0, 1] cut at each arm's mean ± i/2 sd (|i| <= 24).
// numpy Monte Carlo with 10^6 draws agreed with both within its standard error.
import { describe, expect, it } from 'vitest';
import { sampleBeta, createSeededRandom } from '../../../lib/bandit/random.ts';
import { expectedLossBeta, expectedLossNormal } from '../../../lib/stats/expected-loss.ts';

function expectAllClose(
  actual: readonly number[],
  expected: readonly number[],
  tolerance: number,
): void {
  expect(actual).toHaveLength(expected.length);
  actual.forEach((value, i) => {
    expect(Math.abs(value - (expected[i] ?? Number.NaN))).toBeLessThanOrEqual(tolerance);
  });
}

describe('expectedLossBeta', () => {
  it('matches mpmath for two arms', () => {
    // mpmath: arms Beta(11, 91), Beta(21, 81)
    const losses = expectedLossBeta([
      { alpha: 11, beta: 91 },
      { alpha: 21, beta: 81 },
    ]);
    expectAllClose(losses, [0.098518574990272265, 0.00047935930399775472], 1e-10);
  });

  it('matches mpmath for three arms with singular densities at 0 and 1', () => {
    // mpmath: arms Beta(1, 1), Beta(2, 5), Beta(0.5, 0.5)
    const losses = expectedLossBeta([
      { alpha: 1, beta: 1 },
      { alpha: 2, beta: 5 },
      { alpha: 0.5, beta: 0.5 },
    ]);
    expectAllClose(losses, [0.20665250505719866, 0.42093821934291295, 0.20665250505719866], 1e-10);
  });

  it('matches scipy for ten overlapping arms', () => {
    // scipy: arms Beta(500 + 20k, 10000 - 37k), k = 0..9
    const arms = Array.from({ length: 10 }, (_, k) => ({
      alpha: 500 + 20 * k,
      beta: 10_000 - 37 * k,
    }));
    expectAllClose(
      expectedLossBeta(arms),
      [
        0.018792152839399764, 0.016807079500706288, 0.014815557423859203, 0.012817555133535908,
        0.010813040949244932, 0.008801982983651424, 0.006784349140886326, 0.004760107114838879,
        0.002729224387432338, 0.0006916682268826899,
      ],
      1e-10,
    );
  });

  it('resolves the small losses of concentrated posteriors (parameters ~10^6)', () => {
    // scipy: arms Beta(50001, 950001), Beta(50301, 949701)
    const losses = expectedLossBeta([
      { alpha: 50_001, beta: 950_001 },
      { alpha: 50_301, beta: 949_701 },
    ]);
    expectAllClose(losses, [0.0003271191878710386, 2.7119787869838613e-5], 1e-12);
  });

  it('matches scipy for a very skewed arm (Beta(0.05, 5), density ~x^-0.95 at 0)', () => {
    // scipy: arms Beta(0.05, 5), Beta(1, 3); quad cut at 1e-300, 1e-200, …, 1e-3, 0.01, 0.1, …
    const losses = expectedLossBeta([
      { alpha: 0.05, beta: 5 },
      { alpha: 1, beta: 3 },
    ]);
    expectAllClose(losses, [0.24222420560111685, 0.0021251957001266752], 1e-10);
  });

  it('gives identical arms identical losses, and a dominated arm its gap', () => {
    // scipy: arms Beta(120, 880) twice and Beta(60, 940)
    const losses = expectedLossBeta([
      { alpha: 120, beta: 880 },
      { alpha: 120, beta: 880 },
      { alpha: 60, beta: 940 },
    ]);
    expect(losses[0]).toBe(losses[1]);
    expectAllClose(
      losses,
      [0.005791582305544692, 0.005791582305544692, 0.06579158230554466],
      1e-10,
    );
    // Far apart: the leader loses (almost) nothing, the other the difference of the means.
    const apart = expectedLossBeta([
      { alpha: 10, beta: 990 },
      { alpha: 900, beta: 100 },
    ]);
    expect(apart[1]).toBeLessThan(1e-12);
    expect(apart[0]).toBeCloseTo(0.9 - 0.01, 12);
  });

  it('agrees with a seeded Monte Carlo estimate (2·10^5 draws)', () => {
    const arms = [
      { alpha: 3, beta: 7 },
      { alpha: 4, beta: 6 },
      { alpha: 2.5, beta: 7.5 },
    ];
    const draws = 200_000;
    const random = createSeededRandom(20_261_123);
    const sum = [0, 0, 0];
    const sumSquares = [0, 0, 0];
    for (let i = 0; i < draws; i += 1) {
      const theta = arms.map((arm) => sampleBeta(arm.alpha, arm.beta, random));
      const best = Math.max(...theta);
      theta.forEach((value, j) => {
        const regret = best - value;
        sum[j] = (sum[j] ?? 0) + regret;
        sumSquares[j] = (sumSquares[j] ?? 0) + regret * regret;
      });
    }
    const losses = expectedLossBeta(arms);
    losses.forEach((loss, j) => {
      const mean = (sum[j] ?? 0) / draws;
      const standardError = Math.sqrt(((sumSquares[j] ?? 0) / draws - mean * mean) / draws);
      expect(Math.abs(loss - mean)).toBeLessThan(5 * standardError);
    });
  });

  it('handles 100 arms and orders them by mean', () => {
    const arms = Array.from({ length: 100 }, (_, k) => ({
      alpha: 50_000 + 13 * k,
      beta: 950_000 - 11 * k,
    }));
    const losses = expectedLossBeta(arms);
    expect(losses).toHaveLength(100);
    for (let k = 1; k < 100; k += 1) expect(losses[k]).toBeLessThan(losses[k - 1] ?? 0);
    expect(losses[99]).toBeGreaterThan(0);
  });

  it('returns [] and [0] for no arm and one arm, and rejects bad parameters', () => {
    expect(expectedLossBeta([])).toEqual([]);
    expect(expectedLossBeta([{ alpha: 2, beta: 3 }])).toEqual([0]);
    expect(() =>
      expectedLossBeta([
        { alpha: 0, beta: 1 },
        { alpha: 1, beta: 1 },
      ]),
    ).toThrow(RangeError);
    expect(() => expectedLossBeta([{ alpha: 1, beta: Number.NaN }])).toThrow(RangeError);
  });
});

describe('expectedLossNormal', () => {
  it('matches the two-arm closed form and mpmath', () => {
    // Closed form: L_1 = s φ(δ/s) + δ Φ(δ/s), δ = μ_2 - μ_1 = 0.5, s = sqrt(1 + 4);
    // mpmath quad: [1.1642711489467626, 0.66427114894676262] (L_2 = L_1 - δ).
    const losses = expectedLossNormal([
      { mean: 0, sd: 1 },
      { mean: 0.5, sd: 2 },
    ]);
    expectAllClose(losses, [1.1642711489467626, 0.66427114894676262], 1e-9);
  });

  it('matches mpmath with a point mass (sd = 0) among the arms', () => {
    // mpmath: arms N(0, 1), N(0.5, 2²), point mass at 0.2
    const losses = expectedLossNormal([
      { mean: 0, sd: 1 },
      { mean: 0.5, sd: 2 },
      { mean: 0.2, sd: 0 },
    ]);
    expectAllClose(losses, [1.3268595044339368, 0.82685950443393684, 1.1268595044339368], 1e-9);
  });

  it('matches mpmath for ten arms', () => {
    // mpmath: arms N(0.1k, (0.5 + 0.1k)²), k = 0..9; L_k = E[max] - 0.1k
    const arms = Array.from({ length: 10 }, (_, k) => ({ mean: 0.1 * k, sd: 0.5 + 0.1 * k }));
    const expected = Array.from({ length: 10 }, (_, k) => 2.2049014132898479 - 0.1 * k);
    expectAllClose(expectedLossNormal(arms), expected, 1e-9);
  });

  it('is translation-equivariant and scales with the posteriors', () => {
    const arms = [
      { mean: 0.3, sd: 0.2 },
      { mean: 0.1, sd: 0.5 },
      { mean: 0.35, sd: 0.05 },
    ];
    const base = expectedLossNormal(arms);
    const shifted = expectedLossNormal(arms.map((a) => ({ mean: a.mean + 1000, sd: a.sd })));
    const scaled = expectedLossNormal(arms.map((a) => ({ mean: 1e-4 * a.mean, sd: 1e-4 * a.sd })));
    expectAllClose(shifted, base, 1e-9);
    expectAllClose(
      scaled.map((v) => v * 1e4),
      base,
      1e-9,
    );
  });

  it('is the gap to the best mean for point masses', () => {
    expectAllClose(
      expectedLossNormal([
        { mean: 1, sd: 0 },
        { mean: 3, sd: 0 },
        { mean: 2.5, sd: 0 },
      ]),
      [2, 0, 0.5],
      1e-14,
    );
  });

  it('gives identical arms identical losses, and rejects bad input', () => {
    const losses = expectedLossNormal([
      { mean: 1, sd: 0.3 },
      { mean: 1, sd: 0.3 },
    ]);
    expect(losses[0]).toBe(losses[1]);
    // E[max of two iid N(μ, s²)] - μ = s/√π.
    expect(losses[0]).toBeCloseTo(0.3 / Math.sqrt(Math.PI), 10);
    expect(() => expectedLossNormal([{ mean: 0, sd: -1 }])).toThrow(RangeError);
    expect(() => expectedLossNormal([{ mean: Number.NaN, sd: 1 }])).toThrow(RangeError);
  });
});
