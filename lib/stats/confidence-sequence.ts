// Anytime-valid confidence sequences for a variant's mean reward, and for the difference of two
// variants' means: intervals that hold simultaneously at every sample size, so they stay valid
// however often the decider (or a person) looks, and whatever the policy did with the traffic.
//
// Boundary. For rewards X_1, X_2, … of one variant with mean μ and sub-Gaussian increments of
// variance proxy σ² (given the past), S_n = Σ (X_i − μ) and V_n = σ² n, the mixture over
// λ ~ N(0, 1/ρ) of the supermartingales exp(λ S_n − λ² V_n / 2) is
//   M_n = sqrt(ρ / (V_n + ρ)) · exp(S_n² / (2 (V_n + ρ))),
// a non-negative supermartingale with M_0 = 1 (Robbins 1970, "Statistical methods related to
// the law of the iterated logarithm"; Howard, Ramdas, McAuliffe & Sekhon 2021, "Time-uniform,
// nonparametric, nonasymptotic confidence sequences", Annals of Statistics, normal mixture).
// Ville's inequality gives P(∃ n: M_n ≥ 1/α) ≤ α, and M_n ≥ 1/α is exactly
//   |S_n| ≥ sqrt((V_n + ρ) · ln((V_n + ρ) / (ρ α²))),
// so μ̂_n ± that radius / n covers μ at every n at once with probability ≥ 1 − α.
//
// Adaptive traffic. The increments are indexed by the variant's own rewards; which request
// went to which variant may depend on everything seen before (the bandit), and the
// supermartingale property holds along the variant's own sequence (optional skipping), so the
// sequence stays valid on adaptively allocated traffic.
//
// Variance proxy. Rewards in [0, 1] are sub-Gaussian with σ² = 1/4 (Hoeffding's lemma): exact.
// For real-valued rewards no bound is known a priori; the sample variance is plugged in, which
// is only asymptotically valid, and the result says so (`exact: false`).
//
// ρ sets where the boundary is tightest: ρ = σ² · n* makes it tightest around n* rewards.
// n* = 1000 suits the experiments dynab runs (hundreds to tens of thousands of rewards).
//
// Difference of two variants: each variant's sequence at level α/2 (a union bound), combined as
// [L_b − U_a, U_b − L_a]. The anytime-valid p-value of "equal means" is the smallest α at which
// that interval excludes 0 (found by bisection; the radius grows as α shrinks).

/** Rewards at which the boundary is tightest (see the header). */
export const TIGHTEST_AT = 1000;

export interface MeanSample {
  /** Number of rewards. */
  readonly n: number;
  /** Their mean (0 when n = 0). */
  readonly mean: number;
  /** Variance proxy σ² of one reward: 1/4 for rewards in [0, 1]. */
  readonly variance: number;
}

export interface Interval {
  readonly lower: number;
  readonly upper: number;
}

/** The radius sqrt((V + ρ) ln((V + ρ)/(ρ α²))) / n of the normal-mixture boundary. */
export function confidenceRadius(sample: MeanSample, alpha: number): number {
  if (!(alpha > 0 && alpha < 1)) throw new RangeError(`alpha must be in (0, 1), got ${alpha}`);
  const { n, variance } = sample;
  if (!(n > 0 && variance > 0)) return Number.POSITIVE_INFINITY;
  const rho = variance * TIGHTEST_AT;
  const v = variance * n + rho;
  return Math.sqrt(v * Math.log(v / (rho * alpha * alpha))) / n;
}

/** The anytime-valid (1 − α) confidence sequence of the mean, at the current sample. */
export function meanConfidenceSequence(sample: MeanSample, alpha: number): Interval {
  const radius = confidenceRadius(sample, alpha);
  return { lower: sample.mean - radius, upper: sample.mean + radius };
}

/** Anytime-valid (1 − α) interval of mean_b − mean_a (union bound, α/2 per variant). */
export function differenceConfidenceSequence(
  a: MeanSample,
  b: MeanSample,
  alpha: number,
): Interval {
  const radius = confidenceRadius(a, alpha / 2) + confidenceRadius(b, alpha / 2);
  const difference = b.mean - a.mean;
  return { lower: difference - radius, upper: difference + radius };
}

/**
 * Anytime-valid p-value of "mean_a = mean_b": the smallest α whose difference interval
 * excludes 0 (1 when even α → 1 does not), to a relative precision of about 1e-9.
 */
export function anytimePValue(a: MeanSample, b: MeanSample): number {
  const gap = Math.abs(b.mean - a.mean);
  const excludes = (alpha: number): boolean =>
    confidenceRadius(a, alpha / 2) + confidenceRadius(b, alpha / 2) < gap;
  const almostOne = 1 - 1e-12;
  if (!excludes(almostOne)) return 1;
  // Bisection on ln α: excludes() is monotone (the radius shrinks as α grows).
  let low = Math.log(1e-300);
  let high = Math.log(almostOne);
  if (excludes(Math.exp(low))) return 1e-300;
  for (let i = 0; i < 100 && high - low > 1e-9; i++) {
    const mid = (low + high) / 2;
    if (excludes(Math.exp(mid))) high = mid;
    else low = mid;
  }
  return Math.exp(high);
}
