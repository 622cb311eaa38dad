// Reference values: mpmath 1.3 at 40 significant digits (mp.mp.dps = 40), as noted per line;
// scipy 1.x agrees to ~1e-15 relative.
import { describe, expect, it } from 'vitest';
import {
  normalCdf,
  normalLogCdf,
  normalPdf,
  normalQuantile,
  normalSurvival,
} from '../../../lib/bandit/normal-distribution.ts';

function expectRelative(actual: number, expected: number, tolerance: number): void {
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(tolerance * Math.abs(expected));
}

describe('normalCdf and normalSurvival', () => {
  it('match mpmath in the far lower tail', () => {
    expectRelative(normalCdf(-30), 4.9067139271481871e-198, 1e-13); // mp.ncdf(-30)
    expectRelative(normalCdf(-8), 6.2209605742717841e-16, 1e-14); // mp.ncdf(-8)
    expectRelative(normalCdf(-1.5), 0.066807201268858066, 1e-14); // mp.ncdf(-1.5)
  });

  it('match mpmath at the centre and at 1.96', () => {
    expect(normalCdf(0)).toBe(0.5);
    expect(normalSurvival(0)).toBe(0.5);
    expectRelative(normalCdf(1.96), 0.97500210485177956, 1e-15); // mp.ncdf(1.96)
    expectRelative(normalSurvival(1.96), 0.024997895148220436, 1e-14); // 1 - mp.ncdf(1.96)
  });

  it('keep full relative precision in the upper tail, where 1 - Φ would cancel', () => {
    expectRelative(normalSurvival(8), 6.2209605742717841e-16, 1e-14); // mp.ncdf(-8)
    expectRelative(normalSurvival(30), 4.9067139271481871e-198, 1e-13); // mp.ncdf(-30)
    // The naive complement is off by ~7% at 8: the test above is not satisfied by it.
    expect(Math.abs(1 - normalCdf(8) - 6.2209605742717841e-16)).toBeGreaterThan(1e-17);
    expectRelative(normalCdf(8), 0.99999999999999938, 1e-16); // mp.ncdf(8)
  });

  it('are symmetric, monotone across the series/continued-fraction switch, and saturate', () => {
    for (const x of [0.1, 0.7, 1.5, 1.999, 2, 2.001, 3.3, 6, 12]) {
      expect(Math.abs(normalCdf(x) + normalCdf(-x) - 1)).toBeLessThan(2e-16);
      expect(normalSurvival(x)).toBe(normalCdf(-x));
    }
    const below = normalCdf(-2 - 1e-12);
    const at = normalCdf(-2);
    const above = normalCdf(-2 + 1e-12);
    expect(below).toBeLessThan(at);
    expect(at).toBeLessThan(above);
    // Φ'(−2) = φ(2) ≈ 0.054, so a step of 1e-12 moves Φ by ~5.4e-14.
    expectRelative(above - below, 2e-12 * normalPdf(2), 1e-3);
    expect(normalCdf(-40)).toBe(0);
    expect(normalCdf(Number.NEGATIVE_INFINITY)).toBe(0);
    expect(normalCdf(Number.POSITIVE_INFINITY)).toBe(1);
    expect(normalSurvival(Number.POSITIVE_INFINITY)).toBe(0);
  });

  it('rejects NaN', () => {
    expect(() => normalCdf(Number.NaN)).toThrow(RangeError);
    expect(() => normalSurvival(Number.NaN)).toThrow(RangeError);
    expect(() => normalPdf(Number.NaN)).toThrow(RangeError);
  });
});

describe('normalPdf', () => {
  it('matches e^{-x²/2}/√(2π) with full precision far out', () => {
    expectRelative(normalPdf(0), 0.3989422804014327, 1e-15);
    expectRelative(normalPdf(37.5), 1.7282337322841052e-306, 1e-13); // mp.npdf(37.5)
    expect(normalPdf(-1.3)).toBe(normalPdf(1.3));
  });
});

describe('normalQuantile', () => {
  it('matches mpmath from the extreme tail to the centre', () => {
    // mp.findroot(lambda x: mp.ncdf(x) - mp.mpf('1e-300'), -37)
    expectRelative(normalQuantile(1e-300), -37.047096299361199, 1e-14);
    // mp.sqrt(2) * mp.erfinv(2 * mp.mpf(p) - 1), p the double nearest each value below
    expectRelative(normalQuantile(1e-10), -6.3613409024040562, 1e-14);
    expectRelative(normalQuantile(0.025), -1.9599639845400542, 1e-14);
    expectRelative(normalQuantile(0.3), -0.52440051270804082, 1e-14);
    expectRelative(normalQuantile(0.975), 1.9599639845400539, 1e-14);
    expectRelative(normalQuantile(0.9999999), 5.1993375822906611, 1e-12);
    expect(normalQuantile(0.5)).toBe(0);
  });

  it('inverts normalCdf to ~1e-13 relative in p', () => {
    for (const p of [1e-250, 1e-100, 1e-20, 1e-5, 0.001, 0.2, 0.49, 0.51, 0.8, 0.999]) {
      const x = normalQuantile(p);
      const tail = p < 0.5 ? normalCdf(x) : normalSurvival(x);
      expectRelative(tail, p < 0.5 ? p : 1 - p, 1e-12);
    }
  });

  it('maps 0 and 1 to infinities and rejects values outside [0, 1]', () => {
    expect(normalQuantile(0)).toBe(Number.NEGATIVE_INFINITY);
    expect(normalQuantile(1)).toBe(Number.POSITIVE_INFINITY);
    expect(() => normalQuantile(-0.1)).toThrow(RangeError);
    expect(() => normalQuantile(1.1)).toThrow(RangeError);
    expect(() => normalQuantile(Number.NaN)).toThrow(RangeError);
  });
});

describe('normalCdf and normalLogCdf', () => {
  it('give the standard normal CDF', () => {
    expect(normalCdf(0)).toBe(0.5);
    expect(normalCdf(1)).toBeCloseTo(0.8413447460685429, 15);
    expect(normalCdf(-1.959963984540054)).toBeCloseTo(0.025, 15);
    for (const x of [-3, -0.4, 0.2, 2.5]) expect(normalCdf(x) + normalCdf(-x)).toBeCloseTo(1, 15);
  });

  it('stays finite and accurate far in the lower tail', () => {
    for (const [x, expected] of [
      [-1, -1.8410216450092635],
      [-3, -6.6077262215103495],
      [-8.5, -39.197396428217669],
      [-10, -53.231285150512471],
      [-20, -203.91715537109726],
      [-40, -804.60844201375379],
      [1, -0.17275377902344989],
      [5, -2.8665161296376359e-7],
      [10, -7.6198530241605261e-24],
      [20, -2.7536241186062337e-89],
    ] as const) {
      expectRelative(normalLogCdf(x), expected, 1e-13);
    }
    expect(normalLogCdf(Number.NEGATIVE_INFINITY)).toBe(Number.NEGATIVE_INFINITY);
    expect(normalLogCdf(Number.POSITIVE_INFINITY)).toBe(0);
    expect(() => normalLogCdf(Number.NaN)).toThrow(RangeError);
  });
});
