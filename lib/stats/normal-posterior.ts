// The approximate posterior of a real-valued arm's mean reward.
//
// The prior is worth n₀ pseudo-rewards with mean μ₀ and per-reward variance σ₀². The posterior
// pools them with the n observed rewards (sufficient statistics Σr, Σr²):
//   m  = (n₀ μ₀ + Σr) / (n₀ + n),
//   σ² = (n₀ σ₀² + Σ(r - r̄)²) / (n₀ + n),     Σ(r - r̄)² = Σr² - (Σr)²/n  (0 when n = 0),
//   sd = sqrt(σ² / (n₀ + n)).
// This is the large-sample Normal approximation to the Normal–inverse-gamma conjugate
// posterior of the mean (Gelman et al., "Bayesian Data Analysis", 3rd ed., §3.3; Murphy 2007,
// "Conjugate Bayesian analysis of the Gaussian distribution"): the mean is the
// precision-weighted average, and the per-reward variance is a pseudo-count-weighted pool of
// the prior guess and the within-arm spread, so that early arms (n ≈ 0) are not over-confident.
// The between-means term n₀ n (r̄ - μ₀)²/(n₀ + n) of the exact conjugate update is left out on
// purpose: a prior mean far from the data should not widen the interval for ever. n may be
// fractional (decayed counts). The 95% interval is m ± Φ⁻¹(0.975) sd.

import { normalQuantile } from '../bandit/normal-distribution.ts';
import { assertRewardSums, centredSumOfSquares, type RewardSums } from './reward-sums.ts';

export interface NormalPrior {
  /** μ₀, the prior mean reward. */
  readonly mean: number;
  /** σ₀², the prior guess of the per-reward variance. */
  readonly variance: number;
  /** n₀, the weight of the prior in pseudo-rewards. */
  readonly strength: number;
}

export interface NormalPosteriorSummary {
  readonly mean: number;
  readonly sd: number;
  readonly lower95: number;
  readonly upper95: number;
}

const Z_975 = normalQuantile(0.975);

/**
 * The Normal posterior of an arm's mean reward (see the header). Throws a RangeError for
 * invalid sums or prior, and when there is neither prior strength nor data (n₀ + n = 0).
 */
export function normalPosterior(sums: RewardSums, prior: NormalPrior): NormalPosteriorSummary {
  assertRewardSums(sums, 'sums');
  if (!Number.isFinite(prior.mean)) {
    throw new RangeError(`prior.mean must be finite, got ${prior.mean}`);
  }
  if (!(Number.isFinite(prior.variance) && prior.variance >= 0)) {
    throw new RangeError(`prior.variance must be finite and >= 0, got ${prior.variance}`);
  }
  if (!(Number.isFinite(prior.strength) && prior.strength >= 0)) {
    throw new RangeError(`prior.strength must be finite and >= 0, got ${prior.strength}`);
  }
  const weight = prior.strength + sums.n;
  if (!(weight > 0)) {
    throw new RangeError('normalPosterior needs prior strength > 0 or at least one reward');
  }
  const mean = (prior.strength * prior.mean + sums.sum) / weight;
  const variance = (prior.strength * prior.variance + centredSumOfSquares(sums)) / weight;
  const sd = Math.sqrt(variance / weight);
  return { mean, sd, lower95: mean - Z_975 * sd, upper95: mean + Z_975 * sd };
}
