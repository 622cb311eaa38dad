import { describe, expect, it } from 'vitest';
import {
  applyForcedExploration,
  decide,
  planFromWeights,
  planThompsonSampling,
  planTopTwo,
  type ArmCounts,
} from '../../../lib/bandit/policies.ts';
import { computeProbabilityBest } from '../../../lib/bandit/probability-best.ts';
import { createSeededRandom, sampleBeta } from '../../../lib/bandit/random.ts';

const ARMS: readonly ArmCounts[] = [
  { variant: 'model-a', successes: 12, failures: 40, count: 52 },
  { variant: 'model-b', successes: 15, failures: 38, count: 53 },
  { variant: 'model-c', successes: 9, failures: 20, count: 29 },
];
const PRIOR = { alpha: 1, beta: 1 };

describe('planFromWeights', () => {
  it('normalises the weights', () => {
    const plan = planFromWeights([
      { name: 'a', weight: 1 },
      { name: 'b', weight: 3 },
      { name: 'c', weight: 0 },
    ]);
    expect(plan.variants).toEqual(['a', 'b', 'c']);
    expect(plan.probabilities).toEqual([0.25, 0.75, 0]);
    expect(plan.table.size).toBe(3);
  });

  it('treats all-zero weights as uniform', () => {
    const plan = planFromWeights([
      { name: 'a', weight: 0 },
      { name: 'b', weight: 0 },
    ]);
    expect(plan.probabilities).toEqual([0.5, 0.5]);
  });

  it('rejects no variants, duplicate names and invalid weights', () => {
    expect(() => planFromWeights([])).toThrow(RangeError);
    expect(() =>
      planFromWeights([
        { name: 'a', weight: 1 },
        { name: 'a', weight: 2 },
      ]),
    ).toThrow(RangeError);
    expect(() => planFromWeights([{ name: 'a', weight: -1 }])).toThrow(RangeError);
    expect(() => planFromWeights([{ name: 'a', weight: Number.NaN }])).toThrow(RangeError);
  });
});

describe('planThompsonSampling', () => {
  it('routes with P(best) of the Beta(prior + successes, prior + failures) posteriors', () => {
    const prior = { alpha: 2, beta: 5 };
    const plan = planThompsonSampling(ARMS, prior);
    expect(plan.variants).toEqual(['model-a', 'model-b', 'model-c']);
    const expected = computeProbabilityBest(
      ARMS.map((arm) => ({ alpha: 2 + arm.successes, beta: 5 + arm.failures })),
    );
    expect(plan.probabilities).toEqual(expected);
    expect(plan.probabilities.reduce((sum, p) => sum + p, 0)).toBeCloseTo(1, 12);
  });

  it('gives a single variant everything', () => {
    const plan = planThompsonSampling(
      [{ variant: 'only', successes: 0, failures: 0, count: 0 }],
      PRIOR,
    );
    expect(plan.probabilities).toEqual([1]);
    expect(decide(plan, createSeededRandom(1))).toEqual({ variant: 'only', propensity: 1 });
  });

  it('rejects an invalid prior, invalid counts and duplicate variants', () => {
    expect(() => planThompsonSampling(ARMS, { alpha: 0, beta: 1 })).toThrow(RangeError);
    expect(() => planThompsonSampling(ARMS, { alpha: 1, beta: Number.NaN })).toThrow(RangeError);
    expect(() =>
      planThompsonSampling([{ variant: 'a', successes: -1, failures: 0, count: 0 }], PRIOR),
    ).toThrow(RangeError);
    expect(() => planThompsonSampling([...ARMS, ARMS[0]!], PRIOR)).toThrow(RangeError);
    expect(() => planThompsonSampling([], PRIOR)).toThrow(RangeError);
  });
});

describe('decide', () => {
  it('returns the plan probability of the chosen variant as its propensity', () => {
    const plan = planThompsonSampling(ARMS, PRIOR);
    const random = createSeededRandom(2);
    for (let i = 0; i < 1000; i += 1) {
      const decision = decide(plan, random);
      const index = plan.variants.indexOf(decision.variant);
      expect(index).toBeGreaterThanOrEqual(0);
      expect(decision.propensity).toBe(plan.probabilities[index]);
    }
  });

  it('never picks a zero-weight variant', () => {
    const plan = planFromWeights([
      { name: 'on', weight: 1 },
      { name: 'off', weight: 0 },
    ]);
    const random = createSeededRandom(3);
    const picked = new Set(Array.from({ length: 10_000 }, () => decide(plan, random).variant));
    expect([...picked]).toEqual(['on']);
  });

  it(
    'has the same decision frequencies as per-request Thompson sampling',
    { timeout: 60_000 },
    () => {
      const draws = 200_000;
      const plan = planThompsonSampling(ARMS, PRIOR);
      const planned = new Map<string, number>();
      const planRandom = createSeededRandom(4);
      for (let i = 0; i < draws; i += 1) {
        const { variant } = decide(plan, planRandom);
        planned.set(variant, (planned.get(variant) ?? 0) + 1);
      }

      // The per-request policy: one posterior draw per variant, route to the largest.
      const perRequest = new Map<string, number>();
      const thompsonRandom = createSeededRandom(5);
      for (let i = 0; i < draws; i += 1) {
        let best = '';
        let bestValue = Number.NEGATIVE_INFINITY;
        for (const arm of ARMS) {
          const value = sampleBeta(
            PRIOR.alpha + arm.successes,
            PRIOR.beta + arm.failures,
            thompsonRandom,
          );
          if (value > bestValue) {
            bestValue = value;
            best = arm.variant;
          }
        }
        perRequest.set(best, (perRequest.get(best) ?? 0) + 1);
      }

      plan.variants.forEach((variant, i) => {
        const p = plan.probabilities[i] ?? Number.NaN;
        const fromPlan = (planned.get(variant) ?? 0) / draws;
        const fromThompson = (perRequest.get(variant) ?? 0) / draws;
        // Two independent binomial proportions: sd of the difference is sqrt(2 p (1 - p) / n).
        expect(Math.abs(fromPlan - fromThompson)).toBeLessThan(
          5 * Math.sqrt((2 * p * (1 - p)) / draws),
        );
        expect(Math.abs(fromPlan - p)).toBeLessThan(5 * Math.sqrt((p * (1 - p)) / draws));
      });
    },
  );
});

describe('planTopTwo', () => {
  it('splits two arms evenly whatever their P(best) (β = 1/2)', () => {
    const thompson = planThompsonSampling(
      [
        { variant: 'a', successes: 30, failures: 70, count: 100 },
        { variant: 'b', successes: 60, failures: 40, count: 100 },
      ],
      PRIOR,
    );
    expect(thompson.probabilities[1]).toBeGreaterThan(0.99);
    const plan = planTopTwo(thompson);
    expect(plan.probabilities[0]).toBeCloseTo(0.5, 12);
    expect(plan.probabilities[1]).toBeCloseTo(0.5, 12);
  });

  it('matches per-request top-two Thompson sampling (leader, else re-draw until another argmax)', () => {
    const plan = planTopTwo(planThompsonSampling(ARMS, PRIOR));
    const random = createSeededRandom(2024);
    const draws = 20_000;
    const hits = ARMS.map(() => 0);
    const argmax = (): number => {
      const theta = ARMS.map((a) => sampleBeta(1 + a.successes, 1 + a.failures, random));
      return theta.indexOf(Math.max(...theta));
    };
    for (let i = 0; i < draws; i++) {
      const leader = argmax();
      let chosen = leader;
      if (random() >= 0.5) {
        while (chosen === leader) chosen = argmax();
      }
      hits[chosen] = (hits[chosen] ?? 0) + 1;
    }
    plan.probabilities.forEach((p, k) => {
      // 4.5 standard errors of a share estimated from 20,000 draws.
      expect(Math.abs((hits[k] ?? 0) / draws - p)).toBeLessThan(4.5 * Math.sqrt(0.25 / draws));
    });
  });

  it('sends the runner-up share evenly to the others when the leader has all the mass', () => {
    const settled = planFromWeights([
      { name: 'a', weight: 1 },
      { name: 'b', weight: 0 },
      { name: 'c', weight: 0 },
    ]);
    expect(planTopTwo(settled).probabilities).toEqual([0.5, 0.25, 0.25]);
    expect(planTopTwo(settled, 0.8).probabilities.map((p) => p.toFixed(12))).toEqual(
      [0.8, 0.1, 0.1].map((p) => p.toFixed(12)),
    );
  });

  it('refuses a leader share outside (0, 1)', () => {
    const plan = planFromWeights([{ name: 'a', weight: 1 }]);
    expect(() => planTopTwo(plan, 1)).toThrow(RangeError);
    expect(planTopTwo(plan).probabilities).toEqual([1]);
  });
});

describe('applyForcedExploration', () => {
  const plan = planFromWeights([
    { name: 'a', weight: 0.9 },
    { name: 'b', weight: 0.1 },
    { name: 'c', weight: 0 },
  ]);

  it('gives half the traffic, split evenly, to the variants behind', () => {
    const forced = applyForcedExploration(plan, ['b', 'c']);
    const expected = [0.45, 0.05 + 0.25, 0.25];
    forced.probabilities.forEach((p, j) => expect(p).toBeCloseTo(expected[j] ?? NaN, 12));
    expect(forced.table.size).toBe(3);
  });

  it('returns the plan unchanged when no variant is behind, and refuses unknown names', () => {
    expect(applyForcedExploration(plan, [])).toBe(plan);
    expect(() => applyForcedExploration(plan, ['z'])).toThrow(/unknown variant "z"/);
  });
});
