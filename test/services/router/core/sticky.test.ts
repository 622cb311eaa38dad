import { describe, expect, it } from 'vitest';
import { planFromWeights } from '../../../../lib/bandit/policies.ts';
import { chiSquareSurvival } from '../../../../lib/stats/chi-square.ts';
import { stickyDecision, userPosition } from '../../../../services/router/core/sticky.ts';

const users = Array.from({ length: 100_000 }, (_, i) => `user-${i}`);

describe('userPosition', () => {
  it('is deterministic, in [0, 1), and differs between experiments', () => {
    expect(userPosition('exp', 'alice')).toBe(userPosition('exp', 'alice'));
    expect(userPosition('exp', 'alice')).not.toBe(userPosition('other', 'alice'));
    for (const user of users.slice(0, 1_000)) {
      const u = userPosition('exp', user);
      expect(u).toBeGreaterThanOrEqual(0);
      expect(u).toBeLessThan(1);
    }
  });

  it('spreads 100,000 sequential user ids uniformly (chi-square over 100 bins)', () => {
    const bins = new Array<number>(100).fill(0);
    for (const user of users) {
      const bin = Math.floor(userPosition('spam-filter', user) * 100);
      bins[bin] = (bins[bin] ?? 0) + 1;
    }
    const expected = users.length / 100;
    const chi2 = bins.reduce((sum, observed) => sum + (observed - expected) ** 2 / expected, 0);
    expect(chiSquareSurvival(chi2, 99)).toBeGreaterThan(1e-4);
    // The check has power: a skewed split is rejected.
    const skewed = bins.map((b, i) => (i < 50 ? b * 1.05 : b * 0.95));
    const skewedChi2 = skewed.reduce((sum, o) => sum + (o - expected) ** 2 / expected, 0);
    expect(chiSquareSurvival(skewedChi2, 99)).toBeLessThan(1e-4);
  });
});

describe('stickyDecision', () => {
  const plan = planFromWeights([
    { name: 'a', weight: 0.2 },
    { name: 'b', weight: 0.5 },
    { name: 'c', weight: 0.3 },
  ]);

  it('splits users by the plan probabilities; each propensity is the plan probability', () => {
    const counts = new Map<string, number>();
    for (const user of users) {
      const d = stickyDecision(plan, 'exp', user);
      counts.set(d.variant, (counts.get(d.variant) ?? 0) + 1);
      expect(d.propensity).toBe(plan.probabilities[plan.variants.indexOf(d.variant)]);
    }
    const chi2 = plan.variants.reduce((sum, v, i) => {
      const expected = users.length * (plan.probabilities[i] ?? 0);
      return sum + ((counts.get(v) ?? 0) - expected) ** 2 / expected;
    }, 0);
    expect(chiSquareSurvival(chi2, 2)).toBeGreaterThan(1e-4);
  });

  it('moves only the users between the old and the new boundary when the allocation shifts', () => {
    const shifted = planFromWeights([
      { name: 'a', weight: 0.1 },
      { name: 'b', weight: 0.5 },
      { name: 'c', weight: 0.4 },
    ]);
    let moved = 0;
    for (const user of users) {
      const before = stickyDecision(plan, 'exp', user).variant;
      const after = stickyDecision(shifted, 'exp', user).variant;
      if (before !== after) moved++;
      // Nobody moves to a variant that lost share.
      if (before !== after) expect(after === 'a').toBe(false);
    }
    // Cut points move from (0.2, 0.7) to (0.1, 0.6): 10% + 10% of users change variant.
    expect(moved / users.length).toBeGreaterThan(0.19);
    expect(moved / users.length).toBeLessThan(0.21);
  });

  it('never picks a variant with probability 0', () => {
    const onlyB = planFromWeights([
      { name: 'a', weight: 0 },
      { name: 'b', weight: 1 },
      { name: 'c', weight: 0 },
    ]);
    for (const user of users.slice(0, 2_000)) {
      expect(stickyDecision(onlyB, 'exp', user)).toEqual({ variant: 'b', propensity: 1 });
    }
  });
});
