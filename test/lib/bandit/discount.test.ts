import { describe, expect, it } from 'vitest';
import {
  NO_SUMS,
  decayFactor,
  decayedBetaCounts,
  foldDecayed,
  mergeDecayed,
  rebaseDecayed,
  type DecayedSums,
  type ValuedDecayedSums,
} from '../../../lib/bandit/discount.ts';
import { decide, planThompsonSampling, type RoutingPlan } from '../../../lib/bandit/policies.ts';
import { createSeededRandom } from '../../../lib/bandit/random.ts';
import type { DecayedSums as PublishedDecayedSums } from '../../../lib/contracts/events.ts';

const HOUR = 3_600_000;
const T0 = 1_764_000_000_000; // an epoch-ms event time

interface Reward {
  readonly reward: number;
  readonly time: number;
}

function fold(rewards: readonly Reward[], halfLifeMs: number | null): ValuedDecayedSums {
  let state: ValuedDecayedSums = { sums: NO_SUMS, at: 0 };
  for (const { reward, time } of rewards) {
    state = foldDecayed(state.sums, state.at, reward, time, halfLifeMs);
  }
  return state;
}

function expectSumsClose(actual: DecayedSums, expected: DecayedSums, relative = 1e-9): void {
  for (const key of ['weight', 'rewardSum', 'rewardSumSquares'] as const) {
    const scale = Math.max(Math.abs(expected[key]), 1e-300);
    expect(Math.abs(actual[key] - expected[key]) / scale).toBeLessThan(relative);
  }
}

/** Σ 2^(-(at - t)/h) (1, r, r²): the definition, for comparison. */
function direct(rewards: readonly Reward[], at: number, halfLifeMs: number): DecayedSums {
  let weight = 0;
  let rewardSum = 0;
  let rewardSumSquares = 0;
  for (const { reward, time } of rewards) {
    const w = Math.pow(2, -(at - time) / halfLifeMs);
    weight += w;
    rewardSum += w * reward;
    rewardSumSquares += w * reward * reward;
  }
  return { weight, rewardSum, rewardSumSquares };
}

function randomRewards(seed: number, count: number, spanMs: number): Reward[] {
  const random = createSeededRandom(seed);
  return Array.from({ length: count }, () => ({
    reward: 10 * random() - 3,
    time: T0 + Math.floor(random() * spanMs),
  }));
}

function shuffled<T>(items: readonly T[], seed: number): T[] {
  const random = createSeededRandom(seed);
  const result = [...items];
  for (let i = result.length - 1; i > 0; i -= 1) {
    const j = Math.floor(random() * (i + 1));
    [result[i], result[j]] = [result[j] as T, result[i] as T];
  }
  return result;
}

describe('decay weights', () => {
  it('count a reward one half-life old as 1/2, two half-lives old as 1/4', () => {
    expect(decayFactor(HOUR, HOUR)).toBe(0.5);
    expect(decayFactor(2 * HOUR, HOUR)).toBe(0.25);
    expect(decayFactor(0, HOUR)).toBe(1);
    expect(decayFactor(-HOUR, HOUR)).toBe(1);
    expect(decayFactor(10 * HOUR, null)).toBe(1);

    // An older reward folded into sums valued later; a newer reward moving the valuation time.
    const older = foldDecayed(
      { weight: 1, rewardSum: 1, rewardSumSquares: 1 },
      T0 + HOUR,
      2,
      T0,
      HOUR,
    );
    expect(older).toEqual({
      sums: { weight: 1.5, rewardSum: 2, rewardSumSquares: 3 },
      at: T0 + HOUR,
    });
    const newer = foldDecayed(
      { weight: 1, rewardSum: 1, rewardSumSquares: 1 },
      T0,
      2,
      T0 + HOUR,
      HOUR,
    );
    expect(newer).toEqual({
      sums: { weight: 1.5, rewardSum: 2.5, rewardSumSquares: 4.5 },
      at: T0 + HOUR,
    });
  });

  it('NO_SUMS is zero and frozen', () => {
    expect(NO_SUMS).toEqual({ weight: 0, rewardSum: 0, rewardSumSquares: 0 });
    expect(Object.isFrozen(NO_SUMS)).toBe(true);
  });

  it('has the shape of the published DecayedSums', () => {
    const published: PublishedDecayedSums = NO_SUMS;
    const back: DecayedSums = published;
    expect(back).toBe(NO_SUMS);
  });
});

describe('foldDecayed', () => {
  it('gives the same sums whatever the order of the rewards', () => {
    const rewards = randomRewards(1, 500, 6 * HOUR);
    const latest = Math.max(...rewards.map((r) => r.time));
    const expected = direct(rewards, latest, HOUR);
    const orders = [
      rewards,
      [...rewards].reverse(),
      [...rewards].sort((a, b) => a.time - b.time),
      [...rewards].sort((a, b) => b.time - a.time),
      shuffled(rewards, 2),
      shuffled(rewards, 3),
    ];
    for (const order of orders) {
      const { sums, at } = fold(order, HOUR);
      expect(at).toBe(latest);
      expectSumsClose(sums, expected);
    }
  });

  it('keeps plain sums without a half-life', () => {
    const rewards = randomRewards(4, 100, 6 * HOUR);
    const { sums, at } = fold(shuffled(rewards, 5), null);
    expect(at).toBe(Math.max(...rewards.map((r) => r.time)));
    expectSumsClose(sums, {
      weight: 100,
      rewardSum: rewards.reduce((s, r) => s + r.reward, 0),
      rewardSumSquares: rewards.reduce((s, r) => s + r.reward * r.reward, 0),
    });
  });

  it('rejects non-finite rewards, times and half-lives', () => {
    expect(() => foldDecayed(NO_SUMS, T0, Number.NaN, T0, HOUR)).toThrow(RangeError);
    expect(() => foldDecayed(NO_SUMS, T0, 1, Number.POSITIVE_INFINITY, HOUR)).toThrow(RangeError);
    expect(() => foldDecayed(NO_SUMS, Number.NaN, 1, T0, HOUR)).toThrow(RangeError);
    for (const halfLife of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => foldDecayed(NO_SUMS, T0, 1, T0, halfLife)).toThrow(RangeError);
      expect(() => rebaseDecayed(NO_SUMS, T0, T0 + 1, halfLife)).toThrow(RangeError);
      expect(() => mergeDecayed([], halfLife)).toThrow(RangeError);
    }
  });
});

describe('rebaseDecayed', () => {
  const sums = { weight: 8, rewardSum: 4, rewardSumSquares: 2 };

  it('scales every sum by 2^(-Δt/h), composing over steps', () => {
    expect(rebaseDecayed(sums, T0, T0 + 3 * HOUR, HOUR)).toEqual({
      weight: 1,
      rewardSum: 0.5,
      rewardSumSquares: 0.25,
    });
    const twoSteps = rebaseDecayed(
      rebaseDecayed(sums, T0, T0 + 1234567, HOUR),
      T0 + 1234567,
      T0 + 9876543,
      HOUR,
    );
    expectSumsClose(twoSteps, rebaseDecayed(sums, T0, T0 + 9876543, HOUR), 1e-14);
  });

  it('returns the sums unchanged when asked to value them earlier, or without decay', () => {
    expect(rebaseDecayed(sums, T0, T0 - HOUR, HOUR)).toBe(sums);
    expect(rebaseDecayed(sums, T0, T0, HOUR)).toBe(sums);
    expect(rebaseDecayed(sums, T0, T0 + HOUR, null)).toBe(sums);
  });

  it('agrees with folding: rebasing folded sums is folding and then waiting', () => {
    const rewards = randomRewards(6, 200, 3 * HOUR);
    const { sums: folded, at } = fold(rewards, HOUR);
    const later = at + 5 * HOUR;
    expectSumsClose(rebaseDecayed(folded, at, later, HOUR), direct(rewards, later, HOUR));
  });
});

describe('mergeDecayed', () => {
  it('adds partial sums valued at different times, at the latest of them', () => {
    const rewards = randomRewards(7, 600, 8 * HOUR);
    const partitions = [0, 1, 2].map((p) => rewards.filter((_, i) => i % 3 === p));
    const parts = partitions.map((part) => fold(part, HOUR));
    expect(new Set(parts.map((part) => part.at)).size).toBe(3);
    const merged = mergeDecayed(parts, HOUR);
    const whole = fold(rewards, HOUR);
    expect(merged.at).toBe(whole.at);
    expectSumsClose(merged.sums, whole.sums);
    // Merging in another order, or merging a merge, changes nothing.
    expectSumsClose(mergeDecayed([...parts].reverse(), HOUR).sums, whole.sums);
    const nested = mergeDecayed([mergeDecayed(parts.slice(0, 2), HOUR), parts[2]!], HOUR);
    expectSumsClose(nested.sums, whole.sums);
  });

  it('handles no parts, one part and no half-life', () => {
    expect(mergeDecayed([], HOUR)).toEqual({ sums: NO_SUMS, at: 0 });
    const one = { sums: { weight: 2, rewardSum: 1, rewardSumSquares: 1 }, at: T0 };
    expect(mergeDecayed([one], HOUR)).toEqual(one);
    expect(
      mergeDecayed(
        [one, { sums: { weight: 3, rewardSum: 2, rewardSumSquares: 2 }, at: T0 + HOUR }],
        null,
      ),
    ).toEqual({ sums: { weight: 5, rewardSum: 3, rewardSumSquares: 3 }, at: T0 + HOUR });
  });
});

describe('decayedBetaCounts', () => {
  it('turns discounted sums of 0/1 rewards into Beta counts, clamped at 0', () => {
    expect(decayedBetaCounts({ weight: 10.5, rewardSum: 3.25, rewardSumSquares: 3.25 })).toEqual({
      successes: 3.25,
      failures: 7.25,
    });
    expect(decayedBetaCounts({ weight: 2, rewardSum: 2 + 4e-16, rewardSumSquares: 2 })).toEqual({
      successes: 2 + 4e-16,
      failures: 0,
    });
    expect(decayedBetaCounts(NO_SUMS)).toEqual({ successes: 0, failures: 0 });
  });
});

describe('Thompson sampling on discounted sums after the best arm changes', () => {
  const VARIANTS = ['a', 'b'] as const;
  const BEFORE_SWAP = 20_000;
  const AFTER_SWAP = 10_000;
  const WINDOW = 5_000;
  const SECOND = 1_000;

  /**
   * Arm a pays with probability 0.6 and b with 0.4 for the first 20,000 decisions, then the
   * rates swap. One decision per second of event time; the plan is rebuilt every 100 decisions
   * from the sums rebased to the decision time; each reward is folded at once with the decision
   * time. Returns b's share of the last 5,000 decisions.
   */
  function newBestShare(seed: number, halfLifeMs: number | null): number {
    const random = createSeededRandom(seed);
    const state = new Map<string, ValuedDecayedSums>(
      VARIANTS.map((variant) => [variant, { sums: NO_SUMS, at: 0 }]),
    );
    let plan: RoutingPlan | undefined;
    let chosenB = 0;
    const total = BEFORE_SWAP + AFTER_SWAP;
    for (let i = 0; i < total; i += 1) {
      const time = T0 + i * SECOND;
      if (plan === undefined || i % 100 === 0) {
        plan = planThompsonSampling(
          VARIANTS.map((variant) => {
            const current = state.get(variant) ?? { sums: NO_SUMS, at: 0 };
            const sums = rebaseDecayed(current.sums, current.at, time, halfLifeMs);
            return { variant, ...decayedBetaCounts(sums), count: sums.weight };
          }),
          { alpha: 1, beta: 1 },
        );
      }
      const { variant } = decide(plan, random);
      const rate = (variant === 'a') === i < BEFORE_SWAP ? 0.6 : 0.4;
      const reward = random() < rate ? 1 : 0;
      const current = state.get(variant) ?? { sums: NO_SUMS, at: 0 };
      state.set(variant, foldDecayed(current.sums, current.at, reward, time, halfLifeMs));
      if (i >= total - WINDOW && variant === 'b') chosenB += 1;
    }
    return chosenB / WINDOW;
  }

  it('recovers with a 30-minute half-life, and does so far better than without discounting', () => {
    // Without discounting, arm a's 20,000 rewards at 0.6 keep its mean above 0.5 long after the
    // swap; it only loses when arm b was sampled so little before the swap that its posterior
    // is still wide enough to be re-explored, which depends on the seed. So the undiscounted
    // comparison is on the average of several seeds; with the half-life every seed recovers
    // (>= 0.97 over 50 seeds tried).
    const seeds = [1, 2, 3, 4, 5, 6];
    const discounted = seeds.map((seed) => newBestShare(seed, 30 * 60 * SECOND));
    const undiscounted = seeds.map((seed) => newBestShare(seed, null));
    for (const share of discounted) expect(share).toBeGreaterThan(0.9);
    const mean = (values: readonly number[]): number =>
      values.reduce((s, v) => s + v, 0) / values.length;
    expect(mean(discounted)).toBeGreaterThan(0.95);
    expect(mean(undiscounted)).toBeLessThan(0.5);
    expect(mean(discounted) - mean(undiscounted)).toBeGreaterThan(0.45);
  });
});
