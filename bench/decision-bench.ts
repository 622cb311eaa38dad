// Per-decision cost of routing, in one process so the variants compare as ratios:
//   - per-request Thompson sampling: draw Beta(α, β) for every arm, take the argmax;
//   - dynab's router: one alias-table draw from the plan computed once per posterior snapshot;
//   - the plan itself, paid once per snapshot, for every policy: Beta Thompson sampling (P(best)
//     by quadrature), Gaussian Thompson sampling (normal P(best) by quadrature), ε-greedy,
//     UCB1, static weights, and Thompson sampling with a probability floor.
import { performance } from 'node:perf_hooks';
import {
  applyProbabilityFloor,
  decide,
  planEpsilonGreedy,
  planFromWeights,
  planGaussianThompson,
  planThompsonSampling,
  planUcb1,
  type ArmCounts,
  type RewardSums,
  type RoutingPlan,
} from '../lib/bandit/policies.ts';
import { createSeededRandom, sampleBeta } from '../lib/bandit/random.ts';

export const DECISION_BENCH_ROUNDS = 9;

export const POLICY_NAMES = [
  'thompson-sampling',
  'gaussian-thompson-sampling',
  'epsilon-greedy',
  'ucb1',
  'static-weights',
  'thompson-sampling + floor',
] as const;
export type BenchPolicy = (typeof POLICY_NAMES)[number];

export interface PolicyBenchRow {
  readonly policy: BenchPolicy;
  /** Building the plan (probabilities + alias table) from one snapshot, ms. */
  readonly planBuildMs: number;
  /** One decision (alias draw) from that plan, ns. */
  readonly drawNs: number;
}

export interface DecisionBenchRow {
  readonly arms: number;
  readonly perRequestThompsonNs: number;
  readonly aliasDrawNs: number;
  readonly staticWeightsNs: number;
  readonly planBuildMs: number;
  readonly policies: readonly PolicyBenchRow[];
}

/** Median of `rounds` timings of `iterations` calls, in ns per call, after one warm-up round. */
function timePerCall(rounds: number, iterations: number, fn: () => number): number {
  const samples: number[] = [];
  let sink = 0;
  for (let i = 0; i < iterations; i++) sink += fn(); // warm-up (JIT), not timed
  for (let r = 0; r < rounds; r++) {
    const start = performance.now();
    for (let i = 0; i < iterations; i++) sink += fn();
    samples.push(((performance.now() - start) * 1e6) / iterations);
  }
  if (sink === Number.MIN_VALUE) process.stdout.write(''); // keeps the loop from being optimised away
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)] ?? Number.NaN;
}

/**
 * Like timePerCall, but picks the number of calls per round so that a round takes about
 * `roundMs` (after a warm-up that also calibrates), for functions from ~1 µs to ~10 ms.
 */
function timeCalibrated(rounds: number, roundMs: number, fn: () => number): number {
  let sink = 0;
  let calls = 0;
  const start = performance.now();
  while (performance.now() - start < roundMs || calls < 3) {
    sink += fn();
    calls += 1;
  }
  const perCallMs = (performance.now() - start) / calls;
  if (sink === Number.MIN_VALUE) process.stdout.write('');
  return timePerCall(rounds, Math.max(3, Math.ceil(roundMs / perCallMs)), fn);
}

/** Bernoulli counts of a running experiment: ~2,000 rewards per arm, reward rates 5–7%. */
function bernoulliArms(k: number): ArmCounts[] {
  return Array.from({ length: k }, (_, i) => {
    const count = 2_000 + 37 * i;
    const successes = Math.round(count * (0.05 + (0.02 * i) / k));
    return { variant: `v${i}`, successes, failures: count - successes, count };
  });
}

/** Real-valued rewards (revenue): ~2,000 per arm, means 10.0–10.5, standard deviation 5. */
function revenueArms(k: number): RewardSums[] {
  return Array.from({ length: k }, (_, i) => {
    const weight = 2_000 + 37 * i;
    const mean = 10 + (0.5 * i) / k;
    return {
      variant: `v${i}`,
      weight,
      rewardSum: weight * mean,
      rewardSumSquares: weight * (25 + mean * mean),
    };
  });
}

export function runDecisionBench(armCounts: readonly number[] = [2, 10, 100]): DecisionBenchRow[] {
  const random = createSeededRandom(42);
  return armCounts.map((k) => {
    const arms = bernoulliArms(k);
    const sums: RewardSums[] = arms.map((arm) => ({
      variant: arm.variant,
      weight: arm.count,
      rewardSum: arm.successes,
      rewardSumSquares: arm.successes,
    }));
    const revenue = revenueArms(k);
    const prior = { alpha: 1, beta: 1 };
    const normalPrior = { mean: 10, variance: 25, strength: 1 };
    const floor = 0.05 / k; // 5% of the traffic spread uniformly

    const iterations = Math.max(2_000, Math.floor(400_000 / k));
    const perRequestThompsonNs = timePerCall(DECISION_BENCH_ROUNDS, iterations, () => {
      let best = 0;
      let bestValue = -1;
      for (let i = 0; i < arms.length; i++) {
        const arm = arms[i];
        if (arm === undefined) continue;
        const x = sampleBeta(prior.alpha + arm.successes, prior.beta + arm.failures, random);
        if (x > bestValue) {
          bestValue = x;
          best = i;
        }
      }
      return best;
    });

    const builders: Record<BenchPolicy, () => RoutingPlan> = {
      'thompson-sampling': () => planThompsonSampling(arms, prior),
      'gaussian-thompson-sampling': () => planGaussianThompson(revenue, normalPrior),
      'epsilon-greedy': () => planEpsilonGreedy(sums, 0.1),
      ucb1: () => planUcb1(sums, 1),
      'static-weights': () => planFromWeights(arms.map((a) => ({ name: a.variant, weight: 1 }))),
      'thompson-sampling + floor': () =>
        applyProbabilityFloor(planThompsonSampling(arms, prior), floor),
    };
    const policies = POLICY_NAMES.map((policy): PolicyBenchRow => {
      const build = builders[policy];
      const planBuildMs =
        timeCalibrated(DECISION_BENCH_ROUNDS, 50, () => build().probabilities.length) / 1e6;
      const plan = build();
      const drawNs = timePerCall(
        DECISION_BENCH_ROUNDS,
        400_000,
        () => decide(plan, random).propensity,
      );
      return { policy, planBuildMs, drawNs };
    });
    const byName = (name: BenchPolicy): PolicyBenchRow | undefined =>
      policies.find((row) => row.policy === name);
    return {
      arms: k,
      perRequestThompsonNs,
      aliasDrawNs: byName('thompson-sampling')?.drawNs ?? Number.NaN,
      staticWeightsNs: byName('static-weights')?.drawNs ?? Number.NaN,
      planBuildMs: byName('thompson-sampling')?.planBuildMs ?? Number.NaN,
      policies,
    };
  });
}
