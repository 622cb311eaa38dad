// The generalised likelihood ratio (Chernoff) stopping rule for best-arm identification.
//
// Garivier & Kaufmann 2016, "Optimal best arm identification with fixed confidence" (COLT),
// §3: with empirical means μ̂_k over n_k samples, the leader a = argmax_k μ̂_k and, for an
// exponential family with KL divergence d,
//   Z_{a,b} = n_a d(μ̂_a, μ̂_ab) + n_b d(μ̂_b, μ̂_ab),   μ̂_ab = (n_a μ̂_a + n_b μ̂_b)/(n_a + n_b),
// the log GLR of "μ_a >= μ_b" against "μ_a <= μ_b" (μ̂_ab is the constrained MLE). The
// Chernoff rule stops at the first t with Z = min_{b≠a} Z_{a,b} > β(t, δ) and recommends a.
//
// Divergences:
// * 'bernoulli': d(x, y) = x ln(x/y) + (1 - x) ln((1 - x)/(1 - y)), with 0 ln 0 = 0. That
//   convention is the limit of clamping the means into (0, 1) as the clamp goes to 0, and it
//   never meets ln 0: y = μ̂_ab lies strictly inside (0, 1) whenever μ̂_a > μ̂_b. Rewards may be
//   fractional in [0, 1] (the statistic is then the Bernoulli-KL GLR of the means).
// * 'gaussian': d(x, y) = (x - y)²/(2σ²), so Z_{a,b} = (μ̂_a - μ̂_b)²/(2σ²(1/n_a + 1/n_b)), with
//   σ² the pooled within-arm variance Σ_k Σ(r - r̄_k)² / (Σ_k n_k - K) over arms with data (the
//   paper assumes σ² known; the plug-in is the usual practical substitute).
//
// Threshold. β(t, δ) = ln(2t(K - 1)/δ) with t = Σ_k n_k (at least 1). Garivier & Kaufmann
// (2016, §3.2, "Chernoff's stopping rule") show that this threshold makes the Chernoff rule
// δ-PAC — P(stop and recommend a wrong arm) <= δ — for Bernoulli bandits, whatever the sampling
// rule. For other one-parameter exponential families (Gaussian with known variance included)
// they prove δ-correctness for thresholds ln(C t^α/δ) with α > 1 and a constant C(α, K); for the
// Gaussian kind with a plugged-in variance, ln(2t(K - 1)/δ) is therefore the same calibration
// used as a practical heuristic (explicit, proven Gaussian thresholds: Lattimore & Szepesvári
// 2020, "Bandit Algorithms", §33.2; Kaufmann & Koolen 2021, "Mixture martingales revisited with
// applications to sequential tests and confidence intervals"). The paper's own experiments use
// the smaller ln((ln t + 1)/δ), which its proof does not cover; this rule stays on the safe side.

import { assertRewardSums, centredSumOfSquares, type RewardSums } from './reward-sums.ts';

export interface GlrResult {
  /** The empirical best arm (first index on ties), or null when no arm has data. */
  readonly leader: number | null;
  /** Z = min_{b≠a} Z_{a,b} (Infinity for a single arm with data, 0 without a leader). */
  readonly statistic: number;
  /** β(t, δ) = ln(2t(K - 1)/δ), with t and K - 1 floored at 1. */
  readonly threshold: number;
  /** statistic > threshold. */
  readonly stop: boolean;
}

export type GlrKind = 'bernoulli' | 'gaussian';

/**
 * The Chernoff/GLR stopping statistic and decision for best-arm identification with fixed
 * confidence δ (see the header). Arms without data make Z = 0 (their constrained MLE costs
 * nothing), as do ties for the lead. For 'gaussian', a pooled variance that is 0 or undefined
 * (Σ n_k <= K) makes the model degenerate; the statistic is then reported as 0, so the rule
 * never stops on it. For 'bernoulli', each arm's sum must lie in [0, n].
 */
export function glrBestArm(arms: readonly RewardSums[], kind: GlrKind, delta: number): GlrResult {
  if (!(delta > 0 && delta < 1)) {
    throw new RangeError(`glrBestArm needs a confidence level delta in (0, 1), got ${delta}`);
  }
  // The type already says so; this guards callers that build `kind` from configuration.
  const kindName: string = kind;
  if (kindName !== 'bernoulli' && kindName !== 'gaussian') {
    throw new RangeError(`glrBestArm needs kind 'bernoulli' or 'gaussian', got ${kindName}`);
  }
  let total = 0;
  arms.forEach((arm, k) => {
    assertRewardSums(arm, `arms[${k}]`);
    if (kind === 'bernoulli' && !(arm.sum >= 0 && arm.sum <= arm.n)) {
      throw new RangeError(
        `arms[${k}]: a Bernoulli arm needs 0 <= sum <= n, got sum ${arm.sum} with n ${arm.n}`,
      );
    }
    total += arm.n;
  });
  const threshold = Math.log((2 * Math.max(1, total) * Math.max(1, arms.length - 1)) / delta);

  let leader = -1;
  let leaderMean = Number.NEGATIVE_INFINITY;
  arms.forEach((arm, k) => {
    if (arm.n > 0 && arm.sum / arm.n > leaderMean) {
      leader = k;
      leaderMean = arm.sum / arm.n;
    }
  });
  const leaderArm = arms[leader];
  if (leaderArm === undefined) return { leader: null, statistic: 0, threshold, stop: false };

  let divergence: (x: number, y: number) => number = bernoulliDivergence;
  if (kind === 'gaussian') {
    const variance = pooledVariance(arms);
    if (!(variance > 0)) return { leader, statistic: 0, threshold, stop: false };
    divergence = (x, y) => ((x - y) * (x - y)) / (2 * variance);
  }

  // min over b ≠ a of Z_{a,b}; an arm without data, or level with the leader, makes it 0.
  let statistic = Number.POSITIVE_INFINITY;
  arms.forEach((arm, b) => {
    if (b === leader) return;
    const meanB = arm.n > 0 ? arm.sum / arm.n : leaderMean;
    if (!(meanB < leaderMean)) {
      statistic = 0;
      return;
    }
    const merged = (leaderArm.sum + arm.sum) / (leaderArm.n + arm.n);
    const z = leaderArm.n * divergence(leaderMean, merged) + arm.n * divergence(meanB, merged);
    statistic = Math.min(statistic, z);
  });
  return { leader, statistic, threshold, stop: statistic > threshold };
}

/** Bernoulli KL divergence d(x, y) for x in [0, 1], y in (0, 1), with 0 ln 0 = 0. */
export function bernoulliDivergence(x: number, y: number): number {
  const ones = x === 0 ? 0 : x * Math.log(x / y);
  const zeros = x === 1 ? 0 : (1 - x) * Math.log((1 - x) / (1 - y));
  return Math.max(0, ones + zeros);
}

/** Σ_k Σ(r - r̄_k)² / (Σ_k n_k - K) over arms with n_k > 0; NaN when Σ n_k <= K. */
function pooledVariance(arms: readonly RewardSums[]): number {
  let squares = 0;
  let freedom = 0;
  for (const arm of arms) {
    if (arm.n === 0) continue;
    squares += centredSumOfSquares(arm);
    freedom += arm.n - 1;
  }
  return freedom > 0 ? squares / freedom : Number.NaN;
}
