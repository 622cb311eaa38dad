// Every policy's decisions have the distribution its plan reports, and the Thompson plans have
// the distribution of per-request Thompson sampling. All checks are Pearson chi-square
// goodness-of-fit tests at p > 1e-4 on seeded draws; each is paired with a deliberately wrong
// distribution that the same test must reject, so none of them can pass vacuously.
import { describe, expect, it } from 'vitest';
import {
  applyProbabilityFloor,
  decide,
  gaussianThompsonPosterior,
  planEpsilonGreedy,
  planFromWeights,
  planGaussianThompson,
  planThompsonSampling,
  planUcb1,
  type ArmCounts,
  type NormalPrior,
  type RewardSums,
  type RoutingPlan,
} from '../../../lib/bandit/policies.ts';
import {
  createSeededRandom,
  sampleBeta,
  sampleStandardNormal,
} from '../../../lib/bandit/random.ts';
import { chiSquareGoodnessOfFit } from './chi-square.ts';

const DRAWS = 200_000;
const SIGNIFICANCE = 1e-4;

/**
 * A distribution that is wrong by `shift` probability: moved from the most likely outcome to
 * the least likely one that can still take it.
 */
function perturbed(probabilities: readonly number[], shift: number): number[] {
  const result = [...probabilities];
  let top = 0;
  let bottom = 0;
  result.forEach((p, i) => {
    if (p > (result[top] ?? 0)) top = i;
    if (p < (result[bottom] ?? 0)) bottom = i;
  });
  result[top] = (result[top] ?? 0) - shift;
  result[bottom] = (result[bottom] ?? 0) + shift;
  return result;
}

/**
 * Draws DRAWS decisions from the plan; checks that each decision's propensity is the plan's
 * probability of the chosen variant, that the choice frequencies fit the plan, and that they
 * do not fit a distribution off by one percentage point.
 */
function expectDecisionsFollowPlan(plan: RoutingPlan, seed: number): void {
  const random = createSeededRandom(seed);
  const index = new Map(plan.variants.map((variant, i) => [variant, i]));
  const counts = plan.variants.map(() => 0);
  let wrongPropensities = 0;
  for (let n = 0; n < DRAWS; n += 1) {
    const decision = decide(plan, random);
    const i = index.get(decision.variant);
    if (i === undefined) throw new Error(`unknown variant ${decision.variant}`);
    counts[i] = (counts[i] ?? 0) + 1;
    if (decision.propensity !== plan.probabilities[i]) wrongPropensities += 1;
  }
  expect(wrongPropensities).toBe(0);
  expect(chiSquareGoodnessOfFit(counts, plan.probabilities).pValue).toBeGreaterThan(SIGNIFICANCE);
  expect(chiSquareGoodnessOfFit(counts, perturbed(plan.probabilities, 0.01)).pValue).toBeLessThan(
    SIGNIFICANCE,
  );
}

const BETA_ARMS: readonly ArmCounts[] = [
  { variant: 'a', successes: 12, failures: 40, count: 52 },
  { variant: 'b', successes: 15, failures: 38, count: 53 },
  { variant: 'c', successes: 9, failures: 20, count: 29 },
  { variant: 'd', successes: 3, failures: 7, count: 10 },
];
const BETA_PRIOR = { alpha: 1, beta: 1 };

/** Real-valued rewards (revenue per request), one arm untried, one with discounted weight. */
const REVENUE_ARMS: readonly RewardSums[] = [
  { variant: 'a', weight: 40, rewardSum: 200, rewardSumSquares: 1_600 },
  { variant: 'b', weight: 25, rewardSum: 140, rewardSumSquares: 1_150 },
  { variant: 'c', weight: 12.5, rewardSum: 60, rewardSumSquares: 410 },
  { variant: 'd', weight: 0, rewardSum: 0, rewardSumSquares: 0 },
];
const NORMAL_PRIOR: NormalPrior = { mean: 5, variance: 16, strength: 1 };

describe('decisions follow the reported propensities', () => {
  it('Beta Thompson sampling', () => {
    expectDecisionsFollowPlan(planThompsonSampling(BETA_ARMS, BETA_PRIOR), 101);
  });

  it('Gaussian Thompson sampling', () => {
    expectDecisionsFollowPlan(planGaussianThompson(REVENUE_ARMS, NORMAL_PRIOR), 102);
  });

  it('ε-greedy', () => {
    const plan = planEpsilonGreedy(REVENUE_ARMS.slice(0, 3), 0.2);
    expect(plan.probabilities[1]).toBeCloseTo(0.2 / 3 + 0.8, 14);
    expectDecisionsFollowPlan(plan, 103);
  });

  it('UCB1 (a tie, so that the plan is not a single variant)', () => {
    const plan = planUcb1(
      [
        { variant: 'a', weight: 20, rewardSum: 9, rewardSumSquares: 9 },
        { variant: 'b', weight: 20, rewardSum: 9, rewardSumSquares: 9 },
        { variant: 'c', weight: 20, rewardSum: 4, rewardSumSquares: 4 },
      ],
      1,
    );
    expect(plan.probabilities).toEqual([0.5, 0.5, 0]);
    expectDecisionsFollowPlan(plan, 104);
  });

  it('static weights', () => {
    expectDecisionsFollowPlan(
      planFromWeights([
        { name: 'champion', weight: 90 },
        { name: 'challenger', weight: 9 },
        { name: 'canary', weight: 1 },
      ]),
      105,
    );
  });

  it('a probability floor over Thompson sampling and over UCB1', () => {
    expectDecisionsFollowPlan(
      applyProbabilityFloor(planThompsonSampling(BETA_ARMS, BETA_PRIOR), 0.05),
      106,
    );
    const floored = applyProbabilityFloor(planUcb1(REVENUE_ARMS.slice(0, 3), 2), 0.02);
    expect(Math.min(...floored.probabilities)).toBeCloseTo(0.02, 14);
    expectDecisionsFollowPlan(floored, 107);
  });
});

describe('Thompson plans match per-request Thompson sampling', () => {
  /** Chi-square of per-request argmax counts against the plan, and against a wrong plan. */
  function expectArgmaxFollowsPlan(counts: readonly number[], plan: RoutingPlan): void {
    expect(chiSquareGoodnessOfFit(counts, plan.probabilities).pValue).toBeGreaterThan(SIGNIFICANCE);
    expect(chiSquareGoodnessOfFit(counts, perturbed(plan.probabilities, 0.01)).pValue).toBeLessThan(
      SIGNIFICANCE,
    );
  }

  it('Beta: one Beta draw per arm per request, route to the largest', () => {
    const plan = planThompsonSampling(BETA_ARMS, BETA_PRIOR);
    const random = createSeededRandom(201);
    const counts = BETA_ARMS.map(() => 0);
    for (let n = 0; n < DRAWS; n += 1) {
      let best = 0;
      let bestValue = Number.NEGATIVE_INFINITY;
      BETA_ARMS.forEach((arm, j) => {
        const value = sampleBeta(
          BETA_PRIOR.alpha + arm.successes,
          BETA_PRIOR.beta + arm.failures,
          random,
        );
        if (value > bestValue) {
          bestValue = value;
          best = j;
        }
      });
      counts[best] = (counts[best] ?? 0) + 1;
    }
    expectArgmaxFollowsPlan(counts, plan);
  });

  it('Gaussian: one normal draw per arm per request, route to the largest', () => {
    const plan = planGaussianThompson(REVENUE_ARMS, NORMAL_PRIOR);
    const posteriors = REVENUE_ARMS.map((arm) => gaussianThompsonPosterior(arm, NORMAL_PRIOR));
    // Every arm must have a real share, or the comparison would say little.
    for (const p of plan.probabilities) expect(p).toBeGreaterThan(0.02);
    const random = createSeededRandom(202);
    const counts = posteriors.map(() => 0);
    for (let n = 0; n < DRAWS; n += 1) {
      let best = 0;
      let bestValue = Number.NEGATIVE_INFINITY;
      posteriors.forEach((posterior, j) => {
        const value = posterior.mean + posterior.sd * sampleStandardNormal(random);
        if (value > bestValue) {
          bestValue = value;
          best = j;
        }
      });
      counts[best] = (counts[best] ?? 0) + 1;
    }
    expectArgmaxFollowsPlan(counts, plan);
  });
});
