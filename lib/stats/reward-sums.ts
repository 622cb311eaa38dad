// Sufficient statistics of real-valued rewards, shared by the tests, the GLR rule and the
// normal posterior: the (possibly fractional, e.g. decayed) count n, Σr and Σr².

/** Sufficient statistics of real-valued rewards: n, Σr and Σr². */
export interface RewardSums {
  readonly n: number;
  readonly sum: number;
  readonly sumSquares: number;
}

/**
 * Σ(r - r̄)² = Σr² - (Σr)²/n, clamped at 0 (rounding can make it slightly negative when all
 * rewards are equal); 0 when n = 0. The one-pass form loses digits when |r̄| is large against
 * the spread (Chan, Golub & LeVeque 1983, "Algorithms for computing the sample variance");
 * rewards here are O(1) scores, so that is acceptable.
 */
export function centredSumOfSquares(sums: RewardSums): number {
  if (sums.n === 0) return 0;
  return Math.max(0, sums.sumSquares - (sums.sum * sums.sum) / sums.n);
}

/** Throws a RangeError unless n and Σr² are finite and >= 0 and Σr is finite. */
export function assertRewardSums(sums: RewardSums, name: string): void {
  if (!(Number.isFinite(sums.n) && sums.n >= 0)) {
    throw new RangeError(`${name}.n must be finite and >= 0, got ${sums.n}`);
  }
  if (!Number.isFinite(sums.sum)) {
    throw new RangeError(`${name}.sum must be finite, got ${sums.sum}`);
  }
  if (!(Number.isFinite(sums.sumSquares) && sums.sumSquares >= 0)) {
    throw new RangeError(`${name}.sumSquares must be finite and >= 0, got ${sums.sumSquares}`);
  }
}
