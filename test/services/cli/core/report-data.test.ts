import { describe, expect, it } from 'vitest';
import type {
  DecisionMade,
  ExperimentStatistics,
  RewardResolved,
} from '../../../../lib/contracts/events.ts';
import { buildReportData, parseTrueRates } from '../../../../services/cli/core/report-data.ts';

function reward(i: number, variant: string, value: number, experiment = 'e'): RewardResolved {
  return {
    requestId: `r${i}`,
    experiment,
    variant,
    reward: value,
    propensity: 0.5,
    resolution: 'label',
    predictionTime: 1000 + i * 10,
    labelTime: 1000 + i * 10,
    labelSource: 'test',
    resolvedAt: 1000 + i * 10,
  };
}

function stats(at: number, pA: number): ExperimentStatistics {
  const variant = (name: string, p: number) => ({
    variant: name,
    shadow: false,
    rewards: 1,
    mean: 0.5,
    lower95: 0,
    upper95: 1,
    probabilityBest: p,
    expectedLoss: 0,
    zScore: null,
    pValue: null,
    assigned: 1,
    expectedAssigned: 1,
    anytimeLower95: null,
    anytimeUpper95: null,
    differenceLower95: null,
    differenceUpper95: null,
    anytimePValue: null,
  });
  return {
    experiment: 'e',
    revision: 1,
    state: 'running',
    variants: [variant('a', pA), variant('b', 1 - pA)],
    sampleRatio: null,
    stopping: {
      rule: 'glr',
      leader: 'a',
      statistic: 0,
      threshold: 1,
      satisfied: false,
      detail: '',
    },
    caveats: [],
    computedAt: at,
  };
}

const decision: DecisionMade = {
  experiment: 'e',
  kind: 'winner',
  variant: 'b',
  revision: 1,
  applied: true,
  rule: 'glr',
  reason: 'b is better',
  decidedAt: 1000 + 55 * 10,
};

describe('buildReportData', () => {
  // 100 rewards alternating a/b (a earns 0, b earns 1), shuffled so order comes from resolvedAt.
  const rewards = Array.from({ length: 100 }, (_, i) =>
    reward(i, i % 2 === 0 ? 'a' : 'b', i % 2 === 0 ? 0 : 1),
  ).reverse();
  const data = buildReportData({
    experiment: 'e',
    variants: ['a', 'b'],
    prior: { alpha: 1, beta: 1 },
    rewards: [
      ...rewards,
      reward(200, 'a', 1, 'other'),
      { ...reward(201, 'a', 1), resolution: 'late' },
    ],
    statistics: [stats(1000, 0.5), stats(1500, 0.1), { ...stats(1600, 0.3), experiment: 'other' }],
    decisions: [decision],
    trueRates: new Map([
      ['a', 0.2],
      ['b', 0.6],
    ]),
    batches: 10,
    checkpoints: 3,
    gridPoints: 11,
    generatedAt: 5,
  });

  it('cuts the rewards of the experiment into batches in order of resolution, late ones left out', () => {
    expect(data.totalRewards).toBe(100);
    expect(data.batchSize).toBe(10);
    expect(data.batchLabels).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it('accumulates reward, reward rate and traffic share per variant', () => {
    expect(data.cumulativeReward[0]).toEqual({ name: 'a', values: Array(10).fill(0) });
    expect(data.cumulativeReward[1]?.values).toEqual([5, 10, 15, 20, 25, 30, 35, 40, 45, 50]);
    expect(data.rewardRate[1]?.values).toEqual(Array(10).fill(1));
    expect(data.trafficShare.map((s) => s.values[0])).toEqual([0.5, 0.5]);
  });

  it('gives Beta posteriors at evenly spaced checkpoints, the prior first', () => {
    expect(data.checkpoints.map((c) => c.rewards)).toEqual([0, 50, 100]);
    expect(data.checkpoints[2]?.alphaBeta).toEqual([
      { variant: 'a', alpha: 1, beta: 51 },
      { variant: 'b', alpha: 51, beta: 1 },
    ]);
    // Beta(1, 1) is flat: density 1 everywhere.
    expect(data.checkpoints[0]?.densities[0]?.values).toEqual(Array(11).fill(1));
    expect(data.grid).toHaveLength(11);
  });

  it('takes P(best) over time from the experiment statistics', () => {
    expect(data.probabilityBestSeconds).toEqual([0, 0.5]);
    expect(data.probabilityBest[0]).toEqual({ name: 'a', values: [0.5, 0.1] });
  });

  it('names the decision and the batch it fired in', () => {
    expect(data.decision).toMatchObject({
      kind: 'winner',
      variant: 'b',
      batch: 6,
      atSeconds: 0.55,
    });
  });

  it('counts expected regret from the true rates', () => {
    // Each batch serves a 5 times: 5 × (0.6 − 0.2) = 2 regret per batch.
    expect(data.regret?.values).toEqual([2, 4, 6, 8, 10, 12, 14, 16, 18, 20]);
  });

  it('works without rewards, statistics or truth', () => {
    const empty = buildReportData({
      experiment: 'none',
      variants: ['a'],
      prior: { alpha: 1, beta: 1 },
      rewards: [],
      statistics: [],
      decisions: [],
      trueRates: null,
      generatedAt: 0,
    });
    expect(empty.batchLabels).toEqual([]);
    expect(empty.regret).toBeNull();
    expect(empty.decision).toBeNull();
    expect(empty.checkpoints).toHaveLength(1);
  });
});

describe('parseTrueRates', () => {
  it('reads VARIANT=RATE pairs', () => {
    expect(parseTrueRates('champion=0.7,challenger=0.8')).toEqual(
      new Map([
        ['champion', 0.7],
        ['challenger', 0.8],
      ]),
    );
  });
  it('lists every malformed pair', () => {
    expect(() => parseTrueRates('a=x,b')).toThrow(/"a=x".*"b"/);
  });
});
