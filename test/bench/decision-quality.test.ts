import { describe, expect, it } from 'vitest';
import {
  fixedHorizonSize,
  gkLowerBound,
  laiRobbinsRegret,
  runDecisionQuality,
  scorecardJson,
  wilson,
} from '../../bench/decision-quality.ts';
import { bernoulliDivergence } from '../../lib/stats/glr.ts';

describe('scorecard reference values', () => {
  it('wilson: the score interval, clamped to [0, 1]', () => {
    // 0 of 100: upper bound z²/(n + z²) ≈ 3.7%.
    const none = wilson(0, 100);
    expect(none.value).toBe(0);
    expect(none.lower).toBeCloseTo(0, 12);
    expect(none.upper).toBeCloseTo(3.8415 / 103.8415, 4);
    const half = wilson(50, 100);
    expect(half.lower).toBeCloseTo(0.4038, 3);
    expect(half.upper).toBeCloseTo(0.5962, 3);
  });

  it('gkLowerBound: kl(δ, 1 − δ) over the best weighted divergence to the equal-means point', () => {
    // For close arms the optimal weight is about 1/2 and the divergence about Δ²/(8 p(1 − p)).
    const bound = gkLowerBound([0.3, 0.4], 0.05);
    const even = 0.5 * bernoulliDivergence(0.3, 0.35) + 0.5 * bernoulliDivergence(0.4, 0.35);
    expect(bound).toBeCloseTo(bernoulliDivergence(0.05, 0.95) / even, 0);
    expect(bound).toBeGreaterThan(400);
    expect(bound).toBeLessThan(600);
  });

  it('fixedHorizonSize: two-sided level δ and power 1 − δ, both arms', () => {
    // z_{0.975} + z_{0.95} = 3.605; 3.605² (0.21 + 0.24) / 0.01 = 585 per arm.
    expect(fixedHorizonSize([0.3, 0.4], 0.05)).toBe(2 * 585);
  });

  it('laiRobbinsRegret: Δ ln T / d(μ, μ*) summed over the worse arms', () => {
    const expected = (0.08 * Math.log(100_000)) / bernoulliDivergence(0.63, 0.71);
    expect(laiRobbinsRegret([0.63, 0.71], 100_000)).toBeCloseTo(expected, 10);
    expect(laiRobbinsRegret([0.5, 0.5], 100_000)).toBe(0);
  });
});

describe('runDecisionQuality', () => {
  it('scores every goal and prints the fields a script checks', () => {
    const scores = runDecisionQuality({
      runs: 4,
      horizon: 4_000,
      regretHorizon: 2_000,
      snapshotEvery: 500,
      delta: 0.05,
      tolerance: 0.001,
      minRewards: 50,
      firstSeed: 1,
    });
    expect(scores.map((s) => `${s.goal}/${s.rule}`)).toEqual(['decide/glr', 'earn/expected-loss']);
    for (const s of scores) {
      expect(s.aaFalseWinner.of).toBe(4);
      expect(s.gaps).toHaveLength(2);
      expect(Object.keys(scorecardJson(s))).toEqual([
        'rule',
        'goal',
        'aaFalseWinnerRate',
        'correctRate',
        'stoppedRate',
        'medianSamplesOverGKBound',
        'regretOverLaiRobbins',
      ]);
    }
    expect(scores[0]?.regretOverLaiRobbins).toBeNull();
    expect(scores[1]?.regretOverLaiRobbins).toBeGreaterThan(0);
    expect(scorecardJson(scores[1] ?? scores[0]!).medianSamplesOverGKBound).toBeNull();
  });
});
