import { describe, expect, it } from 'vitest';
import { foldDecayed, rebaseDecayed } from '../../../../lib/bandit/discount.ts';
import { createSeededRandom } from '../../../../lib/bandit/random.ts';
import type { VariantCounts } from '../../../../lib/contracts/events.ts';
import {
  emptyCounts,
  foldOutcome,
  foldReward,
  type CountedOutcome,
  type ExperimentCounts,
} from '../../../../services/aggregator/core/variant-counts.ts';

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

const arm = (
  variant: string,
  fields: Partial<Omit<VariantCounts, 'variant'>> = {},
): VariantCounts => ({
  variant,
  successes: 0,
  failures: 0,
  count: 0,
  implicit: 0,
  dropped: 0,
  late: 0,
  // Rewards of 0 or 1 (r² = r) with weight 1: the new sums follow from successes and count.
  rewardSum: fields.successes ?? 0,
  rewardSumSquares: fields.successes ?? 0,
  assigned: 0,
  expectedAssigned: 0,
  decayed: {
    weight: fields.count ?? 0,
    rewardSum: fields.successes ?? 0,
    rewardSumSquares: fields.successes ?? 0,
  },
  ...fields,
});

const LABEL = (reward: number): CountedOutcome => ({
  kind: 'reward',
  reward,
  implicit: false,
  eventTime: 0,
});
const IMPLICIT = (reward: number): CountedOutcome => ({
  kind: 'reward',
  reward,
  implicit: true,
  eventTime: 0,
});
const DROPPED: CountedOutcome = { kind: 'dropped' };
const LATE: CountedOutcome = { kind: 'late' };

const START: ExperimentCounts = {
  experiment: 'e',
  variants: [
    arm('model-a', { successes: 2, failures: 3, count: 5, implicit: 1, dropped: 4, late: 2 }),
    arm('model-b', { successes: 1, failures: 1, count: 2 }),
  ],
  shadowVariants: [],
  version: 7,
  decayedAt: 0,
};

describe('emptyCounts', () => {
  it('starts with no variants at version 0', () => {
    expect(emptyCounts('spam-filter')).toEqual({
      experiment: 'spam-filter',
      variants: [],
      version: 0,
      shadowVariants: [],
      decayedAt: 0,
    });
  });
});

describe('foldOutcome', () => {
  it('adds a new variant for a label reward: α = r, β = 1 − r, count 1, not implicit', () => {
    expect(foldOutcome(emptyCounts('e'), 'model-a', LABEL(1))).toEqual({
      experiment: 'e',
      variants: [arm('model-a', { successes: 1, failures: 0, count: 1 })],
      version: 1,
      shadowVariants: [],
      decayedAt: 0,
    });
    expect(foldOutcome(emptyCounts('e'), 'model-a', LABEL(0)).variants).toEqual([
      arm('model-a', { successes: 0, failures: 1, count: 1 }),
    ]);
  });

  it('folds an implicit reward like a label reward and counts it as implicit', () => {
    expect(foldOutcome(emptyCounts('e'), 'model-a', IMPLICIT(0))).toEqual({
      experiment: 'e',
      variants: [arm('model-a', { successes: 0, failures: 1, count: 1, implicit: 1 })],
      version: 1,
      shadowVariants: [],
      decayedAt: 0,
    });
    const next = foldOutcome(START, 'model-a', IMPLICIT(0.5));
    expect(next.variants[0]).toEqual(
      arm('model-a', {
        successes: 2.5,
        failures: 3.5,
        count: 6,
        implicit: 2,
        dropped: 4,
        late: 2,
        rewardSumSquares: 2.25, // 2 rewards of 1 before, then 0.5²
        decayed: { weight: 6, rewardSum: 2.5, rewardSumSquares: 2.25 },
      }),
    );
  });

  it('counts a drop without touching successes, failures, count or implicit', () => {
    expect(foldOutcome(emptyCounts('e'), 'model-a', DROPPED)).toEqual({
      experiment: 'e',
      variants: [arm('model-a', { dropped: 1 })],
      version: 1,
      shadowVariants: [],
      decayedAt: 0,
    });
    const next = foldOutcome(START, 'model-a', DROPPED);
    expect(next.variants[0]).toEqual(
      arm('model-a', { successes: 2, failures: 3, count: 5, implicit: 1, dropped: 5, late: 2 }),
    );
  });

  it('counts a late label without touching successes, failures, count or implicit', () => {
    expect(foldOutcome(emptyCounts('e'), 'model-a', LATE)).toEqual({
      experiment: 'e',
      variants: [arm('model-a', { late: 1 })],
      version: 1,
      shadowVariants: [],
      decayedAt: 0,
    });
    const next = foldOutcome(START, 'model-a', LATE);
    expect(next.variants[0]).toEqual(
      arm('model-a', { successes: 2, failures: 3, count: 5, implicit: 1, dropped: 4, late: 3 }),
    );
  });

  it('bumps the version by exactly one for every outcome kind', () => {
    for (const outcome of [LABEL(1), IMPLICIT(0), DROPPED, LATE]) {
      expect(foldOutcome(START, 'model-b', outcome).version).toBe(8);
      expect(foldOutcome(START, 'model-new', outcome).version).toBe(8);
    }
    let counts = emptyCounts('e');
    const outcomes = [LABEL(1), DROPPED, LATE, IMPLICIT(0), LATE, DROPPED, LABEL(0.5)];
    for (const outcome of outcomes) counts = foldOutcome(counts, 'model-a', outcome);
    expect(counts.version).toBe(outcomes.length);
    expect(counts.variants).toEqual([
      arm('model-a', {
        successes: 1.5,
        failures: 1.5,
        count: 3,
        implicit: 1,
        dropped: 2,
        late: 2,
        rewardSumSquares: 1.25, // 1² + 0² + 0.5²
        decayed: { weight: 3, rewardSum: 1.5, rewardSumSquares: 1.25 },
      }),
    ]);
  });

  it('changes only the named variant and keeps the others as they were', () => {
    for (const outcome of [LABEL(0.25), IMPLICIT(1), DROPPED, LATE]) {
      const next = foldOutcome(START, 'model-b', outcome);
      expect(next.experiment).toBe('e');
      expect(next.variants).toHaveLength(2);
      expect(next.variants[0]).toEqual(START.variants[0]);
      expect(next.variants[1]?.variant).toBe('model-b');
      expect(next.variants[1]).not.toEqual(START.variants[1]);
    }
  });

  it('does not mutate its input (existing or new variant, any outcome)', () => {
    const start = deepFreeze<ExperimentCounts>(structuredClone(START));
    for (const outcome of [LABEL(1), IMPLICIT(0), DROPPED, LATE]) {
      const updated = foldOutcome(start, 'model-a', outcome);
      const added = foldOutcome(start, 'model-c', outcome);
      expect(updated.variants).not.toBe(start.variants);
      expect(added.variants).not.toBe(start.variants);
      expect(added.variants).toHaveLength(3);
    }
    expect(start).toEqual(START);
  });
});

describe('foldReward', () => {
  it('is a label (non-implicit) reward', () => {
    expect(foldReward(START, 'model-a', 0.25)).toEqual(foldOutcome(START, 'model-a', LABEL(0.25)));
    expect(foldReward(emptyCounts('e'), 'model-a', 1)).toEqual({
      experiment: 'e',
      variants: [arm('model-a', { successes: 1, count: 1 })],
      version: 1,
      shadowVariants: [],
      decayedAt: 0,
    });
  });

  it('adds r to successes and 1 − r to failures of an existing variant', () => {
    const next = foldReward(START, 'model-b', 0.25);
    expect(next.version).toBe(8);
    expect(next.experiment).toBe('e');
    expect(next.variants[0]).toEqual(START.variants[0]);
    expect(next.variants[1]?.variant).toBe('model-b');
    expect(next.variants[1]?.successes).toBeCloseTo(1.25, 12);
    expect(next.variants[1]?.failures).toBeCloseTo(1.75, 12);
    expect(next.variants[1]?.count).toBe(3);
    expect(next.variants[1]?.implicit).toBe(0);
  });

  it('appends new variants after the existing ones, in arrival order', () => {
    let counts = emptyCounts('e');
    counts = foldReward(counts, 'model-b', 1);
    counts = foldReward(counts, 'model-a', 0);
    counts = foldOutcome(counts, 'model-c', DROPPED);
    counts = foldReward(counts, 'model-a', 1);
    expect(counts.variants.map((v) => v.variant)).toEqual(['model-b', 'model-a', 'model-c']);
    expect(counts.variants[1]).toEqual(arm('model-a', { successes: 1, failures: 1, count: 2 }));
    expect(counts.variants[2]).toEqual(arm('model-c', { dropped: 1 }));
    expect(counts.version).toBe(4);
  });

  it('keeps successes + failures equal to count over many fractional rewards', () => {
    let counts = emptyCounts('e');
    const rewards = [0, 1, 0.3, 0.7, 0.5, 1, 0.1, 0, 0.9];
    for (const r of rewards) counts = foldReward(counts, 'model-a', r);
    const [first] = counts.variants;
    expect(first?.count).toBe(rewards.length);
    expect(first?.successes).toBeCloseTo(
      rewards.reduce((a, b) => a + b, 0),
      12,
    );
    expect((first?.successes ?? 0) + (first?.failures ?? 0)).toBeCloseTo(rewards.length, 12);
    expect(counts.version).toBe(rewards.length);
  });
});

describe('decisions, real-valued rewards, discounting and shadows', () => {
  const allocation = [
    { variant: 'model-a', probability: 0.25 },
    { variant: 'model-b', probability: 0.75 },
  ];

  it('counts a decision for the served variant and its expectation for every variant', () => {
    let counts = emptyCounts('e');
    counts = foldOutcome(counts, 'model-b', { kind: 'assigned', allocation });
    counts = foldOutcome(counts, 'model-b', { kind: 'assigned', allocation });
    counts = foldOutcome(counts, 'model-a', { kind: 'assigned', allocation });
    const byName = new Map(counts.variants.map((v) => [v.variant, v]));
    expect(byName.get('model-a')?.assigned).toBe(1);
    expect(byName.get('model-b')?.assigned).toBe(2);
    expect(byName.get('model-a')?.expectedAssigned).toBeCloseTo(0.75, 12);
    expect(byName.get('model-b')?.expectedAssigned).toBeCloseTo(2.25, 12);
    // Decisions change no reward sums, and the version orders them like any outcome.
    expect(byName.get('model-a')?.count).toBe(0);
    expect(counts.version).toBe(3);
  });

  it('keeps Σr and Σr² for rewards of any sign (real-valued rewards)', () => {
    let counts = emptyCounts('e');
    for (const r of [12.5, -3, 0.5]) {
      counts = foldOutcome(counts, 'model-a', {
        kind: 'reward',
        reward: r,
        implicit: false,
        eventTime: 0,
      });
    }
    const [a] = counts.variants;
    expect(a?.rewardSum).toBeCloseTo(10, 12);
    expect(a?.rewardSumSquares).toBeCloseTo(156.25 + 9 + 0.25, 12);
    expect(a?.count).toBe(3);
  });

  it('discounts older rewards by the half-life, whatever the order they arrive in', () => {
    const hour = 3_600_000;
    const options = { shadow: false, halfLifeMs: hour };
    const reward = (r: number, eventTime: number): CountedOutcome => ({
      kind: 'reward',
      reward: r,
      implicit: false,
      eventTime,
    });
    let inOrder = emptyCounts('e');
    inOrder = foldOutcome(inOrder, 'model-a', reward(1, 10 * hour), options);
    inOrder = foldOutcome(inOrder, 'model-b', reward(0, 11 * hour), options);
    inOrder = foldOutcome(inOrder, 'model-a', reward(1, 12 * hour), options);
    let reversed = emptyCounts('e');
    reversed = foldOutcome(reversed, 'model-a', reward(1, 12 * hour), options);
    reversed = foldOutcome(reversed, 'model-b', reward(0, 11 * hour), options);
    reversed = foldOutcome(reversed, 'model-a', reward(1, 10 * hour), options);
    for (const counts of [inOrder, reversed]) {
      expect(counts.decayedAt).toBe(12 * hour);
      const a = counts.variants.find((v) => v.variant === 'model-a');
      const b = counts.variants.find((v) => v.variant === 'model-b');
      // At 12 h: the reward of 10 h counts 1/4, the one of 12 h counts 1; b's of 11 h counts 1/2.
      expect(a?.decayed.weight).toBeCloseTo(1.25, 12);
      expect(a?.decayed.rewardSum).toBeCloseTo(1.25, 12);
      expect(b?.decayed.weight).toBeCloseTo(0.5, 12);
      expect(b?.decayed.rewardSum).toBe(0);
      // The undiscounted counts are unaffected.
      expect(a?.count).toBe(2);
      expect(a?.successes).toBe(2);
    }
  });

  it('folds shadow outcomes apart from the served variants', () => {
    const shadow = { shadow: true, halfLifeMs: null };
    let counts = foldOutcome(START, 'model-c', LABEL(1), shadow);
    counts = foldOutcome(counts, 'model-c', { kind: 'assigned', allocation: [] }, shadow);
    expect(counts.variants).toEqual(START.variants);
    expect(counts.shadowVariants).toEqual([
      arm('model-c', { successes: 1, count: 1, assigned: 1 }),
    ]);
    expect(counts.version).toBe(START.version + 2);
  });
});

describe('foldOutcome against a plain reference fold', () => {
  // The fold written the plain way (every variant rebased and copied per newer reward, a map of
  // the allocation per decision). foldOutcome copies only what changes; the counts must be equal.
  function referenceFold(
    counts: ExperimentCounts,
    variant: string,
    outcome: CountedOutcome,
    options: { shadow: boolean; halfLifeMs: number | null },
  ): ExperimentCounts {
    let decayedAt = counts.decayedAt;
    let served = counts.variants;
    let shadowed = counts.shadowVariants;
    if (outcome.kind === 'reward' && outcome.eventTime > decayedAt) {
      const rebase = (v: VariantCounts): VariantCounts => ({
        ...v,
        decayed: rebaseDecayed(v.decayed, decayedAt, outcome.eventTime, options.halfLifeMs),
      });
      served = served.map(rebase);
      shadowed = shadowed.map(rebase);
      decayedAt = outcome.eventTime;
    }
    const withName = (list: readonly VariantCounts[], name: string): readonly VariantCounts[] =>
      list.some((v) => v.variant === name) ? list : [...list, arm(name)];
    let list = withName(options.shadow ? shadowed : served, variant);
    if (outcome.kind === 'assigned') {
      for (const a of outcome.allocation) if (a.probability > 0) list = withName(list, a.variant);
    }
    const share = new Map(
      outcome.kind === 'assigned' ? outcome.allocation.map((a) => [a.variant, a.probability]) : [],
    );
    const next = list.map((v): VariantCounts => {
      const p = share.get(v.variant) ?? 0;
      const grown = p === 0 ? v : { ...v, expectedAssigned: v.expectedAssigned + p };
      if (v.variant !== variant) return grown;
      switch (outcome.kind) {
        case 'assigned':
          return { ...grown, assigned: v.assigned + 1 };
        case 'dropped':
          return { ...v, dropped: v.dropped + 1 };
        case 'late':
          return { ...v, late: v.late + 1 };
        case 'reward': {
          const r = outcome.reward;
          return {
            ...v,
            successes: v.successes + r,
            failures: v.failures + (1 - r),
            count: v.count + 1,
            implicit: v.implicit + (outcome.implicit ? 1 : 0),
            rewardSum: v.rewardSum + r,
            rewardSumSquares: v.rewardSumSquares + r * r,
            decayed: foldDecayed(v.decayed, decayedAt, r, outcome.eventTime, options.halfLifeMs)
              .sums,
          };
        }
      }
    });
    return {
      experiment: counts.experiment,
      variants: options.shadow ? served : next,
      shadowVariants: options.shadow ? next : shadowed,
      version: counts.version + 1,
      decayedAt,
    };
  }

  it('gives the same counts over seeded random outcomes (both lists, with and without a half-life)', () => {
    const names = ['a', 'b', 'c', 'd'];
    for (const halfLifeMs of [null, 60_000]) {
      const random = createSeededRandom(halfLifeMs === null ? 11 : 12);
      const pick = (): string => names[Math.floor(random() * names.length)] ?? 'a';
      let ours = emptyCounts('e');
      let reference = emptyCounts('e');
      let clock = 1_000_000;
      for (let i = 0; i < 800; i++) {
        const shadow = random() < 0.2;
        const kind = random();
        let outcome: CountedOutcome;
        if (kind < 0.45) {
          // Mostly newer rewards (the usual case), some older ones, a few at the same time.
          clock += Math.floor(random() * 3_000) - 500;
          outcome = {
            kind: 'reward',
            reward: random() < 0.5 ? 1 : random(),
            implicit: random() < 0.3,
            eventTime: Math.max(0, clock),
          };
        } else if (kind < 0.85) {
          const first = pick();
          const second = pick();
          const p = random();
          outcome = {
            kind: 'assigned',
            allocation:
              first === second
                ? [{ variant: first, probability: 1 }]
                : [
                    { variant: first, probability: p },
                    { variant: second, probability: 1 - p },
                    { variant: 'never', probability: 0 },
                  ],
          };
        } else {
          outcome = { kind: random() < 0.5 ? 'dropped' : 'late' };
        }
        const variant = pick();
        const options = { shadow, halfLifeMs };
        const before = deepFreeze(ours);
        ours = foldOutcome(before, variant, outcome, options);
        reference = referenceFold(reference, variant, outcome, options);
        expect(ours).toEqual(reference);
      }
      expect(ours.variants.length + ours.shadowVariants.length).toBeGreaterThan(4);
    }
  });
});
