import { describe, expect, it } from 'vitest';
import {
  betaCdf,
  betaLogCdf,
  betaLogPdf,
  betaMean,
  betaQuantile,
  betaVariance,
  logBeta,
  logGamma,
  regularizedIncompleteBeta,
} from '../../../lib/bandit/beta-distribution.ts';
import { incompleteBetaByBinomialSum, logBetaOfIntegers, logFactorial } from './exact-beta.ts';

describe('logGamma', () => {
  it('matches ln((n-1)!) for integers, small and large', () => {
    for (const n of [1, 2, 3, 10, 50, 171, 1000, 123_457, 1_000_000]) {
      const expected = logFactorial(n - 1);
      expect(Math.abs(logGamma(n) - expected)).toBeLessThan(1e-12 * Math.max(1, expected));
    }
  });

  it('matches Γ at half-integers and near 0', () => {
    expect(logGamma(0.5)).toBeCloseTo(0.5 * Math.log(Math.PI), 13);
    expect(logGamma(1.5)).toBeCloseTo(Math.log(Math.sqrt(Math.PI) / 2), 13);
    expect(logGamma(4.5)).toBeCloseTo(Math.log((105 / 16) * Math.sqrt(Math.PI)), 12);
    // Γ(x) ~ 1/x - γ as x -> 0.
    expect(logGamma(1e-8)).toBeCloseTo(Math.log(1e8 - 0.5772156649), 8);
  });

  it('rejects non-positive arguments', () => {
    expect(() => logGamma(0)).toThrow(RangeError);
    expect(() => logGamma(-1.5)).toThrow(RangeError);
  });
});

describe('logBeta', () => {
  it('matches the factorial form for integers, including huge and lopsided pairs', () => {
    const pairs: [number, number][] = [
      [1, 1],
      [2, 3],
      [9, 20],
      [10, 20],
      [12, 15],
      [3, 1_000_000],
      [1_000_000, 1],
      [50_001, 950_001],
      [1_000_000, 1_000_000],
    ];
    for (const [a, b] of pairs) {
      expect(Math.abs(logBeta(a, b) - logBetaOfIntegers(a, b))).toBeLessThan(1e-8);
    }
  });

  it('is symmetric and matches B(1/2, 1/2) = π', () => {
    expect(logBeta(0.5, 0.5)).toBeCloseTo(Math.log(Math.PI), 13);
    expect(logBeta(3.7, 1234.5)).toBe(logBeta(1234.5, 3.7));
  });
});

describe('betaLogPdf', () => {
  it('matches closed forms', () => {
    expect(Math.exp(betaLogPdf(0.3, 2, 3))).toBeCloseTo(12 * 0.3 * 0.49, 12);
    expect(Math.exp(betaLogPdf(0.7, 1, 1))).toBeCloseTo(1, 14);
    expect(Math.exp(betaLogPdf(0, 1, 4))).toBeCloseTo(4, 12);
    expect(betaLogPdf(0, 2, 4)).toBe(Number.NEGATIVE_INFINITY);
    expect(betaLogPdf(-0.1, 2, 4)).toBe(Number.NEGATIVE_INFINITY);
    expect(betaLogPdf(1.1, 2, 4)).toBe(Number.NEGATIVE_INFINITY);
  });

  it('integrates to 1 for a concentrated posterior', () => {
    // Composite Simpson over mean ± 12 sd of Beta(50001, 950001).
    const a = 50_001;
    const b = 950_001;
    const mean = betaMean(a, b);
    const sd = Math.sqrt(betaVariance(a, b));
    const steps = 2000;
    const h = (24 * sd) / steps;
    let sum = 0;
    for (let i = 0; i <= steps; i += 1) {
      const weight = i === 0 || i === steps ? 1 : i % 2 === 1 ? 4 : 2;
      sum += weight * Math.exp(betaLogPdf(mean - 12 * sd + i * h, a, b));
    }
    expect((sum * h) / 3).toBeCloseTo(1, 9);
  });
});

describe('regularizedIncompleteBeta', () => {
  it('is 1/2 at x = 1/2 for a = b', () => {
    for (const a of [0.5, 1, 2.5, 10, 1000, 100_000, 1_000_000]) {
      expect(regularizedIncompleteBeta(0.5, a, a)).toBeCloseTo(0.5, 12);
    }
  });

  it('matches I_x(1,1) = x, I_x(a,1) = x^a and I_x(1,b) = 1 - (1-x)^b', () => {
    for (const x of [1e-9, 0.01, 0.2, 0.5, 0.77, 0.999]) {
      expect(regularizedIncompleteBeta(x, 1, 1)).toBeCloseTo(x, 14);
      for (const a of [0.3, 2, 7.5]) {
        expect(regularizedIncompleteBeta(x, a, 1)).toBeCloseTo(x ** a, 13);
      }
      for (const b of [0.3, 3, 40]) {
        expect(regularizedIncompleteBeta(x, 1, b)).toBeCloseTo(1 - (1 - x) ** b, 13);
      }
    }
  });

  it('matches the binomial-sum identity for integer parameters on both branches', () => {
    const cases: [number, number, number][] = [
      [0.3, 2, 3],
      [0.9, 2, 3],
      [0.4, 5, 7],
      [0.55, 10, 10],
      [0.25, 30, 70],
      [0.35, 30, 70],
      [0.01, 3, 400],
      [0.24, 500, 1500],
      [0.26, 500, 1500],
      [0.0505, 5000, 95_000],
    ];
    for (const [x, a, b] of cases) {
      const expected = incompleteBetaByBinomialSum(x, a, b);
      expect(Math.abs(regularizedIncompleteBeta(x, a, b) - expected)).toBeLessThan(1e-10);
    }
  });

  it('satisfies I_x(a, b) = 1 - I_{1-x}(b, a)', () => {
    for (const [x, a, b] of [
      [0.2, 3.5, 8],
      [0.05, 50_001, 950_001],
      [0.6, 0.4, 0.9],
    ] as const) {
      expect(
        regularizedIncompleteBeta(x, a, b) + regularizedIncompleteBeta(1 - x, b, a),
      ).toBeCloseTo(1, 12);
    }
  });

  it('keeps tail accuracy in log space (betaLogCdf)', () => {
    // I_x(a, 1) = x^a, so ln I = a ln x even where I underflows.
    expect(betaLogCdf(1e-200, 3, 1)).toBeCloseTo(3 * Math.log(1e-200), 9);
    expect(betaLogCdf(0.4, 2, 3)).toBeCloseTo(Math.log(incompleteBetaByBinomialSum(0.4, 2, 3)), 12);
  });

  it('rejects x outside [0, 1] and invalid parameters', () => {
    expect(() => regularizedIncompleteBeta(-0.1, 1, 1)).toThrow(RangeError);
    expect(() => regularizedIncompleteBeta(1.1, 1, 1)).toThrow(RangeError);
    expect(() => regularizedIncompleteBeta(0.5, 0, 1)).toThrow(RangeError);
    expect(() => regularizedIncompleteBeta(0.5, 1, Number.NaN)).toThrow(RangeError);
  });
});

describe('betaCdf', () => {
  it('is 0 below and 1 above the support', () => {
    expect(betaCdf(-3, 2, 2)).toBe(0);
    expect(betaCdf(0, 2, 2)).toBe(0);
    expect(betaCdf(1, 2, 2)).toBe(1);
    expect(betaCdf(7, 2, 2)).toBe(1);
    expect(betaCdf(0.5, 2, 2)).toBeCloseTo(0.5, 14);
  });
});

describe('betaMean and betaVariance', () => {
  it('match the closed forms', () => {
    expect(betaMean(2, 6)).toBe(0.25);
    expect(betaVariance(2, 6)).toBeCloseTo(12 / (64 * 9), 15);
  });
});

describe('betaQuantile', () => {
  it('matches closed-form quantiles', () => {
    for (const p of [1e-12, 0.001, 0.025, 0.5, 0.975, 0.999]) {
      expect(betaQuantile(p, 1, 1)).toBeCloseTo(p, 13);
      expect(betaQuantile(p, 4, 1) / p ** 0.25).toBeCloseTo(1, 12);
      // Beta(1, 10): 1 - (1 - p)^(1/10), written with expm1/log1p to stay exact for tiny p.
      expect(betaQuantile(p, 1, 10) / -Math.expm1(Math.log1p(-p) / 10)).toBeCloseTo(1, 12);
    }
  });

  it('inverts the CDF from the far tails to the median, for wide and concentrated shapes', () => {
    // Each shape is also used mirrored, (b, a), which covers both tails of (a, b).
    const shapes: [number, number][] = [
      [0.5, 0.5],
      [2, 3],
      [30, 70],
      [1, 1_000_000],
      [50_001, 950_001],
      [52_001, 948_001],
      [1_000_000, 1_000_000],
    ];
    for (const [a, b] of shapes) {
      for (const [shapeA, shapeB] of [
        [a, b],
        [b, a],
      ] as const) {
        for (const p of [1e-12, 1e-6, 0.025, 0.3, 0.5]) {
          const lower = betaQuantile(p, shapeA, shapeB);
          expect(regularizedIncompleteBeta(lower, shapeA, shapeB) / p).toBeCloseTo(1, 9);
        }
      }
    }
  });

  it('computes upper quantiles through the mirror Q_p(a, b) = 1 - Q_{1-p}(b, a)', () => {
    for (const [p, a, b] of [
      [0.975, 2, 3],
      [1 - 1e-9, 50_001, 950_001],
      [0.7, 0.5, 4],
    ] as const) {
      const upper = betaQuantile(p, a, b);
      expect(upper).toBe(1 - betaQuantile(1 - p, b, a));
      expect(regularizedIncompleteBeta(upper, a, b)).toBeCloseTo(p, 12);
    }
  });

  it('is monotone in p and returns the ends for p = 0 and 1', () => {
    expect(betaQuantile(0, 3, 4)).toBe(0);
    expect(betaQuantile(1, 3, 4)).toBe(1);
    let previous = 0;
    for (let p = 0.01; p < 1; p += 0.01) {
      const q = betaQuantile(p, 3, 4);
      expect(q).toBeGreaterThan(previous);
      previous = q;
    }
  });

  it('rejects p outside [0, 1]', () => {
    expect(() => betaQuantile(-0.1, 1, 1)).toThrow(RangeError);
    expect(() => betaQuantile(Number.NaN, 1, 1)).toThrow(RangeError);
  });
});
