import { describe, expect, it } from 'vitest';
import {
  erfc,
  erfcScaled,
  normalCdf,
  normalLogCdf,
} from '../../../lib/bandit/normal-distribution.ts';

function expectRelative(actual: number, expected: number, tolerance: number): void {
  expect(Math.abs(actual - expected) / Math.abs(expected)).toBeLessThan(tolerance);
}

// Reference values from mpmath at 30 significant digits, rounded to 17.
const ERFC_REFERENCE: readonly (readonly [number, number])[] = [
  [0.1, 0.8875370839817151],
  [0.5, 0.47950012218695346],
  [1, 0.15729920705028513],
  [1.4999, 0.033906748337704729], // just below the switch from series to continued fraction
  [1.5, 0.033894853524689273],
  [2, 0.0046777349810472658],
  [3, 2.2090496998585441e-5],
  [5, 1.5374597944280349e-12],
  [10, 2.0884875837625448e-45],
  [26, 5.6631924088561428e-296],
  [-0.3, 1.3286267594591274],
  [-2, 1.9953222650189527],
  [-5, 1.9999999999984625],
];

describe('erfc', () => {
  it('matches reference values to ~1e-14 relative', () => {
    for (const [x, expected] of ERFC_REFERENCE) expectRelative(erfc(x), expected, 5e-14);
    expect(erfc(0)).toBe(1);
    expect(erfc(30)).toBe(0);
    expect(erfc(-30)).toBe(2);
  });

  it('is continuous across the switch between series and continued fraction', () => {
    const below = erfcScaled(1.5 - 1e-12);
    const above = erfcScaled(1.5);
    expectRelative(below, above, 1e-11);
  });

  it('agrees with Simpson integration of (2/√π) e^{-t²}', () => {
    // erfc(a) - erfc(b) = (2/√π) ∫_a^b e^{-t²} dt, on a fine grid (error O(h⁴) ≈ 1e-17).
    const steps = 20_000;
    for (const [a, b] of [
      [0, 1],
      [0.7, 2.3],
      [1.2, 4],
      [-1, 0.5],
    ] as const) {
      const h = (b - a) / steps;
      let sum = 0;
      for (let i = 0; i <= steps; i += 1) {
        const t = a + i * h;
        const weight = i === 0 || i === steps ? 1 : i % 2 === 1 ? 4 : 2;
        sum += weight * Math.exp(-t * t);
      }
      const integral = ((2 / Math.sqrt(Math.PI)) * (h * sum)) / 3;
      expect(Math.abs(erfc(a) - erfc(b) - integral)).toBeLessThan(1e-14);
    }
  });

  it('rejects NaN and negative scaled arguments', () => {
    expect(() => erfc(Number.NaN)).toThrow(RangeError);
    expect(() => erfcScaled(-1)).toThrow(RangeError);
    expect(erfcScaled(Number.POSITIVE_INFINITY)).toBe(0);
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
