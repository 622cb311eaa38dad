import { stoppingRule } from '../../../support/fixtures.ts';
import { describe, expect, it } from 'vitest';
import type {
  DecisionMade,
  ExperimentDefined,
  ExperimentStatistics,
} from '../../../../lib/contracts/events.ts';
import { defineExperiment } from '../../../../lib/contracts/experiment-defaults.ts';
import {
  describeChanges,
  formatDefinition,
  formatExperimentList,
  formatExperimentView,
  formatPValue,
  formatStatistics,
  formatTable,
  leaderOf,
  stableJson,
} from '../../../../services/cli/core/format-experiment.ts';

const definition: ExperimentDefined = defineExperiment({
  experiment: 'spam-filter',
  variants: [
    { name: 'champion', weight: 0.5 },
    { name: 'challenger', weight: 0.5 },
  ],
  updatedAt: Date.UTC(2026, 0, 2, 3, 4, 5),
  revision: 3,
  policy: 'thompson-sampling',
  priorAlpha: 2,
  priorBeta: 5,
  probabilityFloor: 0.05,
  halfLifeMs: 7_200_000,
  shadowVariants: ['distilled'],
  sticky: true,
  canary: {
    challenger: 'challenger',
    share: 0.1,
    margin: 0.02,
    confidence: 0.95,
    minRewards: 200,
    rolledBackAt: null,
  },
  stopping: stoppingRule({
    rule: 'probability-best',
    threshold: 0.95,
    minRewards: 100,
    autoPromote: true,
  }),
  stateReason: 'resumed from the CLI',
});

const statistics: ExperimentStatistics = {
  experiment: 'spam-filter',
  revision: 3,
  state: 'running',
  variants: [
    {
      variant: 'champion',
      shadow: false,
      rewards: 422,
      mean: 0.8421,
      lower95: 0.8063,
      upper95: 0.8749,
      probabilityBest: 0.0004,
      expectedLoss: 0.129,
      zScore: null,
      pValue: null,
      assigned: 422,
      expectedAssigned: 1500,
      anytimeLower95: null,
      anytimeUpper95: null,
      differenceLower95: null,
      differenceUpper95: null,
      anytimePValue: null,
    },
    {
      variant: 'challenger',
      shadow: false,
      rewards: 2578,
      mean: 0.9712,
      lower95: 0.9641,
      upper95: 0.9773,
      probabilityBest: 0.9996,
      expectedLoss: 0.00001,
      zScore: 10.123,
      pValue: 4.3e-24,
      assigned: 2578,
      expectedAssigned: 1500,
      anytimeLower95: null,
      anytimeUpper95: null,
      differenceLower95: 0.09,
      differenceUpper95: 0.17,
      anytimePValue: 2e-7,
    },
    {
      variant: 'distilled',
      shadow: true,
      rewards: 3000,
      mean: 0.9,
      lower95: 0.89,
      upper95: 0.91,
      probabilityBest: 0,
      expectedLoss: 0.07,
      zScore: 4.2,
      pValue: 0.0312,
      assigned: 0,
      expectedAssigned: 0,
      anytimeLower95: null,
      anytimeUpper95: null,
      differenceLower95: null,
      differenceUpper95: null,
      anytimePValue: null,
    },
  ],
  sampleRatio: { chiSquare: 1548.51, degreesOfFreedom: 1, pValue: 1e-300, mismatch: true },
  stopping: {
    rule: 'probability-best',
    leader: 'challenger',
    statistic: 0.9996,
    threshold: 0.95,
    satisfied: true,
    detail: 'P(challenger is best) = 0.9996 ≥ 0.95 with 422 rewards minimum',
  },
  caveats: [],
  computedAt: Date.UTC(2026, 0, 2, 4, 0, 0),
};

const decision: DecisionMade = {
  experiment: 'spam-filter',
  kind: 'winner',
  variant: 'challenger',
  revision: 3,
  applied: true,
  rule: 'probability-best',
  reason: 'P(best) 0.9996 ≥ 0.95',
  decidedAt: Date.UTC(2026, 0, 2, 4, 0, 1),
};

describe('formatDefinition', () => {
  it('shows the policy with its parameters, floor, half-life, modes and stopping rule', () => {
    const text = formatDefinition(definition);
    for (const expected of [
      'spam-filter (revision 3, updated 2026-01-02T03:04:05.000Z)',
      'running (resumed from the CLI)',
      'champion 0.5, challenger 0.5',
      'champion (the first variant)',
      'thompson-sampling, prior Beta(2, 5)',
      '0.05 per variant',
      'window 1d, grace 1m, implicit reward none (dropped)',
      'challenger at 10.0% of traffic; roll back when P(challenger < champion − 0.02) ≥ 0.95 after 200 rewards each',
      'goal earn; probability-best: P(best) reported only, never a winner (not error-controlled when checked repeatedly)',
    ]) {
      expect(text).toContain(expected);
    }
    expect(text).toMatch(/^half-life\s+2h$/m);
    expect(text).toMatch(/^shadow\s+distilled$/m);
    expect(text).toMatch(/^sticky\s+yes$/m);
  });

  it('shows the parameters of each policy', () => {
    const shown = (overrides: Partial<ExperimentDefined>): string =>
      formatDefinition({ ...definition, ...overrides });
    expect(shown({ policy: 'epsilon-greedy', epsilon: 0.15 })).toContain(
      'epsilon-greedy, epsilon 0.15',
    );
    expect(shown({ policy: 'ucb1', ucbExploration: 2 })).toContain('ucb1, exploration 2');
    expect(
      shown({
        policy: 'gaussian-thompson-sampling',
        priorMean: 3,
        priorVariance: 4,
        priorStrength: 5,
      }),
    ).toContain('prior Normal(mean 3, variance 4, strength 5)');
    expect(shown({ policy: 'static-weights' })).toContain('static-weights');
    expect(shown({ state: 'promoted', winner: 'challenger' })).toMatch(/winner\s+challenger/);
    expect(shown({ canary: null, halfLifeMs: null, sticky: false })).toMatch(
      /half-life\s+none[\s\S]*canary\s+off[\s\S]*sticky\s+no/,
    );
    expect(
      shown({
        stopping: stoppingRule({
          rule: 'glr',
          goal: 'decide',
          threshold: 0.99,
          minRewards: 5,
          autoPromote: false,
        }),
      }),
    ).toContain(
      'goal decide; glr: declare a winner at error rate δ = 0.01 after 5 rewards per variant, report only (no auto-promote)',
    );
  });
});

describe('formatStatistics', () => {
  const text = formatStatistics(statistics, 'champion');
  const lines = text.split('\n');
  const row = (variant: string): string => lines.find((l) => l.startsWith(`${variant} `)) ?? '';

  it('has one row per variant with the important numbers', () => {
    expect(lines[0]).toBe('statistics of revision 3 (running), computed 2026-01-02T04:00:00.000Z');
    expect(row('champion')).toMatch(
      /^champion \(champion\)\s+422\s+0\.842 \[0\.806, 0\.875\]\s+0\.0%\s+0\.1290\s+—\s+—\s+422\s+1500\.0$/,
    );
    expect(row('challenger')).toMatch(
      /^challenger\s+2578\s+0\.971 \[0\.964, 0\.977\]\s+100\.0%\s+1\.0e-5\s+\+0\.130 \[\+0\.090, \+0\.170\]\s+2\.0e-7\s+2578\s+1500\.0$/,
    );
    expect(row('distilled')).toMatch(
      /^distilled \(shadow\)\s+3000\s+0\.900 \[0\.890, 0\.910\]\s+—\s+0\.0700\s+—\s+—\s+0\s+0\.0$/,
    );
  });

  it('prints each caveat of the statistics as a note', () => {
    const noted = formatStatistics({ ...statistics, caveats: ['z and p are fixed-horizon'] });
    expect(noted).toContain('note      z and p are fixed-horizon');
  });

  it('aligns the columns', () => {
    const header = lines[1] ?? '';
    const pBest = header.indexOf('P(best)') + 'P(best)'.length;
    expect(row('champion').slice(0, pBest)).toMatch(/0\.0%$/);
    expect(row('challenger').slice(0, pBest)).toMatch(/100\.0%$/);
  });

  it('shows the SRM line, flagged, and the stopping rule detail', () => {
    expect(text).toContain('SRM       chi² = 1548.51, df = 1, p = 1.0e-300  MISMATCH');
    expect(text).toContain(
      'stopping  probability-best: P(challenger is best) = 0.9996 ≥ 0.95 with 422 rewards minimum (satisfied)',
    );
    const fine = formatStatistics({
      ...statistics,
      sampleRatio: { chiSquare: 0.5, degreesOfFreedom: 1, pValue: 0.4795, mismatch: false },
    });
    expect(fine).toContain('chi² = 0.50, df = 1, p = 0.4795  ok');
    expect(fine).not.toContain('MISMATCH');
    expect(formatStatistics({ ...statistics, sampleRatio: null })).toContain(
      'SRM       no decisions yet',
    );
  });
});

describe('formatExperimentView', () => {
  it('puts the definition, the statistics and the decision together', () => {
    const text = formatExperimentView({ definition, statistics, decision });
    expect(text).toContain('thompson-sampling, prior Beta(2, 5)');
    expect(text).toContain('0.971 [0.964, 0.977]');
    expect(text).toContain(
      'decision  winner challenger, applied (rule probability-best, revision 3, 2026-01-02T04:00:01.000Z): P(best) 0.9996 ≥ 0.95',
    );
    expect(text).not.toContain('computed for revision');
  });

  it('says when there is nothing yet, and when the statistics are of an older revision', () => {
    const empty = formatExperimentView({ definition, statistics: null, decision: null });
    expect(empty).toContain('statistics: none yet');
    expect(empty).toContain('decision  none');
    const stale = formatExperimentView({
      definition: { ...definition, revision: 4 },
      statistics,
      decision: { ...decision, applied: false },
    });
    expect(stale).toContain('(computed for revision 3; the definition is at revision 4)');
    expect(stale).toContain('winner challenger, not applied');
  });
});

describe('formatExperimentList', () => {
  it('prints one line per experiment with its leader', () => {
    const other = defineExperiment({
      experiment: 'ranker',
      variants: [{ name: 'v1', weight: 1 }],
      updatedAt: 0,
      state: 'promoted',
      winner: 'v1',
      policy: 'ucb1',
      revision: 12,
    });
    const text = formatExperimentList([
      { definition, statistics, decision },
      { definition: other, statistics: null, decision: null },
    ]);
    const [header, first, second] = text.split('\n');
    expect(header).toMatch(
      /^experiment\s+state\s+policy\s+revision\s+variants\s+leader P\(best\)$/,
    );
    expect(first).toMatch(
      /^spam-filter\s+running\s+thompson-sampling\s+3\s+champion 0\.5, challenger 0\.5 \+ shadow distilled\s+challenger 100\.0%$/,
    );
    expect(second).toMatch(/^ranker\s+promoted \(v1\)\s+ucb1\s+12\s+v1 1\s+—$/);
    expect(formatExperimentList([])).toBe('no experiments');
  });

  it('takes the leader among served variants only', () => {
    const shadowBest = {
      ...statistics,
      variants: statistics.variants.map((v) => (v.shadow ? { ...v, probabilityBest: 1 } : v)),
    };
    expect(leaderOf(shadowBest)?.variant).toBe('challenger');
    expect(leaderOf(null)).toBeNull();
  });
});

describe('helpers', () => {
  it('formats p-values', () => {
    expect(formatPValue(null)).toBe('—');
    expect(formatPValue(0.05)).toBe('0.0500');
    expect(formatPValue(0.00001234)).toBe('1.2e-5');
    expect(formatPValue(0)).toBe('0.0000');
  });

  it('pads tables', () => {
    expect(formatTable(['a', 'bb'], [['xxx', '1']], [false, true])).toBe('a    bb\nxxx   1');
  });

  it('compares values whatever their key order', () => {
    expect(stableJson({ b: 1, a: [{ d: 2, c: null }] })).toBe('{"a":[{"c":null,"d":2}],"b":1}');
  });

  it('describes changes field by field', () => {
    const after: ExperimentDefined = {
      ...definition,
      variants: [{ name: 'champion', weight: 1 }],
      attributionWindowMs: 1_800_000,
      halfLifeMs: null,
      shadowVariants: [],
      canary: null,
      stopping: { ...definition.stopping, autoPromote: false },
      revision: 99,
      updatedAt: 1,
    };
    expect(describeChanges(definition, after)).toEqual([
      'variants: champion 0.5, challenger 0.5 → champion 1',
      'attributionWindowMs: 1d → 30m',
      'halfLifeMs: 2h → none',
      'shadowVariants: distilled → none',
      'canary: challenger at 10.0% of traffic; roll back when P(challenger < champion − 0.02) ≥ 0.95 after 200 rewards each → none',
      'stopping.autoPromote: true → false',
    ]);
  });
});
