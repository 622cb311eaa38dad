import { describe, expect, it } from 'vitest';
import type { DecisionMade } from '../../lib/contracts/events.ts';
import { createSeededRandom } from '../../lib/bandit/random.ts';
import type { RunOutcome } from '../../bench/decision-simulation.ts';
import {
  AA_RATES,
  calibrationBuckets,
  calibrationMaxErrorPoints,
  CALIBRATION_EDGES,
  drawPriorRates,
  fixedHorizonSize,
  leaderSamples,
  MDE_RATES,
  PRIOR_CELL,
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

describe('calibration of the reported P(best)', () => {
  it('calibrationBuckets: half-open buckets, the top edge in the last one', () => {
    const buckets = calibrationBuckets([
      { reported: 0.5, correct: true },
      { reported: 0.55, correct: false },
      { reported: 0.65, correct: true },
      { reported: 0.95, correct: true },
      { reported: 0.99, correct: true },
      { reported: 1, correct: false },
    ]);
    expect(buckets.map((b) => [b.lower, b.upper])).toEqual([
      [0.5, 0.6],
      [0.6, 0.7],
      [0.7, 0.8],
      [0.8, 0.9],
      [0.9, 0.95],
      [0.95, 0.99],
      [0.99, 1],
    ]);
    expect(buckets.map((b) => b.observed.of)).toEqual([2, 1, 0, 0, 0, 1, 2]);
    expect(buckets.map((b) => b.observed.count)).toEqual([1, 1, 0, 0, 0, 1, 1]);
    expect(buckets[0]?.meanReported).toBeCloseTo(0.525, 12);
    expect(buckets[6]?.meanReported).toBeCloseTo(0.995, 12);
    expect(buckets[6]?.observed.value).toBe(0.5);
    expect(buckets[2]?.meanReported).toBeNull();
    // The interval is Wilson's for the bucket's count.
    expect(buckets[0]?.observed).toEqual(wilson(1, 2));
  });

  it('calibrationBuckets: refuses values outside the edges, and too few edges', () => {
    for (const reported of [0.49, 1.01, Number.NaN]) {
      expect(() => calibrationBuckets([{ reported, correct: true }])).toThrow(RangeError);
    }
    expect(() => calibrationBuckets([], [0.5])).toThrow(RangeError);
    expect(calibrationBuckets([], [0, 1])).toHaveLength(1);
  });

  it('calibrationMaxErrorPoints: the worst bucket with enough samples, in points', () => {
    const samples = [
      // 0.55 reported, right 3 times in 4: 20 points off, but only 4 samples.
      ...Array.from({ length: 4 }, (_, i) => ({ reported: 0.55, correct: i < 3 })),
      // 0.85 reported, right 8 times in 10: 5 points off.
      ...Array.from({ length: 10 }, (_, i) => ({ reported: 0.85, correct: i < 8 })),
    ];
    const buckets = calibrationBuckets(samples);
    expect(calibrationMaxErrorPoints(buckets, 10)).toBeCloseTo(5, 10);
    expect(calibrationMaxErrorPoints(buckets, 4)).toBeCloseTo(20, 10);
    expect(calibrationMaxErrorPoints(buckets, 11)).toBeNull();
  });

  it('tells a calibrated report from one that is 10 points overconfident (seeded)', () => {
    const random = createSeededRandom(42);
    const calibrated = [];
    const overconfident = [];
    for (let i = 0; i < 40_000; i++) {
      const reported = 0.5 + 0.5 * random();
      const u = random();
      calibrated.push({ reported, correct: u < reported });
      overconfident.push({ reported, correct: u < reported - 0.1 });
    }
    const good = calibrationMaxErrorPoints(calibrationBuckets(calibrated), 1_000);
    const bad = calibrationMaxErrorPoints(calibrationBuckets(overconfident), 1_000);
    expect(good).toBeLessThan(2.5);
    expect(bad).toBeGreaterThan(8);
    expect(bad).toBeLessThan(12);
    // The bucket [0.99, 1] has about 800 samples: below the 1,000 cut, so not counted.
    expect(calibrationBuckets(calibrated).at(-1)?.observed.of).toBeLessThan(1_000);
  });

  it('leaderSamples: every evaluated snapshot, and the last one of each stopped run', () => {
    const run = (leaders: [number, number][], stopped: boolean): RunOutcome => ({
      decision: stopped ? ({ kind: 'winner', variant: 'b' } as DecisionMade) : null,
      chosen: stopped ? 1 : null,
      requests: 1_000,
      rewards: 1_000,
      regret: 0,
      probabilityBestAtStop: null,
      probabilityBestCrossed95: false,
      counts: [500, 500],
      leaders: leaders.map(([leader, probabilityBest]) => ({ leader, probabilityBest })),
    });
    const { snapshots, stops } = leaderSamples(
      [
        run(
          [
            [0, 0.6],
            [1, 0.97],
          ],
          true,
        ),
        run([[0, 0.7]], false),
      ],
      1,
    );
    expect(snapshots).toEqual([
      { reported: 0.6, correct: false },
      { reported: 0.97, correct: true },
      { reported: 0.7, correct: false },
    ]);
    expect(stops).toEqual([{ reported: 0.97, correct: true }]);
  });
});

describe('drawPriorRates', () => {
  it('draws two rates per run from the prior, as a function of the seed', () => {
    const rates = drawPriorRates(PRIOR_CELL, 2_000, 3);
    expect(rates).toHaveLength(2_000);
    expect(drawPriorRates(PRIOR_CELL, 2_000, 3)).toEqual(rates);
    expect(drawPriorRates(PRIOR_CELL, 2, 4)).not.toEqual(rates.slice(0, 2));
    const all = rates.flat();
    expect(all.every((r) => r > 0 && r < 1)).toBe(true);
    // Beta(5, 95): mean 0.05, sd ≈ 0.0217, so the mean of 4,000 draws is within 0.0011 (3 sd).
    const mean = all.reduce((a, b) => a + b, 0) / all.length;
    expect(mean).toBeCloseTo(0.05, 2);
    expect(Math.abs(mean - 0.05)).toBeLessThan(0.0011);
    const sd = Math.sqrt(all.reduce((a, b) => a + (b - mean) ** 2, 0) / all.length);
    expect(sd).toBeGreaterThan(0.019);
    expect(sd).toBeLessThan(0.024);
  });
});

describe('runDecisionQuality', () => {
  it('scores every goal and prints the fields a script checks', () => {
    const scores = runDecisionQuality({
      runs: 4,
      horizon: 4_000,
      regretHorizon: 2_000,
      snapshotEvery: 500,
      mdeSnapshotEvery: 500,
      delta: 0.05,
      tolerance: 0.001,
      minRewards: 50,
      firstSeed: 1,
      mdeRuns: 3,
      mdeHorizon: 6_000,
      priorRuns: 5,
      stated: true,
    });
    expect(scores.map((s) => `${s.goal}/${s.rule}`)).toEqual(['decide/glr', 'earn/expected-loss']);
    for (const s of scores) {
      expect(s.aaFalseWinner.of).toBe(4);
      expect(s.aaCells.map((c) => c.rates)).toEqual(AA_RATES);
      expect(s.aaCells.some((c) => c.falseWinner === s.aaFalseWinner)).toBe(true);
      expect(s.gaps).toHaveLength(3);
      expect(s.gaps.at(-1)).toMatchObject({ rates: MDE_RATES, runs: 3, horizon: 6_000 });
      expect(s.gaps[0]).toMatchObject({ runs: 4, horizon: 4_000 });
      // The pooled calibration holds every cell's samples, bucket by bucket.
      for (const at of ['snapshots', 'stops'] as const) {
        expect(s.calibration[at].map((b) => b.observed.of)).toEqual(
          s.calibration[at].map((_, b) =>
            s.gaps.reduce((sum, g) => sum + (g.calibration[at][b]?.observed.of ?? 0), 0),
          ),
        );
        expect(s.calibration[at]).toHaveLength(CALIBRATION_EDGES.length - 1);
      }
      const stops = s.calibration.stops.reduce((sum, b) => sum + b.observed.of, 0);
      expect(stops).toBe(s.gaps.reduce((sum, g) => sum + g.stopped.count, 0));
      expect(stops).toBeGreaterThan(0);
      // The prior-drawn cell: one sample per evaluated snapshot (at most 8 per run), one per stop.
      const prior = s.priorCell;
      expect(prior).toMatchObject({ prior: PRIOR_CELL, runs: 5, horizon: 4_000 });
      const priorSnapshots = prior.calibration.snapshots.reduce((n, b) => n + b.observed.of, 0);
      expect(priorSnapshots).toBeGreaterThanOrEqual(5);
      expect(priorSnapshots).toBeLessThanOrEqual(5 * 8);
      expect(prior.calibration.stops.reduce((n, b) => n + b.observed.of, 0)).toBe(
        prior.stopped.count,
      );
      expect(Object.keys(scorecardJson(s))).toEqual([
        'rule',
        'goal',
        'aaFalseWinnerRate',
        'correctRate',
        'stoppedRate',
        'medianSamplesOverGKBound',
        'regretOverLaiRobbins',
        'aaFalseWinnerUpper95',
        'medianSamplesOverGKBoundByGap',
        'medianSamplesOverFixedHorizonByGap',
        'correctRateByGap',
        'stoppedRateByGap',
        'mdeCorrectRate',
        'mdeStoppedRate',
        'calibrationMaxErrorPoints',
        'calibrationMaxErrorPointsAtStop',
        'priorCellCalibrationMaxErrorPoints',
        'priorCellCalibrationMaxErrorPointsAtStop',
      ]);
    }
    expect(scores[0]?.regretOverLaiRobbins).toBeNull();
    expect(scores[1]?.regretOverLaiRobbins).toBeGreaterThan(0);
    expect(scorecardJson(scores[1] ?? scores[0]!).medianSamplesOverGKBound).toBeNull();
  });
});
