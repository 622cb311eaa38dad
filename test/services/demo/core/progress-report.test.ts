import { describe, expect, it } from 'vitest';
import { summarisePosterior } from '../../../../lib/bandit/posterior.ts';
import { computeProbabilityBest } from '../../../../lib/bandit/probability-best.ts';
import type { DecisionMade, ExperimentStatistics } from '../../../../lib/contracts/events.ts';
import {
  BAYESIAN_NOTE,
  buildVariantRows,
  formatDecisionLines,
  formatVariantTable,
} from '../../../../services/demo/core/progress-report.ts';
import { posteriorPublished, variantCounts } from '../../../support/fixtures.ts';

const VARIANTS = ['model-a', 'model-b', 'model-c'];
const PRIOR = { alpha: 1, beta: 1 };

const predictions = (entries: Record<string, number>) =>
  new Map(Object.entries(entries).map(([k, v]) => [k, { predictions: v }]));

describe('buildVariantRows', () => {
  const partials = [
    posteriorPublished({
      partition: 0,
      version: 30,
      variants: [variantCounts('model-a', 8, 12), variantCounts('model-b', 6, 4)],
    }),
    posteriorPublished({
      partition: 1,
      version: 25,
      variants: [
        variantCounts('model-a', 2, 3),
        variantCounts('model-b', 9, 6),
        variantCounts('model-c', 1.5, 3.5),
      ],
    }),
  ];
  const rows = buildVariantRows(
    VARIANTS,
    predictions({ 'model-a': 50, 'model-b': 120, 'model-c': 30, retired: 1000 }),
    partials,
    PRIOR,
  );

  it('has one row per variant, in the given order', () => {
    expect(rows.map((r) => r.variant)).toEqual(VARIANTS);
  });

  it('computes the traffic share over the listed variants only', () => {
    expect(rows.map((r) => r.predictions)).toEqual([50, 120, 30]);
    expect(rows.map((r) => r.share)).toEqual([50 / 200, 120 / 200, 30 / 200]);
  });

  it('sums rewards over partitions and computes the reward rate', () => {
    expect(rows.map((r) => r.rewards)).toEqual([25, 25, 5]);
    expect(rows[0]?.rewardRate).toBeCloseTo(10 / 25, 12);
    expect(rows[1]?.rewardRate).toBeCloseTo(15 / 25, 12);
    expect(rows[2]?.rewardRate).toBeCloseTo(1.5 / 5, 12);
  });

  it('reports the posterior mean and 95% interval of Beta(prior + summed counts)', () => {
    const expected = [
      summarisePosterior({ variant: 'model-a', successes: 10, failures: 15, count: 25 }, PRIOR),
      summarisePosterior({ variant: 'model-b', successes: 15, failures: 10, count: 25 }, PRIOR),
      summarisePosterior({ variant: 'model-c', successes: 1.5, failures: 3.5, count: 5 }, PRIOR),
    ];
    rows.forEach((row, i) => {
      const e = expected[i];
      expect(row.mean).toBeCloseTo(e?.mean ?? NaN, 12);
      expect(row.lower95).toBeCloseTo(e?.lower95 ?? NaN, 12);
      expect(row.upper95).toBeCloseTo(e?.upper95 ?? NaN, 12);
      expect(row.lower95).toBeLessThan(row.mean);
      expect(row.mean).toBeLessThan(row.upper95);
    });
    expect(rows[0]?.mean).toBeCloseTo(11 / 27, 12);
    expect(rows[1]?.mean).toBeCloseTo(16 / 27, 12);
  });

  it('reports P(best) of the same posteriors, summing to 1', () => {
    const expected = computeProbabilityBest([
      { alpha: 11, beta: 16 },
      { alpha: 16, beta: 11 },
      { alpha: 2.5, beta: 4.5 },
    ]);
    rows.forEach((row, i) => expect(row.probabilityBest).toBeCloseTo(expected[i] ?? NaN, 12));
    expect(rows.reduce((sum, r) => sum + r.probabilityBest, 0)).toBeCloseTo(1, 9);
    expect(rows[1]?.probabilityBest).toBeGreaterThan(0.5);
  });

  it('handles no traffic and no rewards: share 0, no reward rate, prior summary, equal P(best)', () => {
    const empty = buildVariantRows(VARIANTS, new Map(), [], { alpha: 2, beta: 2 });
    for (const row of empty) {
      expect(row.predictions).toBe(0);
      expect(row.share).toBe(0);
      expect(row.rewards).toBe(0);
      expect(row.rewardRate).toBeNull();
      expect(row.mean).toBeCloseTo(0.5, 12);
      expect(row.probabilityBest).toBeCloseTo(1 / 3, 4);
    }
    expect(empty.reduce((sum, r) => sum + r.probabilityBest, 0)).toBeCloseTo(1, 9);
  });

  it('uses the prior it is given', () => {
    const [row] = buildVariantRows(
      ['model-a'],
      predictions({ 'model-a': 1 }),
      [posteriorPublished({ variants: [variantCounts('model-a', 3, 1)] })],
      { alpha: 5, beta: 1 },
    );
    expect(row?.mean).toBeCloseTo(8 / 10, 12);
    expect(row?.probabilityBest).toBe(1);
  });
});

describe('formatVariantTable', () => {
  it('prints a header and one line per row with share, reward rate, CI and P(best)', () => {
    const rows = buildVariantRows(
      ['model-a', 'model-b'],
      predictions({ 'model-a': 3, 'model-b': 1 }),
      [posteriorPublished({ variants: [variantCounts('model-a', 1, 1)] })],
      PRIOR,
    );
    const lines = formatVariantTable(rows).split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toContain('variant');
    expect(lines[0]).toContain('P(best)');
    expect(lines[1]).toMatch(/^model-a\s+3\s+75\.0%\s+2\s+50\.0%\s+0\.500 \[/);
    expect(lines[2]).toMatch(/^model-b\s+1\s+25\.0%\s+0\s+-\s+0\.500 \[/);
  });
});

describe('formatDecisionLines', () => {
  const statistics: ExperimentStatistics = {
    experiment: 'spam-filter',
    revision: 1,
    state: 'running',
    variants: [],
    sampleRatio: { chiSquare: 0.1, degreesOfFreedom: 1, pValue: 0.75, mismatch: false },
    stopping: {
      rule: 'expected-loss',
      leader: 'champion',
      statistic: 0.0004,
      threshold: 0.001,
      satisfied: true,
      detail: 'every variant within tolerance',
    },
    caveats: [],
    computedAt: 0,
  };
  const decision: DecisionMade = {
    experiment: 'spam-filter',
    kind: 'within-tolerance',
    variant: 'champion',
    revision: 1,
    applied: false,
    rule: 'expected-loss',
    reason: 'equivalent within tolerance',
    decidedAt: 0,
  };

  it('waits for the decider before its first statistics', () => {
    expect(formatDecisionLines(undefined, undefined)).toEqual([
      'stopping rule: waiting for the first statistics from the decider',
    ]);
  });

  it('shows the rule, the Bayesian note, the SRM check and a within-tolerance choice as no win', () => {
    expect(formatDecisionLines(statistics, decision)).toEqual([
      'stopping rule (expected-loss): every variant within tolerance',
      BAYESIAN_NOTE,
      'sample ratio vs live allocation: χ² 0.10 (df 1), p = 0.750',
      'decision: champion is good enough (within tolerance) (expected-loss) — equivalent within tolerance',
    ]);
  });
});
