// Exponentially discounted reward sums, with a half-life in event time.
//
// For non-stationary experiments (a model that degrades, traffic whose mix changes) old
// rewards should count less than new ones. With half-life h, a reward r observed at event
// time t counts, when the sums are valued at time T >= t, with weight
//
//   w = 2^(-(T - t)/h),
//
// so a reward one half-life old counts 1/2, two half-lives old 1/4, and the sums keep
// Σw, Σw·r and Σw·r² (the effective number of rewards, the discounted reward sum and the
// discounted sum of squares; their ratios are discounted means and variances).
//
// The key property is that revaluing is a scalar multiplication: sums valued at T are valued
// at T' >= T by multiplying all three by 2^(-(T' - T)/h). That makes everything here
//
// * deterministic: the weights depend only on event times, never on a wall clock or on when
//   a record happened to be processed, so replaying the same rewards gives the same sums;
// * order-tolerant: folding rewards in any order (late and out-of-order labels included)
//   gives the same sums valued at the latest event time seen, up to rounding: a reward older
//   than the valuation time is added with its weight directly, a newer one first moves the
//   valuation time forward;
// * mergeable: partial sums from different partitions, valued at different times, add up
//   after moving them all to the latest of those times.
//
// Decay only moves forward in event time. Valuing sums at an earlier time than they are
// valued at would multiply them by a factor > 1 (rewards "from the future" weighing more than
// one reward); rebaseDecayed refuses that silently by returning the sums unchanged, so a
// weight never exceeds 1 and a router whose clock lags the aggregator's event time simply
// uses the sums as they are.
//
// No half-life (null) means no decay: every weight is 1 and the sums are plain sums.

/**
 * Exponentially discounted sums of rewards (the same shape as `DecayedSums` in
 * lib/contracts/events.ts, which is what the aggregator publishes; structurally identical, so
 * either type can be passed where the other is expected).
 */
export interface DecayedSums {
  /** Σ w (the effective number of rewards). */
  readonly weight: number;
  /** Σ w·r */
  readonly rewardSum: number;
  /** Σ w·r² */
  readonly rewardSumSquares: number;
}

/** Sums together with the event time they are valued at. */
export interface ValuedDecayedSums {
  readonly sums: DecayedSums;
  readonly at: number;
}

/** No rewards. */
export const NO_SUMS: DecayedSums = Object.freeze({ weight: 0, rewardSum: 0, rewardSumSquares: 0 });

/**
 * The weight 2^(-age/h) of a reward `age` ms old (1 without a half-life; 1 for age <= 0, since
 * weights never exceed 1).
 */
export function decayFactor(age: number, halfLifeMs: number | null): number {
  assertHalfLife(halfLifeMs);
  if (Number.isNaN(age)) throw new RangeError('age must not be NaN');
  if (halfLifeMs === null || age <= 0) return 1;
  return Math.pow(2, -age / halfLifeMs);
}

/**
 * Value of the sums at event time `to`, given they were valued at `from`: all three sums are
 * multiplied by 2^(-(to - from)/h). When `to` <= `from` (or there is no half-life) the sums are
 * returned unchanged: decay only moves forward (see the header). Throws RangeError for
 * non-finite times or a half-life that is not a finite number > 0.
 */
export function rebaseDecayed(
  sums: DecayedSums,
  from: number,
  to: number,
  halfLifeMs: number | null,
): DecayedSums {
  assertTime(from, 'from');
  assertTime(to, 'to');
  const factor = decayFactor(to - from, halfLifeMs);
  if (factor === 1) return sums;
  return scale(sums, factor);
}

/**
 * Folds one reward with event time `eventTime` into sums valued at `at`. A reward no newer
 * than `at` is added with weight 2^(-(at - eventTime)/h); a newer one first rebases the sums
 * to `eventTime` and is then added with weight 1. Returns the new sums and their valuation
 * time max(at, eventTime). Throws RangeError for a non-finite reward or time.
 */
export function foldDecayed(
  sums: DecayedSums,
  at: number,
  reward: number,
  eventTime: number,
  halfLifeMs: number | null,
): ValuedDecayedSums {
  assertTime(at, 'at');
  assertTime(eventTime, 'eventTime');
  if (!Number.isFinite(reward)) throw new RangeError(`reward must be finite, got ${reward}`);
  if (eventTime > at) {
    const rebased = rebaseDecayed(sums, at, eventTime, halfLifeMs);
    return { sums: add(rebased, 1, reward), at: eventTime };
  }
  return { sums: add(sums, decayFactor(at - eventTime, halfLifeMs), reward), at };
}

/**
 * Adds partial sums valued at different times: each part is rebased to the latest `at` of
 * them, which is the valuation time of the result. No parts give NO_SUMS valued at 0 (the
 * "nothing folded yet" time of the published posteriors).
 */
export function mergeDecayed(
  parts: readonly ValuedDecayedSums[],
  halfLifeMs: number | null,
): ValuedDecayedSums {
  assertHalfLife(halfLifeMs);
  if (parts.length === 0) return { sums: NO_SUMS, at: 0 };
  let latest = Number.NEGATIVE_INFINITY;
  for (const part of parts) {
    assertTime(part.at, 'at');
    latest = Math.max(latest, part.at);
  }
  let weight = 0;
  let rewardSum = 0;
  let rewardSumSquares = 0;
  for (const part of parts) {
    const rebased = rebaseDecayed(part.sums, part.at, latest, halfLifeMs);
    weight += rebased.weight;
    rewardSum += rebased.rewardSum;
    rewardSumSquares += rebased.rewardSumSquares;
  }
  return { sums: { weight, rewardSum, rewardSumSquares }, at: latest };
}

/**
 * Beta-Bernoulli counts from discounted sums of rewards in [0, 1], for Thompson sampling on
 * discounted evidence: successes = Σw·r and failures = Σw·(1 - r) = Σw - Σw·r. Both are
 * clamped at 0 against rounding (Σw·r can exceed Σw by an ulp after rescaling).
 */
export function decayedBetaCounts(sums: DecayedSums): {
  readonly successes: number;
  readonly failures: number;
} {
  return {
    successes: Math.max(0, sums.rewardSum),
    failures: Math.max(0, sums.weight - sums.rewardSum),
  };
}

function add(sums: DecayedSums, weight: number, reward: number): DecayedSums {
  return {
    weight: sums.weight + weight,
    rewardSum: sums.rewardSum + weight * reward,
    rewardSumSquares: sums.rewardSumSquares + weight * reward * reward,
  };
}

function scale(sums: DecayedSums, factor: number): DecayedSums {
  return {
    weight: sums.weight * factor,
    rewardSum: sums.rewardSum * factor,
    rewardSumSquares: sums.rewardSumSquares * factor,
  };
}

function assertHalfLife(halfLifeMs: number | null): void {
  if (halfLifeMs !== null && !(Number.isFinite(halfLifeMs) && halfLifeMs > 0)) {
    throw new RangeError(`half-life must be null or a finite number > 0, got ${halfLifeMs}`);
  }
}

function assertTime(time: number, name: string): void {
  if (!Number.isFinite(time)) throw new RangeError(`${name} must be a finite time, got ${time}`);
}
