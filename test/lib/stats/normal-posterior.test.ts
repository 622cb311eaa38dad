import { describe, expect, it } from 'vitest';
import { normalPosterior } from '../../../lib/stats/normal-posterior.ts';

// Φ⁻¹(0.975) (mpmath: mp.sqrt(2) * mp.erfinv(mp.mpf('0.95')))
const Z_975 = 1.959963984540054;

describe('normalPosterior', () => {
  it('matches the hand computation for rewards 1, 2, 3, 4 and a unit prior', () => {
    // m = (1·0 + 10)/5 = 2; Σ(r - r̄)² = 30 - 100/4 = 5; σ² = (1·1 + 5)/5 = 1.2;
    // sd = sqrt(1.2/5) = sqrt(0.24).
    const result = normalPosterior(
      { n: 4, sum: 10, sumSquares: 30 },
      { mean: 0, variance: 1, strength: 1 },
    );
    expect(result.mean).toBe(2);
    expect(result.sd).toBeCloseTo(Math.sqrt(0.24), 15);
    expect(result.lower95).toBeCloseTo(2 - Z_975 * Math.sqrt(0.24), 14);
    expect(result.upper95).toBeCloseTo(2 + Z_975 * Math.sqrt(0.24), 14);
  });

  it('is the prior when there is no data', () => {
    const result = normalPosterior(
      { n: 0, sum: 0, sumSquares: 0 },
      { mean: 0.3, variance: 4, strength: 2 },
    );
    expect(result.mean).toBeCloseTo(0.3, 15);
    // σ² = n₀σ₀²/n₀ = 4, sd = sqrt(4/2).
    expect(result.sd).toBeCloseTo(Math.sqrt(2), 15);
  });

  it('accepts fractional (decayed) counts', () => {
    // n = 2.5, Σr = 5, Σr² = 12: Σ(r - r̄)² = 12 - 25/2.5 = 2; weight n₀ + n = 3;
    // m = (0.5·1 + 5)/3; σ² = (0.5·2 + 2)/3 = 1; sd = sqrt(1/3).
    const result = normalPosterior(
      { n: 2.5, sum: 5, sumSquares: 12 },
      { mean: 1, variance: 2, strength: 1 / 2 },
    );
    expect(result.mean).toBeCloseTo(5.5 / 3, 15);
    expect(result.sd).toBeCloseTo(Math.sqrt(1 / 3), 15);
  });

  it('clamps a slightly negative centred sum of squares from rounding', () => {
    // Three rewards of 0.1: Σr² - (Σr)²/n rounds to about -1.7e-18 in doubles.
    const r = 0.1;
    const sums = { n: 3, sum: r + r + r, sumSquares: r * r + r * r + r * r };
    expect(sums.sumSquares - (sums.sum * sums.sum) / sums.n).toBeLessThan(0);
    const result = normalPosterior(sums, { mean: 0, variance: 0, strength: 1 });
    expect(result.sd).toBe(0);
    expect(result.lower95).toBe(result.mean);
  });

  it('rejects invalid sums and priors', () => {
    const prior = { mean: 0, variance: 1, strength: 1 };
    expect(() =>
      normalPosterior({ n: 0, sum: 0, sumSquares: 0 }, { ...prior, strength: 0 }),
    ).toThrow(RangeError);
    expect(() => normalPosterior({ n: -1, sum: 0, sumSquares: 0 }, prior)).toThrow(RangeError);
    expect(() => normalPosterior({ n: 1, sum: Number.NaN, sumSquares: 0 }, prior)).toThrow(
      RangeError,
    );
    expect(() =>
      normalPosterior({ n: 1, sum: 1, sumSquares: 1 }, { ...prior, variance: -1 }),
    ).toThrow(RangeError);
    expect(() =>
      normalPosterior(
        { n: 1, sum: 1, sumSquares: 1 },
        { ...prior, mean: Number.POSITIVE_INFINITY },
      ),
    ).toThrow(RangeError);
  });
});
