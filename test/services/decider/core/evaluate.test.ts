import { describe, expect, it } from 'vitest';
import { computeProbabilityBest } from '../../../../lib/bandit/probability-best.ts';
import type { CanaryConfig, PosteriorPublished } from '../../../../lib/contracts/events.ts';
import { mergeExperimentTotals } from '../../../../lib/contracts/posterior-totals.ts';
import {
  CANARY_CAVEAT,
  CAVEATS,
  evaluateExperiment,
  REAL_REWARD_CAVEAT,
  UNEVEN_REWARDS_CAVEAT,
} from '../../../../services/decider/core/evaluate.ts';
import {
  anytimePValue,
  differenceConfidenceSequence,
  meanConfidenceSequence,
} from '../../../../lib/stats/confidence-sequence.ts';
import {
  experimentDefined,
  posteriorPublished,
  stoppingRule,
  variantCounts,
} from '../../../support/fixtures.ts';

const NOW = 1_700_000_500_000;
const AB = [
  { name: 'model-a', weight: 0.5 },
  { name: 'model-b', weight: 0.5 },
];

function totals(partials: readonly PosteriorPublished[]) {
  return mergeExperimentTotals(partials, 'spam-filter', null);
}

const clearWinner = posteriorPublished({
  version: 2_000,
  variants: [
    variantCounts('model-a', 400, 600, 1_000, { assigned: 1_000, expectedAssigned: 1_000 }),
    variantCounts('model-b', 550, 450, 1_000, { assigned: 1_000, expectedAssigned: 1_000 }),
  ],
});

describe('evaluateExperiment: statistics', () => {
  it('reports posterior means, intervals, P(best), expected loss and z against the champion', () => {
    const { statistics } = evaluateExperiment(
      experimentDefined({ variants: AB }),
      totals([clearWinner]),
      NOW,
    );
    const [a, b] = statistics.variants;
    expect(statistics.experiment).toBe('spam-filter');
    expect(statistics.computedAt).toBe(NOW);
    // Beta(1 + 400, 1 + 600) and Beta(1 + 550, 1 + 450).
    expect(a?.mean).toBeCloseTo(401 / 1002, 12);
    expect(b?.mean).toBeCloseTo(551 / 1002, 12);
    expect(a?.lower95).toBeLessThan(a?.mean ?? NaN);
    expect(a?.upper95).toBeGreaterThan(a?.mean ?? NaN);
    const pBest = computeProbabilityBest([
      { alpha: 401, beta: 601 },
      { alpha: 551, beta: 451 },
    ]);
    expect(a?.probabilityBest).toBeCloseTo(pBest[0] ?? NaN, 12);
    expect(b?.probabilityBest).toBeCloseTo(pBest[1] ?? NaN, 12);
    // The champion (first variant) has no z-test against itself; b is 0.15 better: z ≈ 6.7.
    expect(a?.zScore).toBeNull();
    expect(b?.zScore).toBeGreaterThan(6);
    expect(b?.pValue).toBeLessThan(1e-9);
    // Choosing a loses about 0.15 per decision; choosing b loses almost nothing.
    expect(a?.expectedLoss).toBeCloseTo(0.15, 2);
    expect(b?.expectedLoss).toBeLessThan(1e-6);
    expect(statistics.sampleRatio).toMatchObject({ mismatch: false, degreesOfFreedom: 1 });
  });

  it('reports anytime-valid intervals and p-value against the champion, and the caveats of the rest', () => {
    const { statistics } = evaluateExperiment(
      experimentDefined({ variants: AB }),
      totals([clearWinner]),
      NOW,
    );
    const [a, b] = statistics.variants;
    const own = meanConfidenceSequence({ n: 1_000, mean: 0.55, variance: 0.25 }, 0.05);
    expect(b?.anytimeLower95).toBeCloseTo(own.lower, 12);
    expect(b?.anytimeUpper95).toBeCloseTo(own.upper, 12);
    const champion = { n: 1_000, mean: 0.4, variance: 0.25 };
    const challenger = { n: 1_000, mean: 0.55, variance: 0.25 };
    const difference = differenceConfidenceSequence(champion, challenger, 0.05);
    expect(b?.differenceLower95).toBeCloseTo(difference.lower, 12);
    expect(b?.differenceUpper95).toBeCloseTo(difference.upper, 12);
    expect(b?.differenceLower95).toBeGreaterThan(0);
    expect(b?.anytimePValue).toBeCloseTo(anytimePValue(champion, challenger), 12);
    // The champion has its own interval but nothing to compare with.
    expect(a?.anytimeLower95).not.toBeNull();
    expect(a?.differenceLower95).toBeNull();
    expect(a?.anytimePValue).toBeNull();
    expect(statistics.caveats).toEqual(CAVEATS);
    expect(statistics.caveats.join(' ')).toMatch(
      /fixed-horizon tests: not valid when checked repeatedly/,
    );
  });

  it('flags a sample ratio mismatch against the allocation that was live', () => {
    const skewed = posteriorPublished({
      version: 10,
      variants: [
        variantCounts('model-a', 5, 5, 10, { assigned: 5_300, expectedAssigned: 5_000 }),
        variantCounts('model-b', 5, 5, 10, { assigned: 4_700, expectedAssigned: 5_000 }),
      ],
    });
    const { statistics } = evaluateExperiment(
      experimentDefined({ variants: AB }),
      totals([skewed]),
      NOW,
    );
    // (300² + 300²) / 5000 = 36 with 1 degree of freedom.
    expect(statistics.sampleRatio?.chiSquare).toBeCloseTo(36, 9);
    expect(statistics.sampleRatio?.mismatch).toBe(true);
  });

  it('reports shadow variants after the served ones, compared with the champion', () => {
    const withShadow = posteriorPublished({
      ...clearWinner,
      shadowVariants: [variantCounts('model-z', 700, 300)],
    });
    const { statistics } = evaluateExperiment(
      experimentDefined({ variants: AB, shadowVariants: ['model-z'] }),
      totals([withShadow]),
      NOW,
    );
    const z = statistics.variants[2];
    expect(z).toMatchObject({ variant: 'model-z', shadow: true, rewards: 1_000 });
    expect(z?.mean).toBeCloseTo(701 / 1002, 12);
    expect(z?.zScore).toBeGreaterThan(10);
  });

  it('uses normal posteriors and a Welch z-test for real-valued rewards', () => {
    const revenue = (variant: string, n: number, mean: number, variance: number) => ({
      ...variantCounts(variant, 0, 0, n),
      rewardSum: n * mean,
      rewardSumSquares: n * (variance + mean * mean),
    });
    const { statistics } = evaluateExperiment(
      experimentDefined({
        variants: AB,
        policy: 'gaussian-thompson-sampling',
        rewardKind: 'real',
        priorStrength: 1e-6,
        stopping: stoppingRule({ goal: 'decide', rule: 'glr' }),
      }),
      totals([
        posteriorPublished({
          version: 2,
          variants: [revenue('model-a', 400, 10, 4), revenue('model-b', 400, 10.5, 4)],
        }),
      ]),
      NOW,
    );
    // The GLR threshold is proven for Bernoulli arms only; with a plug-in variance it is a
    // heuristic, and the statistics say so, as they say the anytime intervals are approximate.
    expect(statistics.stopping.detail).toMatch(/heuristic for real-valued rewards/);
    expect(statistics.caveats).toContain(REAL_REWARD_CAVEAT);
    const [a, b] = statistics.variants;
    expect(a?.mean).toBeCloseTo(10, 4);
    expect(b?.mean).toBeCloseTo(10.5, 4);
    // Standard error of each mean 0.1: the 95% interval is ±1.96 · 0.1.
    expect((b?.upper95 ?? 0) - (b?.lower95 ?? 0)).toBeCloseTo(2 * 1.96 * 0.1, 3);
    // Welch z = 0.5 / sqrt(0.01 + 0.01) ≈ 3.54.
    expect(b?.zScore).toBeCloseTo(0.5 / Math.sqrt(0.02), 2);
  });
});

describe('evaluateExperiment: the balanced-pair test', () => {
  const decide = (minimumDetectableEffect: number | null) =>
    experimentDefined({
      variants: AB,
      stopping: stoppingRule({
        rule: 'glr',
        goal: 'decide',
        threshold: 0.95,
        minRewards: 100,
        autoPromote: false,
        minimumDetectableEffect,
      }),
    });

  it('reports ln evidence against ln(2/δ), and says when rewards arrive unevenly', () => {
    const even = evaluateExperiment(
      decide(0.05),
      totals([
        posteriorPublished({
          variants: [variantCounts('model-a', 500, 500), variantCounts('model-b', 560, 440)],
        }),
      ]),
      NOW,
    );
    expect(even.statistics.stopping).toMatchObject({ rule: 'glr', leader: 'model-b' });
    expect(even.statistics.stopping.threshold).toBeCloseTo(Math.log(40), 12);
    expect(even.statistics.stopping.detail).toMatch(/minimum detectable effect 0\.05; exact/);
    expect(even.statistics.caveats).not.toContain(UNEVEN_REWARDS_CAVEAT);
    // 1,000 rewards against 700: far from an even split of labels.
    const uneven = evaluateExperiment(
      decide(null),
      totals([
        posteriorPublished({
          variants: [variantCounts('model-a', 500, 500), variantCounts('model-b', 400, 300)],
        }),
      ]),
      NOW,
    );
    expect(uneven.statistics.caveats).toContain(UNEVEN_REWARDS_CAVEAT);
  });

  it('keeps the GLR test for three variants', () => {
    const three = experimentDefined({
      variants: [...AB, { name: 'model-c', weight: 1 }],
      stopping: stoppingRule({ rule: 'glr', goal: 'decide', threshold: 0.95, minRewards: 0 }),
    });
    const { statistics } = evaluateExperiment(
      three,
      totals([
        posteriorPublished({
          variants: [
            variantCounts('model-a', 500, 500),
            variantCounts('model-b', 560, 440),
            variantCounts('model-c', 500, 500),
          ],
        }),
      ]),
      NOW,
    );
    expect(statistics.stopping.detail).toMatch(/^GLR statistic for model-b = /);
    expect(statistics.caveats).not.toContain(UNEVEN_REWARDS_CAVEAT);
  });
});

describe('evaluateExperiment: stopping rule', () => {
  it('declares and promotes the GLR winner once every variant has the minimum sample', () => {
    const experiment = experimentDefined({
      variants: AB,
      revision: 4,
      stopping: stoppingRule({
        rule: 'glr',
        goal: 'decide',
        threshold: 0.95,
        minRewards: 500,
        autoPromote: true,
      }),
    });
    const { statistics, decision, update } = evaluateExperiment(
      experiment,
      totals([clearWinner]),
      NOW,
    );
    expect(statistics.stopping).toMatchObject({ rule: 'glr', leader: 'model-b', satisfied: true });
    expect(decision).toMatchObject({
      experiment: 'spam-filter',
      kind: 'winner',
      variant: 'model-b',
      revision: 4,
      applied: true,
      rule: 'glr',
      decidedAt: NOW,
    });
    // Two variants on goal decide: the exact balanced-pair test.
    expect(decision?.reason).toMatch(/^balanced-pair test: ln evidence for model-b = /);
    expect(decision?.reason).toMatch(/δ = 0\.0500, no minimum detectable effect stated; exact/);
    expect(statistics.stopping.threshold).toBeCloseTo(Math.log(2 / 0.05), 12);
    expect(update).toMatchObject({
      state: 'promoted',
      winner: 'model-b',
      revision: 5,
      updatedAt: NOW,
    });
  });

  it('reports P(best) under probability-best but never declares a winner with it', () => {
    const { statistics, decision, update } = evaluateExperiment(
      experimentDefined({
        variants: AB,
        stopping: stoppingRule({
          rule: 'probability-best',
          threshold: 0.99,
          minRewards: 500,
          autoPromote: true,
        }),
      }),
      totals([clearWinner]),
      NOW,
    );
    expect(statistics.stopping).toMatchObject({
      rule: 'probability-best',
      leader: 'model-b',
      satisfied: false,
    });
    expect(statistics.stopping.statistic).toBeGreaterThan(0.99);
    expect(statistics.stopping.detail).toMatch(/reported only: .* not an error-controlled rule/);
    expect(decision).toBeNull();
    expect(update).toBeNull();
  });

  it('waits for the minimum sample even when the test statistic is past its threshold', () => {
    const { statistics, decision } = evaluateExperiment(
      experimentDefined({
        variants: AB,
        stopping: stoppingRule({ rule: 'glr', minRewards: 2_000, autoPromote: true }),
      }),
      totals([clearWinner]),
      NOW,
    );
    expect(statistics.stopping.statistic).toBeGreaterThan(statistics.stopping.threshold);
    expect(statistics.stopping.satisfied).toBe(false);
    expect(statistics.stopping.detail).toMatch(
      /waiting for 2000 rewards per variant \(fewest: 1000; forced exploration until then\)/,
    );
    expect(decision).toBeNull();
  });

  it('expected-loss chooses the clearly better variant as good enough, not as a winner', () => {
    const { statistics, decision, update } = evaluateExperiment(
      experimentDefined({
        variants: AB,
        stopping: stoppingRule({ rule: 'expected-loss', tolerance: 0.001, autoPromote: true }),
      }),
      totals([clearWinner]),
      NOW,
    );
    expect(statistics.stopping).toMatchObject({
      rule: 'expected-loss',
      leader: 'model-b',
      threshold: 0.001,
      satisfied: true,
    });
    expect(statistics.stopping.statistic).toBeLessThan(1e-6);
    expect(decision).toMatchObject({ kind: 'within-tolerance', variant: 'model-b', applied: true });
    expect(decision?.reason).toMatch(/not a significance claim/);
    expect(update).toMatchObject({ state: 'promoted', winner: 'model-b' });
  });

  it('expected-loss ends identical variants as equivalent within tolerance, keeping the champion', () => {
    // Both arms at 0.30 over 20,000 rewards: either choice loses ~0.002 / sqrt(…) ≪ 0.01.
    const same = posteriorPublished({
      version: 40_000,
      variants: [
        variantCounts('model-a', 6_000, 14_000, 20_000),
        variantCounts('model-b', 6_010, 13_990, 20_000),
      ],
    });
    const { statistics, decision } = evaluateExperiment(
      experimentDefined({
        variants: AB,
        stopping: stoppingRule({ rule: 'expected-loss', tolerance: 0.01 }),
      }),
      totals([same]),
      NOW,
    );
    expect(statistics.stopping.leader).toBe('model-a');
    expect(statistics.stopping.detail).toMatch(/equivalent within tolerance; keeping model-a/);
    expect(decision).toMatchObject({
      kind: 'within-tolerance',
      variant: 'model-a',
      applied: false,
    });
  });

  it('expected-loss waits while choosing any variant still costs more than the tolerance', () => {
    const early = posteriorPublished({
      version: 200,
      variants: [variantCounts('model-a', 30, 70, 100), variantCounts('model-b', 35, 65, 100)],
    });
    const { statistics, decision } = evaluateExperiment(
      experimentDefined({
        variants: AB,
        stopping: stoppingRule({ rule: 'expected-loss', tolerance: 0.001, minRewards: 0 }),
      }),
      totals([early]),
      NOW,
    );
    expect(statistics.stopping.satisfied).toBe(false);
    expect(statistics.stopping.statistic).toBeGreaterThan(0.001);
    expect(decision).toBeNull();
  });

  it('reports a winner without promoting it when autoPromote is off', () => {
    const { decision, update } = evaluateExperiment(
      experimentDefined({
        variants: AB,
        stopping: stoppingRule({
          rule: 'glr',
          threshold: 0.95,
          minRewards: 100,
          autoPromote: false,
        }),
      }),
      totals([clearWinner]),
      NOW,
    );
    expect(decision).toMatchObject({
      kind: 'winner',
      variant: 'model-b',
      applied: false,
      rule: 'glr',
    });
    expect(update).toBeNull();
  });

  it('does not stop on GLR while the arms are indistinguishable', () => {
    const even = posteriorPublished({
      version: 2,
      variants: [variantCounts('model-a', 500, 500), variantCounts('model-b', 505, 495)],
    });
    const { statistics, decision } = evaluateExperiment(
      experimentDefined({
        variants: AB,
        stopping: stoppingRule({
          rule: 'glr',
          threshold: 0.95,
          minRewards: 100,
          autoPromote: true,
        }),
      }),
      totals([even]),
      NOW,
    );
    expect(statistics.stopping.satisfied).toBe(false);
    expect(statistics.stopping.statistic).toBeLessThan(statistics.stopping.threshold);
    expect(decision).toBeNull();
  });

  it('decides nothing for an experiment that is not running', () => {
    for (const state of ['paused', 'stopped'] as const) {
      const { decision } = evaluateExperiment(
        experimentDefined({
          variants: AB,
          state,
          stopping: stoppingRule({
            rule: 'probability-best',
            threshold: 0.9,
            minRewards: 1,
            autoPromote: true,
          }),
        }),
        totals([clearWinner]),
        NOW,
      );
      expect(decision).toBeNull();
    }
  });
});

describe('evaluateExperiment: canary', () => {
  const canary: CanaryConfig = {
    challenger: 'model-b',
    share: 0.05,
    margin: 0.02,
    confidence: 0.95,
    minRewards: 200,
    rolledBackAt: null,
  };
  const worseChallenger = posteriorPublished({
    version: 2,
    variants: [variantCounts('model-a', 4_000, 1_000), variantCounts('model-b', 140, 110)],
  });

  it('rolls a clearly worse challenger back to 0 and says why', () => {
    const { statistics, decision, update } = evaluateExperiment(
      experimentDefined({ variants: AB, canary, revision: 2 }),
      totals([worseChallenger]),
      NOW,
    );
    expect(decision).toMatchObject({
      kind: 'canary-rollback',
      variant: 'model-b',
      applied: true,
      rule: 'canary',
      revision: 2,
    });
    expect(decision?.reason).toMatch(
      /P\(model-b mean < model-a mean − 0\.02\) = (0\.99\d\d|1\.0000) ≥ 0\.95/,
    );
    expect(update?.canary?.rolledBackAt).toBe(NOW);
    expect(update?.revision).toBe(3);
    expect(update?.stateReason).toMatch(/^canary rolled back/);
    // A Bayesian guard checked at every snapshot: the statistics say it has no error rate.
    expect(statistics.caveats).toContain(CANARY_CAVEAT);
  });

  it('keeps the canary while the challenger has too few rewards or is not worse by the margin', () => {
    const few = posteriorPublished({
      version: 2,
      variants: [variantCounts('model-a', 4_000, 1_000), variantCounts('model-b', 60, 40)],
    });
    const fine = posteriorPublished({
      version: 2,
      variants: [variantCounts('model-a', 4_000, 1_000), variantCounts('model-b', 395, 105)],
    });
    for (const partial of [few, fine]) {
      const { decision, update } = evaluateExperiment(
        experimentDefined({ variants: AB, canary }),
        totals([partial]),
        NOW,
      );
      expect(decision).toBeNull();
      expect(update).toBeNull();
    }
  });

  it('does not roll back twice', () => {
    const { decision } = evaluateExperiment(
      experimentDefined({ variants: AB, canary: { ...canary, rolledBackAt: 1 } }),
      totals([worseChallenger]),
      NOW,
    );
    expect(decision).toBeNull();
  });
});
