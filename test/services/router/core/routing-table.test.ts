import { describe, expect, it } from 'vitest';
import { computeProbabilityBest } from '../../../../lib/bandit/probability-best.ts';
import {
  buildExperimentRoute,
  RoutingTable,
} from '../../../../services/router/core/routing-table.ts';
import {
  experimentDefined,
  posteriorPublished,
  stoppingRule,
  variantCounts,
} from '../../../support/fixtures.ts';

const THREE_VARIANTS = [
  { name: 'model-a', weight: 1 },
  { name: 'model-b', weight: 2 },
  { name: 'model-c', weight: 5 },
];

describe('buildExperimentRoute', () => {
  it('routes a static-weights experiment by its normalised weights and ignores posteriors', () => {
    const experiment = experimentDefined({ policy: 'static-weights', variants: THREE_VARIANTS });
    const route = buildExperimentRoute(experiment, [
      posteriorPublished({
        partition: 0,
        version: 40,
        variants: [variantCounts('model-a', 30, 10), variantCounts('model-b', 0, 0)],
      }),
    ]);
    expect(route.policy).toBe('static-weights');
    expect(route.reason).toBe('static-weights');
    expect(route.snapshotVersion).toBe(-1);
    expect(route.experiment).toBe(experiment);
    expect(route.plan.variants).toEqual(['model-a', 'model-b', 'model-c']);
    expect(route.plan.probabilities).toEqual([1 / 8, 2 / 8, 5 / 8]);
  });

  it('routes a stopped experiment entirely to its champion (first variant by default)', () => {
    const posterior = posteriorPublished({
      version: 100,
      variants: [
        variantCounts('model-a', 90, 10),
        variantCounts('model-b', 10, 90),
        variantCounts('model-c', 10, 90),
      ],
    });
    const byDefault = buildExperimentRoute(
      experimentDefined({ state: 'stopped', variants: THREE_VARIANTS }),
      [posterior],
    );
    expect(byDefault.policy).toBe('static-weights');
    expect(byDefault.reason).toBe('experiment stopped: all traffic to the champion model-a');
    expect(byDefault.snapshotVersion).toBe(-1);
    expect(byDefault.plan.probabilities).toEqual([1, 0, 0]);
    const named = buildExperimentRoute(
      experimentDefined({ state: 'stopped', variants: THREE_VARIANTS, champion: 'model-c' }),
      [posterior],
    );
    expect(named.plan.probabilities).toEqual([0, 0, 1]);
  });

  it('routes a promoted experiment entirely to its winner', () => {
    const route = buildExperimentRoute(
      experimentDefined({ state: 'promoted', winner: 'model-b', variants: THREE_VARIANTS }),
      [],
    );
    expect(route.reason).toBe('experiment promoted: all traffic to model-b');
    expect(route.plan.probabilities).toEqual([0, 1, 0]);
  });

  it('routes a paused experiment by its configured weights, ignoring the posterior', () => {
    const route = buildExperimentRoute(
      experimentDefined({ state: 'paused', variants: THREE_VARIANTS, probabilityFloor: 0.2 }),
      [posteriorPublished({ version: 9, variants: [variantCounts('model-a', 9, 0)] })],
    );
    expect(route.policy).toBe('static-weights');
    expect(route.reason).toBe('experiment paused: configured weights');
    expect(route.plan.probabilities).toEqual([1 / 8, 2 / 8, 5 / 8]);
  });

  it('gives a canary challenger its share, the champion the rest, and nothing once rolled back', () => {
    const canary = {
      challenger: 'model-b',
      share: 0.05,
      margin: 0.02,
      confidence: 0.95,
      minRewards: 100,
      rolledBackAt: null,
    };
    const running = buildExperimentRoute(
      experimentDefined({ variants: THREE_VARIANTS, canary, probabilityFloor: 0.1 }),
      [],
    );
    expect(running.reason).toBe('canary: model-b at 5.0%');
    expect(running.plan.probabilities[0]).toBeCloseTo(0.95, 12);
    expect(running.plan.probabilities[1]).toBeCloseTo(0.05, 12);
    expect(running.plan.probabilities[2]).toBe(0);
    const rolledBack = buildExperimentRoute(
      experimentDefined({ variants: THREE_VARIANTS, canary: { ...canary, rolledBackAt: 5 } }),
      [],
    );
    expect(rolledBack.reason).toBe('canary rolled back: model-b gets no traffic');
    expect(rolledBack.plan.probabilities).toEqual([1, 0, 0]);
  });

  it('applies the probability floor p = f + (1 − K·f)·w to an adaptive plan', () => {
    const posterior = posteriorPublished({
      version: 3_000,
      variants: [
        variantCounts('model-a', 900, 100),
        variantCounts('model-b', 100, 900),
        variantCounts('model-c', 100, 900),
      ],
    });
    const plain = buildExperimentRoute(experimentDefined({ variants: THREE_VARIANTS }), [
      posterior,
    ]);
    const floored = buildExperimentRoute(
      experimentDefined({ variants: THREE_VARIANTS, probabilityFloor: 0.1 }),
      [posterior],
    );
    plain.plan.probabilities.forEach((w, i) => {
      expect(floored.plan.probabilities[i]).toBeCloseTo(0.1 + (1 - 3 * 0.1) * w, 12);
    });
    expect(Math.min(...floored.plan.probabilities)).toBeGreaterThanOrEqual(0.1 - 1e-12);
  });

  it.each([
    ['epsilon-greedy', { epsilon: 0.3 }, [0.1 + 0.7, 0.1, 0.1]],
    ['ucb1', { ucbExploration: 0 }, [1, 0, 0]],
  ] as const)('routes %s from the summed reward means', (policy, params, expected) => {
    const route = buildExperimentRoute(
      experimentDefined({ variants: THREE_VARIANTS, policy, ...params }),
      [
        posteriorPublished({
          partition: 0,
          version: 10,
          variants: [variantCounts('model-a', 30, 10), variantCounts('model-b', 20, 20)],
        }),
        posteriorPublished({
          partition: 1,
          version: 10,
          variants: [variantCounts('model-a', 30, 10), variantCounts('model-c', 5, 35)],
        }),
      ],
    );
    expect(route.policy).toBe(policy);
    expect(route.reason).toBe('posterior');
    route.plan.probabilities.forEach((p, i) => expect(p).toBeCloseTo(expected[i] ?? NaN, 12));
  });

  it('routes gaussian-thompson-sampling on real-valued reward sums', () => {
    const revenue = (variant: string, n: number, mean: number) => ({
      ...variantCounts(variant, 0, 0, n),
      rewardSum: n * mean,
      rewardSumSquares: n * (mean * mean + 4),
    });
    const route = buildExperimentRoute(
      experimentDefined({
        variants: THREE_VARIANTS,
        policy: 'gaussian-thompson-sampling',
        rewardKind: 'real',
        priorVariance: 4,
      }),
      [
        posteriorPublished({
          version: 3,
          variants: [
            revenue('model-a', 400, 10),
            revenue('model-b', 400, 12),
            revenue('model-c', 400, 9),
          ],
        }),
      ],
    );
    expect(route.policy).toBe('gaussian-thompson-sampling');
    // Means 10, 12 and 9 with standard errors of 0.1: model-b is best with near certainty.
    expect(route.plan.probabilities[1]).toBeGreaterThan(0.999);
  });

  it('routes on successes and failures from partials written before reward sums existed', () => {
    // A v2 partial decoded with today's schema: Σr and Σr² default to 0.
    const legacy = posteriorPublished({
      version: 200,
      variants: [
        { ...variantCounts('model-a', 90, 10), rewardSum: 0, rewardSumSquares: 0 },
        { ...variantCounts('model-b', 10, 90), rewardSum: 0, rewardSumSquares: 0 },
      ],
    });
    for (const policy of ['thompson-sampling', 'epsilon-greedy'] as const) {
      const route = buildExperimentRoute(experimentDefined({ policy, epsilon: 0.1 }), [legacy]);
      expect(route.plan.probabilities[0]).toBeGreaterThan(0.9);
    }
  });

  it('feeds the discounted sums to the policy when a half-life is set', () => {
    // The undiscounted counts favour model-a; the recent (discounted) ones favour model-b.
    const drifting = posteriorPublished({
      version: 2_000,
      decayedAt: 1_000,
      variants: [
        {
          ...variantCounts('model-a', 900, 100),
          decayed: { weight: 50, rewardSum: 10, rewardSumSquares: 10 },
        },
        {
          ...variantCounts('model-b', 500, 500),
          decayed: { weight: 50, rewardSum: 40, rewardSumSquares: 40 },
        },
      ],
    });
    const undiscounted = buildExperimentRoute(experimentDefined(), [drifting]);
    const discounted = buildExperimentRoute(experimentDefined({ halfLifeMs: 60_000 }), [drifting]);
    expect(undiscounted.plan.probabilities[0]).toBeGreaterThan(0.999);
    expect(discounted.reason).toBe('posterior (discounted)');
    expect(discounted.plan.probabilities[1]).toBeGreaterThan(0.999);
  });

  it('uses the weights during warm-up and names every starving variant with its count', () => {
    const experiment = experimentDefined({ variants: THREE_VARIANTS, warmUpRewards: 10 });
    const route = buildExperimentRoute(experiment, [
      posteriorPublished({
        partition: 0,
        version: 12,
        variants: [variantCounts('model-a', 4, 4), variantCounts('model-b', 1, 3)],
      }),
      posteriorPublished({
        partition: 1,
        version: 5,
        variants: [variantCounts('model-a', 2, 1), variantCounts('model-c', 0, 2)],
      }),
    ]);
    // Summed counts: a = 11 (not starving), b = 4, c = 2.
    expect(route.policy).toBe('static-weights');
    expect(route.plan.probabilities).toEqual([1 / 8, 2 / 8, 5 / 8]);
    expect(route.reason).toBe('warm-up: model-b 4/10, model-c 2/10');
    expect(route.reason).not.toContain('model-a');
    expect(route.snapshotVersion).toBe(17);
  });

  it('is in warm-up with no posterior at all, with snapshotVersion -1', () => {
    const route = buildExperimentRoute(experimentDefined({ warmUpRewards: 1 }), []);
    expect(route.policy).toBe('static-weights');
    expect(route.reason).toBe('warm-up: model-a 0/1, model-b 0/1');
    expect(route.snapshotVersion).toBe(-1);
    expect(route.plan.probabilities).toEqual([0.25, 0.75]);
  });

  it('leaves warm-up exactly when every variant reaches warmUpRewards', () => {
    const partial = (bCount: number) =>
      posteriorPublished({
        version: 5 + bCount,
        variants: [variantCounts('model-a', 2, 3), variantCounts('model-b', bCount, 0)],
      });
    const experiment = experimentDefined({ warmUpRewards: 5 });
    expect(buildExperimentRoute(experiment, [partial(4)]).policy).toBe('static-weights');
    const ready = buildExperimentRoute(experiment, [partial(5)]);
    expect(ready.policy).toBe('thompson-sampling');
    expect(ready.reason).toBe('posterior');
  });

  it('after warm-up, plans P(best) of Beta(prior + summed successes, prior + summed failures)', () => {
    const experiment = experimentDefined({
      variants: THREE_VARIANTS,
      priorAlpha: 2,
      priorBeta: 3,
      warmUpRewards: 5,
    });
    const partials = [
      posteriorPublished({
        partition: 0,
        version: 30,
        variants: [
          variantCounts('model-a', 6, 4),
          variantCounts('model-b', 3, 7),
          variantCounts('model-c', 2.5, 7.5),
        ],
      }),
      posteriorPublished({
        partition: 1,
        version: 21,
        variants: [variantCounts('model-a', 1, 5), variantCounts('model-b', 9, 6)],
      }),
      posteriorPublished({
        partition: 3,
        version: 4,
        variants: [variantCounts('model-c', 3, 1), variantCounts('model-a', 0, 4)],
      }),
    ];
    const route = buildExperimentRoute(experiment, partials);
    expect(route.policy).toBe('thompson-sampling');
    expect(route.reason).toBe('posterior');
    expect(route.snapshotVersion).toBe(55);
    const expected = computeProbabilityBest([
      { alpha: 2 + 7, beta: 3 + 13 },
      { alpha: 2 + 12, beta: 3 + 13 },
      { alpha: 2 + 5.5, beta: 3 + 8.5 },
    ]);
    expect(route.plan.variants).toEqual(['model-a', 'model-b', 'model-c']);
    route.plan.probabilities.forEach((p, i) => expect(p).toBeCloseTo(expected[i] ?? NaN, 12));
    // Sanity: model-b has the best summed record.
    expect(route.plan.probabilities[1]).toBeGreaterThan(route.plan.probabilities[0] ?? 1);
    expect(route.plan.probabilities[1]).toBeGreaterThan(route.plan.probabilities[2] ?? 1);
    expect(route.plan.probabilities.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
  });

  it('ignores counts of variants that are not part of the experiment', () => {
    const withStranger = buildExperimentRoute(experimentDefined(), [
      posteriorPublished({
        version: 3,
        variants: [
          variantCounts('model-a', 1, 0),
          variantCounts('model-b', 0, 1),
          variantCounts('retired', 50, 0),
        ],
      }),
    ]);
    const expected = computeProbabilityBest([
      { alpha: 2, beta: 1 },
      { alpha: 1, beta: 2 },
    ]);
    expect(withStranger.plan.variants).toEqual(['model-a', 'model-b']);
    withStranger.plan.probabilities.forEach((p, i) =>
      expect(p).toBeCloseTo(expected[i] ?? NaN, 12),
    );
  });
});

describe('buildExperimentRoute: goals and the minimum sample', () => {
  const AB = [
    { name: 'model-a', weight: 1 },
    { name: 'model-b', weight: 1 },
  ];
  const lopsided = posteriorPublished({
    version: 300,
    variants: [variantCounts('model-a', 40, 60), variantCounts('model-b', 120, 80)],
  });

  it('routes goal decide by top-two Thompson sampling: two arms split evenly', () => {
    const decide = experimentDefined({
      variants: [
        { name: 'model-a', weight: 0.9 },
        { name: 'model-b', weight: 0.1 },
      ],
      stopping: stoppingRule({ goal: 'decide', rule: 'glr', minRewards: 1_000 }),
    });
    const route = buildExperimentRoute(decide, [lopsided]);
    // Exactly 1/2 each, from the first request: no warm-up weights, no forced exploration (the
    // balanced-pair test needs the even split; neither variant can starve under it).
    expect(route.reason).toBe('decide: even split (top-two with two variants)');
    expect(route.plan.probabilities).toEqual([0.5, 0.5]);
    expect(buildExperimentRoute(decide, []).plan.probabilities).toEqual([0.5, 0.5]);
    // Three variants: top-two Thompson sampling from the posterior.
    const three = buildExperimentRoute(
      experimentDefined({
        variants: [...AB, { name: 'model-c', weight: 1 }],
        warmUpRewards: 0,
        stopping: stoppingRule({ goal: 'decide', rule: 'glr', minRewards: 0 }),
      }),
      [
        posteriorPublished({
          version: 300,
          variants: [
            variantCounts('model-a', 40, 60),
            variantCounts('model-b', 120, 80),
            variantCounts('model-c', 50, 50),
          ],
        }),
      ],
    );
    expect(three.reason).toBe('posterior, top-two');
    // The same posterior under goal earn: Thompson sampling all but abandons model-a.
    const earn = buildExperimentRoute(
      experimentDefined({ variants: AB, stopping: stoppingRule({ rule: 'expected-loss' }) }),
      [lopsided],
    );
    expect(earn.reason).toBe('posterior');
    expect(earn.plan.probabilities[0]).toBeLessThan(0.01);
  });

  it('forces exploration of a variant below the rule minimum until it has enough rewards', () => {
    const experiment = experimentDefined({
      variants: AB,
      stopping: stoppingRule({ rule: 'expected-loss', minRewards: 150 }),
    });
    const route = buildExperimentRoute(experiment, [lopsided]);
    expect(route.reason).toBe('posterior; forced exploration: model-a 100/150');
    // Half the traffic goes to model-a on top of its (tiny) Thompson share.
    expect(route.plan.probabilities[0]).toBeGreaterThanOrEqual(0.5);
    expect(route.snapshotVersion).toBe(300);

    const enough = posteriorPublished({
      version: 400,
      variants: [variantCounts('model-a', 60, 90), variantCounts('model-b', 150, 100)],
    });
    const after = buildExperimentRoute(experiment, [enough]);
    expect(after.reason).toBe('posterior');
    expect(after.plan.probabilities[0]).toBeLessThan(0.01);
  });

  it('forces exploration of a zero-weight variant during warm-up and under static weights', () => {
    const zeroB = [
      { name: 'model-a', weight: 1 },
      { name: 'model-b', weight: 0 },
    ];
    for (const policy of ['thompson-sampling', 'static-weights'] as const) {
      const route = buildExperimentRoute(
        experimentDefined({
          variants: zeroB,
          policy,
          warmUpRewards: 20,
          stopping: stoppingRule({ rule: 'glr', minRewards: 10 }),
        }),
        [],
      );
      expect(route.reason).toMatch(/forced exploration: model-a 0\/10, model-b 0\/10$/);
      expect(route.plan.probabilities).toEqual([0.75, 0.25]);
    }
  });

  it('forces nothing for a rule that never fires (none, probability-best)', () => {
    for (const rule of ['none', 'probability-best'] as const) {
      const route = buildExperimentRoute(
        experimentDefined({ variants: AB, stopping: stoppingRule({ rule, minRewards: 1_000 }) }),
        [lopsided],
      );
      expect(route.reason).toBe('posterior');
    }
  });
});

describe('RoutingTable', () => {
  it('has no route for an experiment it has not seen', () => {
    const table = new RoutingTable();
    expect(table.route('spam-filter')).toBeUndefined();
    expect(table.experimentNames()).toEqual([]);
  });

  it('builds a route when an experiment is applied', () => {
    const table = new RoutingTable();
    table.applyExperiment('spam-filter', experimentDefined({ policy: 'static-weights' }));
    expect(table.experimentNames()).toEqual(['spam-filter']);
    expect(table.route('spam-filter')?.plan.probabilities).toEqual([0.25, 0.75]);
  });

  it('keeps posteriors that arrive before the experiment and uses them once it is defined', () => {
    const table = new RoutingTable();
    table.applyPosterior(
      posteriorPublished({
        version: 9,
        variants: [variantCounts('model-a', 8, 1), variantCounts('model-b', 1, 8)],
      }),
    );
    expect(table.route('spam-filter')).toBeUndefined();
    table.applyExperiment('spam-filter', experimentDefined({ warmUpRewards: 5 }));
    const route = table.route('spam-filter');
    expect(route?.policy).toBe('thompson-sampling');
    expect(route?.snapshotVersion).toBe(9);
  });

  it('sums partials of several partitions; snapshotVersion is the sum of their versions', () => {
    const table = new RoutingTable();
    table.applyExperiment('spam-filter', experimentDefined({ warmUpRewards: 2 }));
    table.applyPosterior(
      posteriorPublished({
        partition: 0,
        version: 3,
        variants: [variantCounts('model-a', 2, 1), variantCounts('model-b', 0, 0)],
      }),
    );
    table.applyPosterior(
      posteriorPublished({
        partition: 2,
        version: 6,
        variants: [variantCounts('model-a', 0, 2), variantCounts('model-b', 1, 3)],
      }),
    );
    const route = table.route('spam-filter');
    expect(route?.policy).toBe('thompson-sampling');
    expect(route?.snapshotVersion).toBe(9);
    const expected = computeProbabilityBest([
      { alpha: 1 + 2, beta: 1 + 3 },
      { alpha: 1 + 1, beta: 1 + 3 },
    ]);
    route?.plan.probabilities.forEach((p, i) => expect(p).toBeCloseTo(expected[i] ?? NaN, 12));
  });

  it('replaces a partition partial with a newer version and ignores an older one', () => {
    const table = new RoutingTable();
    table.applyExperiment('spam-filter', experimentDefined({ warmUpRewards: 1 }));
    const newer = posteriorPublished({
      partition: 1,
      version: 10,
      variants: [variantCounts('model-a', 9, 1), variantCounts('model-b', 1, 9)],
    });
    const older = posteriorPublished({
      partition: 1,
      version: 4,
      variants: [variantCounts('model-a', 0, 4), variantCounts('model-b', 0, 0)],
    });
    table.applyPosterior(
      posteriorPublished({ partition: 0, version: 2, variants: [variantCounts('model-b', 2, 0)] }),
    );
    table.applyPosterior(newer);
    const before = table.route('spam-filter');
    table.applyPosterior(older);
    const after = table.route('spam-filter');
    expect(after?.snapshotVersion).toBe(12);
    expect(after?.policy).toBe('thompson-sampling');
    expect(after?.plan.probabilities).toEqual(before?.plan.probabilities);
    const expected = computeProbabilityBest([
      { alpha: 1 + 9, beta: 1 + 1 },
      { alpha: 1 + 3, beta: 1 + 9 },
    ]);
    after?.plan.probabilities.forEach((p, i) => expect(p).toBeCloseTo(expected[i] ?? NaN, 12));

    // A newer version of the same partition replaces (not adds to) the previous one.
    table.applyPosterior(
      posteriorPublished({
        partition: 1,
        version: 11,
        variants: [variantCounts('model-a', 9, 2), variantCounts('model-b', 1, 9)],
      }),
    );
    expect(table.route('spam-filter')?.snapshotVersion).toBe(13);
    const replaced = computeProbabilityBest([
      { alpha: 1 + 9, beta: 1 + 2 },
      { alpha: 1 + 3, beta: 1 + 9 },
    ]);
    table
      .route('spam-filter')
      ?.plan.probabilities.forEach((p, i) => expect(p).toBeCloseTo(replaced[i] ?? NaN, 12));
  });

  it('keeps partials of different experiments apart', () => {
    const table = new RoutingTable();
    table.applyExperiment('one', experimentDefined({ experiment: 'one', warmUpRewards: 1 }));
    table.applyExperiment('two', experimentDefined({ experiment: 'two', warmUpRewards: 1 }));
    table.applyPosterior(
      posteriorPublished({
        experiment: 'one',
        version: 5,
        variants: [variantCounts('model-a', 3, 0), variantCounts('model-b', 0, 2)],
      }),
    );
    expect(table.route('one')?.policy).toBe('thompson-sampling');
    expect(table.route('one')?.snapshotVersion).toBe(5);
    expect(table.route('two')?.policy).toBe('static-weights');
    expect(table.route('two')?.snapshotVersion).toBe(-1);
  });

  it('removes the route when the experiment is deleted (null definition)', () => {
    const table = new RoutingTable();
    table.applyExperiment('spam-filter', experimentDefined());
    table.applyExperiment('other', experimentDefined({ experiment: 'other' }));
    table.applyExperiment('spam-filter', null);
    expect(table.route('spam-filter')).toBeUndefined();
    expect(table.experimentNames()).toEqual(['other']);
    expect(table.route('other')).toBeDefined();
    // A posterior for the deleted experiment does not resurrect its route.
    table.applyPosterior(
      posteriorPublished({ version: 1, variants: [variantCounts('model-a', 1, 0)] }),
    );
    expect(table.route('spam-filter')).toBeUndefined();
  });

  it('switches to the champion when a running experiment is stopped', () => {
    const table = new RoutingTable();
    table.applyExperiment('spam-filter', experimentDefined({ warmUpRewards: 1 }));
    table.applyPosterior(
      posteriorPublished({
        version: 4,
        variants: [variantCounts('model-a', 2, 0), variantCounts('model-b', 0, 2)],
      }),
    );
    expect(table.route('spam-filter')?.policy).toBe('thompson-sampling');
    table.applyExperiment('spam-filter', experimentDefined({ warmUpRewards: 1, state: 'stopped' }));
    const route = table.route('spam-filter');
    expect(route?.policy).toBe('static-weights');
    expect(route?.reason).toBe('experiment stopped: all traffic to the champion model-a');
    expect(route?.plan.probabilities).toEqual([1, 0]);
  });

  it('refuses an invalid definition and keeps routing with the previous one', () => {
    const table = new RoutingTable();
    expect(table.applyExperiment('spam-filter', experimentDefined())).toEqual([]);
    const before = table.route('spam-filter');
    const problems = table.applyExperiment(
      'spam-filter',
      experimentDefined({ probabilityFloor: 0.6, epsilon: 2 }),
    );
    expect(problems).toHaveLength(2);
    expect(problems.join('\n')).toMatch(/probabilityFloor/);
    expect(problems.join('\n')).toMatch(/epsilon/);
    expect(table.route('spam-filter')).toBe(before);
  });
});
