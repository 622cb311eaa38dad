// Frequentist two-sample tests on aggregated rewards: the pooled two-proportion z-test and the
// large-sample Welch z-test. Both are two-sided and compare arm b against arm a (difference =
// b - a), and both work from sufficient statistics (counts and sums), which is all the
// aggregator keeps.

import { normalSurvival } from '../bandit/normal-distribution.ts';
import { assertRewardSums, centredSumOfSquares, type RewardSums } from './reward-sums.ts';

export type { RewardSums } from './reward-sums.ts';

export interface ZTestResult {
  /** The standardised difference (b - a) / se. */
  readonly z: number;
  /** Two-sided p-value 2 (1 - Φ(|z|)). */
  readonly pValue: number;
  /** The estimated difference of b and a (of proportions or of means). */
  readonly difference: number;
}

/** Successes (a count, or a sum of rewards in [0, 1]) out of trials. */
export interface ProportionSample {
  readonly successes: number;
  readonly trials: number;
}

/**
 * Pooled two-proportion z-test (e.g. Agresti, "Categorical Data Analysis", §3.1; Fleiss, Levin &
 * Paik, "Statistical Methods for Rates and Proportions", §2.5), two-sided, of b against a:
 *   p̂_a = s_a/n_a,  p̂_b = s_b/n_b,  p̂ = (s_a + s_b)/(n_a + n_b),
 *   z = (p̂_b - p̂_a) / sqrt(p̂ (1 - p̂) (1/n_a + 1/n_b)),   p = 2 (1 - Φ(|z|)).
 * The pooled variance is the variance under H₀: p_a = p_b. Successes may be fractional (sums of
 * [0, 1] rewards), in which case the test is the same large-sample approximation. Returns null
 * when a trial count is 0 or the pooled variance is 0 (all successes or all failures).
 */
export function twoProportionZTest(a: ProportionSample, b: ProportionSample): ZTestResult | null {
  assertProportion(a, 'a');
  assertProportion(b, 'b');
  if (a.trials === 0 || b.trials === 0) return null;
  const rateA = a.successes / a.trials;
  const rateB = b.successes / b.trials;
  const pooled = (a.successes + b.successes) / (a.trials + b.trials);
  const variance = pooled * (1 - pooled) * (1 / a.trials + 1 / b.trials);
  if (!(variance > 0)) return null;
  const difference = rateB - rateA;
  const z = difference / Math.sqrt(variance);
  return { z, pValue: twoSidedPValue(z), difference };
}

/**
 * Welch's test of the difference of means (Welch 1947, "The generalization of 'Student's'
 * problem when several different population variances are involved"), in its large-sample
 * form: the statistic is referred to N(0, 1) rather than to Student's t with the
 * Welch–Satterthwaite degrees of freedom, which is accurate for the sample sizes of online
 * experiments (hundreds or more per arm). From the sums:
 *   r̄ = Σr/n,   s² = (Σr² - (Σr)²/n)/(n - 1)  (clamped at 0 against rounding),
 *   z = (r̄_b - r̄_a) / sqrt(s_a²/n_a + s_b²/n_b),   p = 2 (1 - Φ(|z|)).
 * Returns null when either n < 2 or both sample variances are 0.
 */
export function welchZTest(a: RewardSums, b: RewardSums): ZTestResult | null {
  assertRewardSums(a, 'a');
  assertRewardSums(b, 'b');
  if (a.n < 2 || b.n < 2) return null;
  const meanA = a.sum / a.n;
  const meanB = b.sum / b.n;
  const standardErrorSquared = sampleVariance(a) / a.n + sampleVariance(b) / b.n;
  if (!(standardErrorSquared > 0)) return null;
  const difference = meanB - meanA;
  const z = difference / Math.sqrt(standardErrorSquared);
  return { z, pValue: twoSidedPValue(z), difference };
}

/** s² = Σ(r - r̄)²/(n - 1); n >= 2. */
function sampleVariance(sums: RewardSums): number {
  return centredSumOfSquares(sums) / (sums.n - 1);
}

/** 2 (1 - Φ(|z|)), capped at 1 (z = 0 gives exactly 1). */
function twoSidedPValue(z: number): number {
  return Math.min(1, 2 * normalSurvival(Math.abs(z)));
}

function assertProportion(sample: ProportionSample, name: string): void {
  const { successes, trials } = sample;
  if (!(Number.isFinite(trials) && trials >= 0)) {
    throw new RangeError(`${name}.trials must be finite and >= 0, got ${trials}`);
  }
  if (!(Number.isFinite(successes) && successes >= 0 && successes <= trials)) {
    throw new RangeError(
      `${name}.successes must be finite and in [0, trials = ${trials}], got ${successes}`,
    );
  }
}
