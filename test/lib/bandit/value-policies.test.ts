// Exact plans of the value-based policies (ε-greedy, UCB1, Gaussian Thompson sampling) and of
// the probability floor, on small hand-computed examples.
import { describe, expect, it } from 'vitest';
import { computeNormalProbabilityBest } from '../../../lib/bandit/normal-probability-best.ts';
import {
  applyProbabilityFloor,
  gaussianThompsonPosterior,
  planEpsilonGreedy,
  planFromWeights,
  planGaussianThompson,
  planUcb1,
  type RewardSums,
} from '../../../lib/bandit/policies.ts';

/** Sums of `weight` Bernoulli rewards of which `successes` are 1. */
function bernoulli(variant: string, weight: number, successes: number): RewardSums {
  return { variant, weight, rewardSum: successes, rewardSumSquares: successes };
}

function expectProbabilities(actual: readonly number[], expected: readonly number[]): void {
  expect(actual).toHaveLength(expected.length);
  expected.forEach((p, i) => expect(actual[i]).toBeCloseTo(p, 14));
}

describe('planEpsilonGreedy', () => {
  it('gives the best empirical mean 1 - ε + ε/K and every other variant ε/K', () => {
    const arms = [bernoulli('a', 10, 3), bernoulli('b', 20, 8), bernoulli('c', 5, 1)];
    const plan = planEpsilonGreedy(arms, 0.3);
    expect(plan.variants).toEqual(['a', 'b', 'c']);
    expectProbabilities(plan.probabilities, [0.1, 0.8, 0.1]);
    expectProbabilities(planEpsilonGreedy(arms, 0).probabilities, [0, 1, 0]);
    expectProbabilities(planEpsilonGreedy(arms, 1).probabilities, [1 / 3, 1 / 3, 1 / 3]);
  });

  it('splits the greedy share evenly between tied means', () => {
    // 2/4 = 5/10 = 0.5 exactly; 0.1 + 0.2 and 0.3 differ by one ulp and also count as tied.
    const plan = planEpsilonGreedy(
      [bernoulli('a', 4, 2), bernoulli('b', 10, 5), bernoulli('c', 10, 1)],
      0.2,
    );
    expectProbabilities(plan.probabilities, [0.2 / 3 + 0.4, 0.2 / 3 + 0.4, 0.2 / 3]);
    const ulp = planEpsilonGreedy(
      [
        { variant: 'x', weight: 1, rewardSum: 0.1 + 0.2, rewardSumSquares: 0.1 },
        { variant: 'y', weight: 1, rewardSum: 0.3, rewardSumSquares: 0.1 },
      ],
      0,
    );
    expectProbabilities(ulp.probabilities, [0.5, 0.5]);
  });

  it('treats untried variants as best until every variant has a reward', () => {
    const plan = planEpsilonGreedy(
      [bernoulli('a', 50, 45), bernoulli('b', 0, 0), bernoulli('c', 1e-13, 0)],
      0.1,
    );
    expectProbabilities(plan.probabilities, [0.1 / 3, 0.1 / 3 + 0.45, 0.1 / 3 + 0.45]);
  });

  it('works on fractional (discounted) weights and real-valued rewards', () => {
    const plan = planEpsilonGreedy(
      [
        { variant: 'a', weight: 0.75, rewardSum: -3, rewardSumSquares: 12 }, // mean -4
        { variant: 'b', weight: 2.5, rewardSum: -5, rewardSumSquares: 10 }, // mean -2
      ],
      0.5,
    );
    expectProbabilities(plan.probabilities, [0.25, 0.75]);
  });

  it('rejects ε outside [0, 1] and invalid sums', () => {
    const arms = [bernoulli('a', 1, 1)];
    for (const epsilon of [-0.01, 1.01, Number.NaN]) {
      expect(() => planEpsilonGreedy(arms, epsilon)).toThrow(RangeError);
    }
    expect(() => planEpsilonGreedy([], 0.1)).toThrow(RangeError);
    expect(() => planEpsilonGreedy([bernoulli('a', -1, 0)], 0.1)).toThrow(RangeError);
    expect(() =>
      planEpsilonGreedy(
        [{ variant: 'a', weight: 1, rewardSum: Number.NaN, rewardSumSquares: 0 }],
        0.1,
      ),
    ).toThrow(RangeError);
    expect(() => planEpsilonGreedy([bernoulli('a', 1, 1), bernoulli('a', 2, 1)], 0.1)).toThrow(
      RangeError,
    );
  });
});

describe('planUcb1', () => {
  it('splits evenly over untried variants first', () => {
    const plan = planUcb1([bernoulli('a', 0, 0), bernoulli('b', 5, 5), bernoulli('c', 0, 0)], 1);
    expectProbabilities(plan.probabilities, [0.5, 0, 0.5]);
  });

  it('plays the largest index mean + c·sqrt(2 ln N / n)', () => {
    // N = 12: index a = 0.6 + c·0.70497, index b = 0.4 + c·1.57636; they cross at c ≈ 0.2295.
    const arms = [bernoulli('a', 10, 6), { ...bernoulli('b', 2, 0.8) }];
    expectProbabilities(planUcb1(arms, 1).probabilities, [0, 1]);
    expectProbabilities(planUcb1(arms, 0.24).probabilities, [0, 1]);
    expectProbabilities(planUcb1(arms, 0.22).probabilities, [1, 0]);
    expectProbabilities(planUcb1(arms, 0).probabilities, [1, 0]);
  });

  it('splits evenly between tied indices', () => {
    const plan = planUcb1([bernoulli('a', 8, 4), bernoulli('b', 8, 4), bernoulli('c', 8, 1)], 0.5);
    expectProbabilities(plan.probabilities, [0.5, 0.5, 0]);
  });

  it('keeps a bonus of at least c·sqrt(2/n) when discounted weights sum to less than e', () => {
    // N = 0.7: ln N < 0 would make the bonus undefined, ln max(N, 1) = 0 would make the plan
    // greedy (a). With ln max(N, e) = 1: a = 0.6 + sqrt(2/0.5) = 2.6, b = 0.1 + sqrt(10) ≈ 3.26.
    const plan = planUcb1(
      [
        { variant: 'a', weight: 0.5, rewardSum: 0.3, rewardSumSquares: 0.3 },
        { variant: 'b', weight: 0.2, rewardSum: 0.02, rewardSumSquares: 0.02 },
      ],
      1,
    );
    expectProbabilities(plan.probabilities, [0, 1]);
  });

  it('rejects an invalid exploration constant', () => {
    const arms = [bernoulli('a', 1, 1)];
    for (const c of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => planUcb1(arms, c)).toThrow(RangeError);
    }
  });
});

describe('gaussianThompsonPosterior and planGaussianThompson', () => {
  const prior = { mean: 0, variance: 4, strength: 2 };

  it('computes the posterior of the mean from the reward sums and the prior', () => {
    // n = 8, Σr = 16, Σr² = 40: mean (0 + 16)/10 = 1.6; Σ(r - r̄)² = 40 - 256/8 = 8;
    // σ² = (2·4 + 8)/10 = 1.6; s² = 1.6/10 = 0.16.
    const posterior = gaussianThompsonPosterior(
      { variant: 'a', weight: 8, rewardSum: 16, rewardSumSquares: 40 },
      prior,
    );
    expect(posterior.mean).toBeCloseTo(1.6, 14);
    expect(posterior.sd).toBeCloseTo(0.4, 14);
    // Untried: the prior N(μ0, σ0²/n0) = N(0, 2).
    const untried = gaussianThompsonPosterior(
      { variant: 'b', weight: 0, rewardSum: 0, rewardSumSquares: 0 },
      prior,
    );
    expect(untried.mean).toBe(0);
    expect(untried.sd).toBeCloseTo(Math.SQRT2, 14);
  });

  it('clamps a slightly negative sum of squared deviations from rounding', () => {
    // Constant rewards 0.1 with a discounted weight: Σr² - (Σr)²/n is ~0, maybe just below.
    const weight = 3.7;
    const posterior = gaussianThompsonPosterior(
      {
        variant: 'a',
        weight,
        rewardSum: 0.1 * weight,
        rewardSumSquares: 0.01 * weight * 0.9999999999999999,
      },
      prior,
    );
    expect(posterior.sd).toBeCloseTo(Math.sqrt((2 * 4) / (2 + weight) / (2 + weight)), 12);
  });

  it('routes with P(best) of the normal posteriors', () => {
    const arms: RewardSums[] = [
      { variant: 'a', weight: 8, rewardSum: 16, rewardSumSquares: 40 },
      { variant: 'b', weight: 30, rewardSum: 51, rewardSumSquares: 120 },
      { variant: 'c', weight: 0, rewardSum: 0, rewardSumSquares: 0 },
    ];
    const plan = planGaussianThompson(arms, prior);
    expect(plan.probabilities).toEqual(
      computeNormalProbabilityBest(arms.map((arm) => gaussianThompsonPosterior(arm, prior))),
    );
    expect(plan.probabilities.reduce((sum, p) => sum + p, 0)).toBeCloseTo(1, 14);
  });

  it('rejects an invalid prior or invalid sums', () => {
    const arms = [{ variant: 'a', weight: 1, rewardSum: 1, rewardSumSquares: 1 }];
    for (const bad of [
      { mean: Number.NaN, variance: 1, strength: 1 },
      { mean: 0, variance: 0, strength: 1 },
      { mean: 0, variance: 1, strength: 0 },
      { mean: 0, variance: 1, strength: Number.POSITIVE_INFINITY },
    ]) {
      expect(() => planGaussianThompson(arms, bad)).toThrow(RangeError);
    }
    expect(() =>
      planGaussianThompson(
        [{ variant: 'a', weight: 1, rewardSum: 1, rewardSumSquares: -1 }],
        prior,
      ),
    ).toThrow(RangeError);
    expect(() => planGaussianThompson([], prior)).toThrow(RangeError);
  });
});

describe('applyProbabilityFloor', () => {
  const plan = planFromWeights([
    { name: 'a', weight: 0.7 },
    { name: 'b', weight: 0.3 },
    { name: 'c', weight: 0 },
  ]);

  it('gives p = f + (1 - K·f)·w', () => {
    const floored = applyProbabilityFloor(plan, 0.1);
    expect(floored.variants).toEqual(['a', 'b', 'c']);
    expectProbabilities(floored.probabilities, [0.1 + 0.7 * 0.7, 0.1 + 0.7 * 0.3, 0.1]);
    expect(floored.table).not.toBe(plan.table);
    expect(floored.table.size).toBe(3);
    const ucb = applyProbabilityFloor(
      planUcb1([bernoulli('x', 10, 2), bernoulli('y', 10, 9), bernoulli('z', 10, 1)], 0),
      0.05,
    );
    expectProbabilities(ucb.probabilities, [0.05, 0.9, 0.05]);
  });

  it('is the identity at f = 0 and uniform at f = 1/K', () => {
    const same = applyProbabilityFloor(plan, 0);
    expect(same.probabilities).toEqual(plan.probabilities);
    expect(same).not.toBe(plan);
    expectProbabilities(applyProbabilityFloor(plan, 1 / 3).probabilities, [1 / 3, 1 / 3, 1 / 3]);
  });

  it('rejects floors outside [0, 1/K]', () => {
    for (const floor of [-0.01, 0.34, 1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => applyProbabilityFloor(plan, floor)).toThrow(RangeError);
    }
  });
});
