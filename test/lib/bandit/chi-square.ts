// Pearson's chi-square goodness-of-fit test, for checking decision frequencies against the
// probabilities a plan reports. Test support only.
//
// For n draws from a distribution p over K outcomes with observed counts O_i and expected
// counts E_i = n·p_i, X² = Σ (O_i - E_i)² / E_i is asymptotically χ² with K - 1 degrees of
// freedom, and the p-value is the upper tail P(χ²_ν >= X²) = Q(ν/2, X²/2), the regularised
// upper incomplete gamma function. The approximation needs E_i of at least ~5, so outcomes
// with smaller expected counts are pooled into one bin (and that bin into the smallest
// regular one if it is still too small). An outcome with probability 0 that is nevertheless
// observed makes the p-value 0.

import { chiSquareSurvival } from '../../../lib/stats/chi-square.ts';

export interface ChiSquareResult {
  readonly statistic: number;
  readonly degreesOfFreedom: number;
  readonly pValue: number;
}

const MIN_EXPECTED = 5;

/** Pearson's X² test of `counts` (per outcome) against `probabilities` (summing to 1). */
export function chiSquareGoodnessOfFit(
  counts: readonly number[],
  probabilities: readonly number[],
): ChiSquareResult {
  if (counts.length !== probabilities.length) {
    throw new RangeError('counts and probabilities must have the same length');
  }
  const total = counts.reduce((sum, count) => sum + count, 0);
  const bins: { observed: number; expected: number }[] = [];
  const pooled = { observed: 0, expected: 0 };
  for (let i = 0; i < counts.length; i += 1) {
    const observed = counts[i] ?? 0;
    const expected = total * (probabilities[i] ?? 0);
    if (expected === 0) {
      if (observed > 0)
        return { statistic: Number.POSITIVE_INFINITY, degreesOfFreedom: 0, pValue: 0 };
      continue;
    }
    if (expected < MIN_EXPECTED) {
      pooled.observed += observed;
      pooled.expected += expected;
    } else {
      bins.push({ observed, expected });
    }
  }
  if (pooled.expected > 0) {
    if (pooled.expected >= MIN_EXPECTED || bins.length === 0) {
      bins.push(pooled);
    } else {
      const smallest = bins.reduce((a, b) => (b.expected < a.expected ? b : a));
      smallest.observed += pooled.observed;
      smallest.expected += pooled.expected;
    }
  }
  const degreesOfFreedom = bins.length - 1;
  if (degreesOfFreedom < 1) return { statistic: 0, degreesOfFreedom: 0, pValue: 1 };
  let statistic = 0;
  for (const { observed, expected } of bins) {
    statistic += ((observed - expected) * (observed - expected)) / expected;
  }
  return {
    statistic,
    degreesOfFreedom,
    pValue: chiSquareUpperTail(statistic, degreesOfFreedom),
  };
}

/** P(χ²_ν >= x), from the statistics library (checked there against mpmath). */
export function chiSquareUpperTail(x: number, degreesOfFreedom: number): number {
  return x <= 0 ? 1 : chiSquareSurvival(x, degreesOfFreedom);
}

/** Counts how often each variant of `variants` occurs in `picks`; throws on an unknown one. */
export function countVariants(variants: readonly string[], picks: Iterable<string>): number[] {
  const index = new Map(variants.map((variant, i) => [variant, i]));
  const counts = variants.map(() => 0);
  for (const pick of picks) {
    const i = index.get(pick);
    if (i === undefined) throw new RangeError(`unknown variant ${pick}`);
    counts[i] = (counts[i] ?? 0) + 1;
  }
  return counts;
}
