import { describe, expect, it } from 'vitest';
import { regularizedIncompleteBeta } from '../../../lib/bandit/beta-distribution.ts';
import { mergePartialCounts, summarisePosterior } from '../../../lib/bandit/posterior.ts';

describe('mergePartialCounts', () => {
  it('sums counts per variant across partitions exactly, in the order of the variant list', () => {
    const merged = mergePartialCounts(
      [
        {
          partition: 0,
          variants: [
            { variant: 'a', successes: 10, failures: 5, count: 20 },
            { variant: 'b', successes: 1.5, failures: 0.5, count: 2 },
          ],
        },
        {
          partition: 3,
          variants: [
            { variant: 'b', successes: 2.25, failures: 7.75, count: 10 },
            { variant: 'a', successes: 0, failures: 4, count: 4 },
            { variant: 'retired', successes: 100, failures: 100, count: 200 },
          ],
        },
        { partition: 1, variants: [{ variant: 'a', successes: 3, failures: 0, count: 3 }] },
      ],
      ['b', 'a', 'new'],
    );
    expect(merged).toEqual([
      { variant: 'b', successes: 3.75, failures: 8.25, count: 12 },
      { variant: 'a', successes: 13, failures: 9, count: 27 },
      { variant: 'new', successes: 0, failures: 0, count: 0 },
    ]);
  });

  it('returns zeros when there are no partials', () => {
    expect(mergePartialCounts([], ['a'])).toEqual([
      { variant: 'a', successes: 0, failures: 0, count: 0 },
    ]);
  });

  it('refuses input that would double-count or is not a count', () => {
    const arm = { variant: 'a', successes: 1, failures: 1, count: 2 };
    expect(() =>
      mergePartialCounts(
        [
          { partition: 0, variants: [arm] },
          { partition: 0, variants: [arm] },
        ],
        ['a'],
      ),
    ).toThrow(RangeError);
    expect(() => mergePartialCounts([{ partition: 0, variants: [arm, arm] }], ['a'])).toThrow(
      RangeError,
    );
    expect(() => mergePartialCounts([], ['a', 'a'])).toThrow(RangeError);
    expect(() =>
      mergePartialCounts([{ partition: 0, variants: [{ ...arm, failures: -1 }] }], ['a']),
    ).toThrow(RangeError);
  });
});

describe('summarisePosterior', () => {
  it('gives the uniform prior back when there is no data', () => {
    const summary = summarisePosterior(
      { variant: 'a', successes: 0, failures: 0, count: 0 },
      { alpha: 1, beta: 1 },
    );
    expect(summary.alpha).toBe(1);
    expect(summary.beta).toBe(1);
    expect(summary.mean).toBe(0.5);
    expect(summary.lower95).toBeCloseTo(0.025, 12);
    expect(summary.upper95).toBeCloseTo(0.975, 12);
  });

  it('matches the closed form of Beta(1, b) and brackets the mean', () => {
    // Beta(1, 10): Q(p) = 1 - (1 - p)^(1/10).
    const summary = summarisePosterior(
      { variant: 'a', successes: 0, failures: 9, count: 9 },
      { alpha: 1, beta: 1 },
    );
    expect(summary.alpha).toBe(1);
    expect(summary.beta).toBe(10);
    expect(summary.mean).toBeCloseTo(1 / 11, 15);
    expect(summary.lower95).toBeCloseTo(1 - 0.975 ** 0.1, 12);
    expect(summary.upper95).toBeCloseTo(1 - 0.025 ** 0.1, 12);
  });

  it('gives an equal-tailed 95% interval for a large posterior', () => {
    const summary = summarisePosterior(
      { variant: 'a', successes: 50_000, failures: 950_000, count: 1_000_000 },
      { alpha: 1, beta: 1 },
    );
    expect(summary.lower95).toBeLessThan(summary.mean);
    expect(summary.upper95).toBeGreaterThan(summary.mean);
    expect(regularizedIncompleteBeta(summary.lower95, 50_001, 950_001)).toBeCloseTo(0.025, 10);
    expect(regularizedIncompleteBeta(summary.upper95, 50_001, 950_001)).toBeCloseTo(0.975, 10);
    // About ±1.96 sd of the normal approximation.
    expect(summary.upper95 - summary.lower95).toBeCloseTo(
      2 * 1.959964 * Math.sqrt((0.05 * 0.95) / 1_000_002),
      6,
    );
  });

  it('rejects an invalid prior or counts', () => {
    const arm = { variant: 'a', successes: 1, failures: 1, count: 2 };
    expect(() => summarisePosterior(arm, { alpha: 0, beta: 1 })).toThrow(RangeError);
    expect(() =>
      summarisePosterior({ ...arm, successes: Number.NaN }, { alpha: 1, beta: 1 }),
    ).toThrow(RangeError);
  });
});
