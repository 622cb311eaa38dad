// Off-policy estimators checked against known truth: a seeded simulation of an adaptive logging
// policy (a floored softmax of the running means, re-planned every 50 decisions, like a bandit
// between posterior snapshots) on Bernoulli variants, evaluating a fixed target policy whose true
// value is known exactly. The 95% intervals must cover it in 93–97% of runs (1,000 runs of 600
// decisions: about 0.7 s here, hence the explicit timeout; coverage was 95.6 / 94.9 / 95.0% for
// IPS / SNIPS / DR with this seed, and 93.7–95.9% with two other seeds tried).
import { describe, expect, it } from 'vitest';
import { createSeededRandom, type RandomSource } from '../../../lib/bandit/random.ts';
import { evaluateOffPolicy, type LoggedDecision } from '../../../lib/stats/off-policy.ts';

const VARIANTS = ['a', 'b', 'c'] as const;
const MEANS = [0.3, 0.5, 0.6];
// More of the variant the logging policy learns to avoid than it plays: uneven weights.
const TARGET = new Map([
  ['a', 0.4],
  ['b', 0.3],
  ['c', 0.3],
]);
const TRUTH = 0.4 * 0.3 + 0.3 * 0.5 + 0.3 * 0.6;

function simulate(random: RandomSource, n: number, floor: number): LoggedDecision[] {
  const sums = [0, 0, 0];
  const counts = [0, 0, 0];
  let allocation = VARIANTS.map((variant) => ({ variant, probability: 1 / 3 }));
  const decisions: LoggedDecision[] = [];
  for (let i = 0; i < n; i++) {
    if (i % 50 === 0 && i > 0) {
      const scores = sums.map((s, k) => Math.exp(10 * (s / Math.max(1, counts[k] ?? 1))));
      const total = scores.reduce((x, y) => x + y, 0);
      allocation = VARIANTS.map((variant, k) => ({
        variant,
        probability: floor + (1 - 3 * floor) * ((scores[k] ?? 0) / total),
      }));
    }
    let u = random();
    let k = 0;
    while (k < 2 && u >= (allocation[k]?.probability ?? 0)) {
      u -= allocation[k]?.probability ?? 0;
      k++;
    }
    const reward = random() < (MEANS[k] ?? 0) ? 1 : 0;
    sums[k] = (sums[k] ?? 0) + reward;
    counts[k] = (counts[k] ?? 0) + 1;
    decisions.push({
      variant: VARIANTS[k] ?? 'a',
      reward,
      propensity: allocation[k]?.probability ?? 1,
      allocation,
    });
  }
  return decisions;
}

describe('off-policy estimators', () => {
  it(
    'cover the true value of the target policy in 93–97% of seeded runs',
    { timeout: 10_000 },
    () => {
      const random = createSeededRandom(20261207);
      const runs = 1_000;
      const covered = { ips: 0, snips: 0, doublyRobust: 0 };
      let essShare = 0;
      for (let run = 0; run < runs; run++) {
        const report = evaluateOffPolicy(simulate(random, 600, 0.1), TARGET);
        for (const name of ['ips', 'snips', 'doublyRobust'] as const) {
          const e = report[name];
          if (e.lower <= TRUTH && TRUTH <= e.upper) covered[name]++;
        }
        essShare += report.effectiveSampleSize / report.decisions / runs;
        expect(report.warnings).toEqual([]);
      }
      for (const name of ['ips', 'snips', 'doublyRobust'] as const) {
        expect(covered[name] / runs, name).toBeGreaterThanOrEqual(0.93);
        expect(covered[name] / runs, name).toBeLessThanOrEqual(0.97);
      }
      expect(essShare).toBeGreaterThan(0.2);
    },
  );

  it('is exact on policy: the logging policy evaluated on its own data is the mean reward', () => {
    const decisions: LoggedDecision[] = [
      { variant: 'a', reward: 1, propensity: 0.5, allocation: [] },
      { variant: 'b', reward: 0, propensity: 0.5, allocation: [] },
      { variant: 'a', reward: 0, propensity: 0.5, allocation: [] },
      { variant: 'b', reward: 1, propensity: 0.5, allocation: [] },
    ];
    const report = evaluateOffPolicy(
      decisions,
      new Map([
        ['a', 0.5],
        ['b', 0.5],
      ]),
    );
    expect(report.ips.value).toBe(0.5);
    expect(report.snips.value).toBe(0.5);
    expect(report.loggedValue).toBe(0.5);
    expect(report.effectiveSampleSize).toBe(4);
  });

  it('warns where the logging policy gave no support to what the target would play', () => {
    const promoted = [{ variant: 'b', probability: 1 }];
    const decisions: LoggedDecision[] = [
      {
        variant: 'a',
        reward: 1,
        propensity: 0.5,
        allocation: [
          { variant: 'a', probability: 0.5 },
          { variant: 'b', probability: 0.5 },
        ],
      },
      { variant: 'b', reward: 1, propensity: 1, allocation: promoted },
      { variant: 'b', reward: 0, propensity: 1, allocation: promoted },
    ];
    const report = evaluateOffPolicy(decisions, new Map([['a', 1]]));
    expect(report.unsupported).toEqual([{ variant: 'a', decisions: 2 }]);
    expect(report.warnings[0]).toMatch(
      /^no support: the logging policy gave a no probability in 2 of 3 decisions/,
    );
    const unseen = evaluateOffPolicy(decisions, new Map([['c', 1]]));
    expect(unseen.warnings).toContain('no data: c was never chosen in the logged decisions');
  });
});
