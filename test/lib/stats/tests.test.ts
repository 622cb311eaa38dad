// Reference values: statsmodels 0.14 and scipy 1.x, expressions noted per value.
import { describe, expect, it } from 'vitest';
import { twoProportionZTest, welchZTest } from '../../../lib/stats/tests.ts';

function expectRelative(actual: number, expected: number, tolerance: number): void {
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(tolerance * Math.abs(expected));
}

function sums(rewards: readonly number[]): { n: number; sum: number; sumSquares: number } {
  let sum = 0;
  let sumSquares = 0;
  for (const r of rewards) {
    sum += r;
    sumSquares += r * r;
  }
  return { n: rewards.length, sum, sumSquares };
}

describe('twoProportionZTest', () => {
  it('matches statsmodels on a textbook conversion example (10.0% vs 11.0% of 10,000)', () => {
    // statsmodels.stats.proportion.proportions_ztest([1100, 1000], [10000, 10000])
    //   -> (2.3066347738170103, 0.021075189273797826)
    const result = twoProportionZTest(
      { successes: 1000, trials: 10_000 },
      { successes: 1100, trials: 10_000 },
    );
    expectRelative(result?.z ?? 0, 2.3066347738170103, 1e-13);
    expectRelative(result?.pValue ?? 0, 0.021075189273797826, 1e-12);
    expect(result?.difference).toBeCloseTo(0.01, 15);
  });

  it('matches statsmodels with unequal sizes, and is antisymmetric in (a, b)', () => {
    // proportions_ztest([30, 18], [110, 100]) -> (1.5982155453170042, 0.1099950152570929)
    const a = { successes: 18, trials: 100 };
    const b = { successes: 30, trials: 110 };
    const forward = twoProportionZTest(a, b);
    const backward = twoProportionZTest(b, a);
    expectRelative(forward?.z ?? 0, 1.5982155453170042, 1e-13);
    expectRelative(forward?.pValue ?? 0, 0.1099950152570929, 1e-12);
    expect(backward?.z).toBe(-(forward?.z ?? 0));
    expect(backward?.pValue).toBe(forward?.pValue);
    expect(backward?.difference).toBe(-(forward?.difference ?? 0));
  });

  it('accepts fractional successes (sums of [0, 1] rewards)', () => {
    // p̂ = 26.5/90, var = p̂(1 - p̂)(1/40 + 1/50), z = (14/50 - 12.5/40)/sqrt(var)
    const pooled = 26.5 / 90;
    const z = (14 / 50 - 12.5 / 40) / Math.sqrt(pooled * (1 - pooled) * (1 / 40 + 1 / 50));
    const result = twoProportionZTest(
      { successes: 12.5, trials: 40 },
      { successes: 14, trials: 50 },
    );
    expectRelative(result?.z ?? 0, z, 1e-14);
  });

  it('is null without trials or without pooled variance', () => {
    expect(
      twoProportionZTest({ successes: 0, trials: 0 }, { successes: 3, trials: 10 }),
    ).toBeNull();
    expect(
      twoProportionZTest({ successes: 0, trials: 10 }, { successes: 0, trials: 20 }),
    ).toBeNull();
    expect(
      twoProportionZTest({ successes: 10, trials: 10 }, { successes: 20, trials: 20 }),
    ).toBeNull();
  });

  it('gives z = 0 and p = 1 for equal rates', () => {
    expect(twoProportionZTest({ successes: 5, trials: 10 }, { successes: 10, trials: 20 })).toEqual(
      {
        z: 0,
        pValue: 1,
        difference: 0,
      },
    );
  });

  it('rejects impossible counts', () => {
    expect(() =>
      twoProportionZTest({ successes: 11, trials: 10 }, { successes: 1, trials: 10 }),
    ).toThrow(RangeError);
    expect(() =>
      twoProportionZTest({ successes: -1, trials: 10 }, { successes: 1, trials: 10 }),
    ).toThrow(RangeError);
    expect(() =>
      twoProportionZTest({ successes: 1, trials: Number.NaN }, { successes: 1, trials: 10 }),
    ).toThrow(RangeError);
  });
});

describe('welchZTest', () => {
  const a = [0.12, 0.5, 0.33, 0.9, 0.41, 0.27, 0.64, 0.08, 0.71, 0.45, 0.38, 0.56];
  const b = [0.62, 0.81, 0.47, 0.93, 0.58, 0.71, 0.66, 0.79, 0.52];

  it("equals Welch's statistic from scipy, referred to the normal distribution", () => {
    // t = scipy.stats.ttest_ind(b, a, equal_var=False).statistic = 2.731979592596282
    // p = 2 * scipy.stats.norm.sf(t) = 0.006295504031851492; mean(b) - mean(a) = 0.23083333333333333
    const result = welchZTest(sums(a), sums(b));
    expectRelative(result?.z ?? 0, 2.731979592596282, 1e-12);
    expectRelative(result?.pValue ?? 0, 0.006295504031851492, 1e-11);
    expectRelative(result?.difference ?? 0, 0.23083333333333333, 1e-14);
    const reversed = welchZTest(sums(b), sums(a));
    expect(reversed?.z).toBeCloseTo(-(result?.z ?? 0), 14);
  });

  it('is null below two rewards per arm or with no variance at all', () => {
    expect(welchZTest(sums([0.4]), sums(b))).toBeNull();
    expect(welchZTest(sums(a), { n: 0, sum: 0, sumSquares: 0 })).toBeNull();
    expect(welchZTest(sums([0.5, 0.5, 0.5]), sums([0.7, 0.7]))).toBeNull();
  });

  it('works when only one arm has variance', () => {
    // se² = s_a²/n_a only: s_a² = var([1, 2, 3], ddof=1) = 1, so z = (5 - 2)/sqrt(1/3).
    const result = welchZTest(sums([1, 2, 3]), sums([5, 5, 5, 5]));
    expectRelative(result?.z ?? 0, 3 / Math.sqrt(1 / 3), 1e-14);
  });

  it('rejects invalid sums', () => {
    expect(() => welchZTest({ n: -1, sum: 0, sumSquares: 0 }, sums(b))).toThrow(RangeError);
    expect(() => welchZTest({ n: 3, sum: Number.NaN, sumSquares: 1 }, sums(b))).toThrow(RangeError);
    expect(() => welchZTest({ n: 3, sum: 1, sumSquares: -1 }, sums(b))).toThrow(RangeError);
  });
});
