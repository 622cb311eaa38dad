import { describe, expect, it } from 'vitest';
import {
  computeProbabilityBest,
  estimateProbabilityBestByMonteCarlo,
  type BetaArm,
} from '../../../lib/bandit/probability-best.ts';
import { createSeededRandom } from '../../../lib/bandit/random.ts';
import { probabilityBBeatsA } from './exact-beta.ts';

function sum(values: readonly number[]): number {
  return values.reduce((total, value) => total + value, 0);
}

/**
 * Asserts quadrature against a Monte Carlo estimate within 5 binomial standard errors
 * (sqrt(p(1-p)/draws), floored at one count so that p ≈ 0 is not a zero-width band).
 */
function expectWithinMonteCarloError(
  exact: readonly number[],
  estimate: readonly number[],
  draws: number,
): void {
  expect(estimate).toHaveLength(exact.length);
  exact.forEach((p, k) => {
    const standardError = Math.sqrt(Math.max(p * (1 - p), 1 / draws) / draws);
    expect(Math.abs((estimate[k] ?? Number.NaN) - p)).toBeLessThan(5 * standardError);
  });
}

describe('computeProbabilityBest', () => {
  it('handles no arms and a single arm', () => {
    expect(computeProbabilityBest([])).toEqual([]);
    expect(computeProbabilityBest([{ alpha: 3, beta: 9 }])).toEqual([1]);
  });

  it('gives identical arms equal shares, at every scale', () => {
    for (const arm of [
      { alpha: 1, beta: 1 },
      { alpha: 30, beta: 70 },
      { alpha: 500_000, beta: 500_000 },
    ]) {
      const shares = computeProbabilityBest([arm, arm, arm]);
      for (const share of shares) expect(share).toBeCloseTo(1 / 3, 12);
    }
    const hundred = computeProbabilityBest(
      Array.from({ length: 100 }, () => ({ alpha: 40, beta: 60 })),
    );
    for (const share of hundred) expect(share).toBeCloseTo(0.01, 12);
  });

  it('matches the exact two-arm formula for integer parameters', () => {
    // [arm A, arm B]; the reference is Evan Miller's closed form for P(B > A).
    const cases: [BetaArm, BetaArm][] = [
      [
        { alpha: 1, beta: 1 },
        { alpha: 1, beta: 1 },
      ],
      [
        { alpha: 2, beta: 3 },
        { alpha: 3, beta: 2 },
      ],
      [
        { alpha: 10, beta: 20 },
        { alpha: 12, beta: 18 },
      ],
      [
        { alpha: 200, beta: 800 },
        { alpha: 2, beta: 3 },
      ],
      // Concentrated and nearly tied: sd ≈ 2.2e-4 each, means 3e-4 apart.
      [
        { alpha: 50_001, beta: 950_001 },
        { alpha: 50_301, beta: 949_701 },
      ],
      // Concentrated and clearly separated (about 6.4 sd apart).
      [
        { alpha: 50_001, beta: 950_001 },
        { alpha: 52_001, beta: 948_001 },
      ],
      // A very narrow arm against a wide one.
      [
        { alpha: 1_000_000, beta: 1_000_000 },
        { alpha: 3, beta: 4 },
      ],
      // Rates near 0, far in the tails of each other.
      [
        { alpha: 1, beta: 10 },
        { alpha: 1, beta: 1_000_000 },
      ],
    ];
    for (const [armA, armB] of cases) {
      const [pA, pB] = computeProbabilityBest([armA, armB]);
      const exact = probabilityBBeatsA(armA, armB);
      expect(Math.abs((pB ?? Number.NaN) - exact)).toBeLessThan(1e-6);
      expect(Math.abs((pA ?? Number.NaN) - (1 - exact))).toBeLessThan(1e-6);
    }
  });

  it('resolves the concentrated pair Beta(50001, 950001) vs Beta(52001, 948001)', () => {
    const [worse, better] = computeProbabilityBest([
      { alpha: 50_001, beta: 950_001 },
      { alpha: 52_001, beta: 948_001 },
    ]);
    // Normal approximation: the gap is ~6.4 sd, so P(worse is best) ≈ 1e-10.
    expect(worse).toBeGreaterThanOrEqual(0);
    expect(worse).toBeLessThan(1e-8);
    expect(better).toBeCloseTo(1, 8);
  });

  it('matches per-draw Thompson sampling for 3 arms', { timeout: 60_000 }, () => {
    const arms = [
      { alpha: 3, beta: 7 },
      { alpha: 5, beta: 9 },
      { alpha: 2, beta: 2 },
    ];
    const draws = 200_000;
    expectWithinMonteCarloError(
      computeProbabilityBest(arms),
      estimateProbabilityBestByMonteCarlo(arms, draws, createSeededRandom(11)),
      draws,
    );
  });

  it(
    'matches per-draw Thompson sampling for 10 arms with a long tail of losers',
    { timeout: 60_000 },
    () => {
      const arms = Array.from({ length: 10 }, (_, i) => ({ alpha: 20 + 3 * i, beta: 200 - 5 * i }));
      const draws = 200_000;
      expectWithinMonteCarloError(
        computeProbabilityBest(arms),
        estimateProbabilityBestByMonteCarlo(arms, draws, createSeededRandom(12)),
        draws,
      );
    },
  );

  it(
    'matches per-draw Thompson sampling for concentrated, nearly tied arms',
    { timeout: 60_000 },
    () => {
      const arms = [
        { alpha: 50_001, beta: 950_001 },
        { alpha: 50_201, beta: 949_801 },
        { alpha: 50_301, beta: 949_701 },
        { alpha: 49_901, beta: 950_101 },
      ];
      const draws = 200_000;
      expectWithinMonteCarloError(
        computeProbabilityBest(arms),
        estimateProbabilityBestByMonteCarlo(arms, draws, createSeededRandom(13)),
        draws,
      );
    },
  );

  it(
    'matches per-draw Thompson sampling for sub-uniform priors and mixed widths',
    { timeout: 60_000 },
    () => {
      const arms = [
        { alpha: 0.5, beta: 0.5 },
        { alpha: 0.3, beta: 2 },
        { alpha: 1, beta: 1 },
        { alpha: 0.7, beta: 0.2 },
        { alpha: 400_000, beta: 600_000 },
      ];
      const draws = 200_000;
      expectWithinMonteCarloError(
        computeProbabilityBest(arms),
        estimateProbabilityBestByMonteCarlo(arms, draws, createSeededRandom(14)),
        draws,
      );
    },
  );

  it(
    'handles 100 arms: valid distribution, ordered by evidence, and close to Monte Carlo',
    { timeout: 60_000 },
    () => {
      const arms = Array.from({ length: 100 }, (_, i) => ({
        alpha: 50_000 + 6 * i,
        beta: 950_000,
      }));
      const shares = computeProbabilityBest(arms);
      expect(shares).toHaveLength(100);
      expect(sum(shares)).toBeCloseTo(1, 12);
      for (const share of shares) expect(share).toBeGreaterThanOrEqual(0);
      // Same beta, more successes: never less likely to be best.
      for (let i = 1; i < shares.length; i += 1) {
        expect(shares[i] ?? 0).toBeGreaterThanOrEqual((shares[i - 1] ?? 0) - 1e-12);
      }
      const draws = 20_000;
      expectWithinMonteCarloError(
        shares,
        estimateProbabilityBestByMonteCarlo(arms, draws, createSeededRandom(15)),
        draws,
      );
    },
  );

  it('gives dominated arms (almost) nothing and sums to 1', () => {
    const shares = computeProbabilityBest([
      { alpha: 1, beta: 1_000_000 },
      { alpha: 1_000_000, beta: 1 },
      { alpha: 10, beta: 90 },
    ]);
    expect(shares[0]).toBeLessThan(1e-9);
    expect(shares[2]).toBeLessThan(1e-9);
    expect(shares[1]).toBeCloseTo(1, 9);
    expect(sum(shares)).toBeCloseTo(1, 12);
  });

  it('is equivariant under permutations of the arms', () => {
    const arms = [
      { alpha: 12, beta: 30 },
      { alpha: 40, beta: 90 },
      { alpha: 7, beta: 20 },
    ];
    const forward = computeProbabilityBest(arms);
    const backward = computeProbabilityBest([...arms].reverse()).reverse();
    forward.forEach((p, k) => expect(backward[k]).toBeCloseTo(p, 12));
  });

  it('rejects invalid arms', () => {
    expect(() => computeProbabilityBest([{ alpha: 0, beta: 1 }])).toThrow(RangeError);
    expect(() =>
      computeProbabilityBest([
        { alpha: 1, beta: 1 },
        { alpha: 1, beta: Number.NaN },
      ]),
    ).toThrow(RangeError);
  });
});

describe('estimateProbabilityBestByMonteCarlo', () => {
  it('returns frequencies that sum to 1 and rejects a bad draw count', () => {
    const arms = [
      { alpha: 2, beta: 2 },
      { alpha: 3, beta: 1 },
    ];
    expect(sum(estimateProbabilityBestByMonteCarlo(arms, 1000, createSeededRandom(1)))).toBeCloseTo(
      1,
      12,
    );
    expect(() => estimateProbabilityBestByMonteCarlo(arms, 0, createSeededRandom(1))).toThrow(
      RangeError,
    );
    expect(() => estimateProbabilityBestByMonteCarlo(arms, 2.5, createSeededRandom(1))).toThrow(
      RangeError,
    );
  });
});
