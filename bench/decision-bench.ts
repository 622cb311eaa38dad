// Per-decision cost of routing, in one process so the variants compare as ratios:
//   - per-request Thompson sampling: draw Beta(α, β) for every arm, take the argmax;
//   - dynab's router: one alias-table draw from the plan computed once per posterior snapshot;
//   - the plan itself (P(best) by quadrature + alias table), paid once per snapshot.
import { performance } from 'node:perf_hooks';
import {
  decide,
  planFromWeights,
  planThompsonSampling,
  type ArmCounts,
} from '../lib/bandit/policies.ts';
import { createSeededRandom, sampleBeta } from '../lib/bandit/random.ts';

export interface DecisionBenchRow {
  readonly arms: number;
  readonly perRequestThompsonNs: number;
  readonly aliasDrawNs: number;
  readonly staticWeightsNs: number;
  readonly planBuildMs: number;
}

/** Median of `rounds` timings of `iterations` calls, in ns per call. */
function timePerCall(rounds: number, iterations: number, fn: () => number): number {
  const samples: number[] = [];
  let sink = 0;
  for (let r = 0; r < rounds; r++) {
    const start = performance.now();
    for (let i = 0; i < iterations; i++) sink += fn();
    samples.push(((performance.now() - start) * 1e6) / iterations);
  }
  if (sink === Number.MIN_VALUE) process.stdout.write(''); // keeps the loop from being optimised away
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)] ?? Number.NaN;
}

export function runDecisionBench(armCounts: readonly number[] = [2, 10, 100]): DecisionBenchRow[] {
  const random = createSeededRandom(42);
  return armCounts.map((k) => {
    // Posteriors of a running experiment: a few thousand rewards spread over the arms.
    const arms: ArmCounts[] = Array.from({ length: k }, (_, i) => {
      const count = 2_000 + 37 * i;
      const rate = 0.05 + (0.02 * i) / k;
      return {
        variant: `v${i}`,
        successes: Math.round(count * rate),
        failures: count - Math.round(count * rate),
        count,
      };
    });
    const prior = { alpha: 1, beta: 1 };
    const iterations = Math.max(2_000, Math.floor(400_000 / k));
    const perRequestThompsonNs = timePerCall(9, iterations, () => {
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
    const plan = planThompsonSampling(arms, prior);
    const aliasDrawNs = timePerCall(9, 400_000, () => decide(plan, random).propensity);
    const weights = planFromWeights(arms.map((a) => ({ name: a.variant, weight: 1 })));
    const staticWeightsNs = timePerCall(9, 400_000, () => decide(weights, random).propensity);
    const planBuildMs =
      timePerCall(7, 5, () => planThompsonSampling(arms, prior).probabilities.length) / 1e6;
    return { arms: k, perRequestThompsonNs, aliasDrawNs, staticWeightsNs, planBuildMs };
  });
}
