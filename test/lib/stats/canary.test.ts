// Reference values: mpmath 1.3 (mp.mp.dps = 40),
//   mp.quad(lambda x: betapdf(x, a_c, b_c) * (1 - mp.betainc(a_h, b_h, 0, clamp(x + m), regularized=True)), pts)
// with betapdf(x, a, b) = x^(a-1) (1-x)^(b-1) / mp.beta(a, b), clamp to [0, 1], and pts the
// challenger's mean ± 2i sd plus the kinks at x = -m and x = 1 - m; Normal cases by
// mp.ncdf((μ_h - μ_c - m) / mp.sqrt(s_h² + s_c²)).
import { describe, expect, it } from 'vitest';
import { probabilityWorseBeta, probabilityWorseNormal } from '../../../lib/stats/canary.ts';

const beta = (alpha: number, betaParameter: number) => ({ alpha, beta: betaParameter });

describe('probabilityWorseBeta', () => {
  it('matches mpmath integration', () => {
    // [champion, challenger, margin, mpmath]
    const cases: [[number, number], [number, number], number, number][] = [
      [[60, 40], [45, 55], 0, 0.98373982548716529],
      [[60, 40], [45, 55], 0.05, 0.92369419406523661],
      [[2, 3], [3, 2], -0.1, 0.35663865014285715],
      [[500, 9500], [430, 9570], 0.002, 0.95358298820716257],
    ];
    for (const [champion, challenger, margin, expected] of cases) {
      const p = probabilityWorseBeta(beta(...champion), beta(...challenger), margin);
      expect(Math.abs(p - expected)).toBeLessThan(1e-10);
    }
  });

  it('matches the closed form for a uniform champion and an arcsine challenger', () => {
    // θ_h ~ U(0, 1), θ_c ~ Beta(1/2, 1/2): P(θ_c < θ_h - 0.2) = ∫₀^0.8 (2/π) asin(√u) du
    //   = 0.33877378388325633541 (mp.quad).
    const p = probabilityWorseBeta(beta(1, 1), beta(0.5, 0.5), 0.2);
    expect(Math.abs(p - 0.33877378388325634)).toBeLessThan(1e-10);
  });

  it('handles a challenger density that is singular at 0', () => {
    // mpmath: mp.quad(lambda y: 3 (1 - y)² · mp.betainc(0.05, 5, 0, y - 0.01, regularized=True),
    //   [0.01, 0.010001, 0.0101, 0.011, 0.02, 0.1, 0.5, 1]) — the same probability conditioned on
    //   the champion Beta(1, 3) instead -> 0.945790966043799736
    const p = probabilityWorseBeta(beta(1, 3), beta(0.05, 5), 0.01);
    expect(Math.abs(p - 0.945790966043799736)).toBeLessThan(1e-10);
  });

  it('is 1/2 for identical arms at margin 0, and complementary when the roles swap', () => {
    expect(probabilityWorseBeta(beta(30, 70), beta(30, 70), 0)).toBeCloseTo(0.5, 10);
    const a = beta(45, 55);
    const b = beta(52, 48);
    expect(probabilityWorseBeta(a, b, 0) + probabilityWorseBeta(b, a, 0)).toBeCloseTo(1, 10);
  });

  it('decreases with the margin and saturates outside (-1, 1)', () => {
    const champion = beta(60, 40);
    const challenger = beta(55, 45);
    let previous = 1;
    for (const margin of [-0.2, -0.05, 0, 0.02, 0.05, 0.1, 0.3]) {
      const p = probabilityWorseBeta(champion, challenger, margin);
      expect(p).toBeLessThan(previous);
      previous = p;
    }
    expect(probabilityWorseBeta(champion, challenger, 1)).toBe(0);
    expect(probabilityWorseBeta(champion, challenger, -1)).toBeCloseTo(1, 11);
  });

  it('handles concentrated posteriors (parameters ~10^6)', () => {
    // scipy 1.x: sum of scipy.integrate.quad(lambda x: scipy.stats.beta.pdf(x, 50001, 950001)
    //   * scipy.special.betainc(949701, 50301, 1 - (x + 1e-4)), u, v, epsabs=1e-16, epsrel=1e-13)
    // over the challenger's mean ± i/2 sd (|i| <= 28) -> 0.7414950115746308. (Both posteriors
    // are nearly normal: Φ(2e-4 / 3.09e-4) ≈ 0.74.)
    const p = probabilityWorseBeta(beta(50_301, 949_701), beta(50_001, 950_001), 1e-4);
    expect(Math.abs(p - 0.7414950115746308)).toBeLessThan(1e-10);
  });

  it('rejects bad parameters and margins', () => {
    expect(() => probabilityWorseBeta(beta(0, 1), beta(1, 1), 0)).toThrow(RangeError);
    expect(() => probabilityWorseBeta(beta(1, 1), beta(1, -1), 0)).toThrow(RangeError);
    expect(() => probabilityWorseBeta(beta(1, 1), beta(1, 1), Number.NaN)).toThrow(RangeError);
  });
});

describe('probabilityWorseNormal', () => {
  it('matches the closed form', () => {
    // mp.ncdf((1.0 - 0.8 - 0.05) / mp.sqrt(0.1**2 + 0.15**2))
    expect(probabilityWorseNormal({ mean: 1, sd: 0.1 }, { mean: 0.8, sd: 0.15 }, 0.05)).toBeCloseTo(
      0.79730972177052873,
      14,
    );
    // mp.ncdf(-0.5)
    expect(probabilityWorseNormal({ mean: 0, sd: 1 }, { mean: 0, sd: 0 }, 0.5)).toBeCloseTo(
      0.3085375387259869,
      14,
    );
  });

  it('is 0 or 1 for point masses', () => {
    expect(probabilityWorseNormal({ mean: 1, sd: 0 }, { mean: 0.8, sd: 0 }, 0.1)).toBe(1);
    expect(probabilityWorseNormal({ mean: 1, sd: 0 }, { mean: 0.8, sd: 0 }, 0.3)).toBe(0);
  });

  it('rejects bad input', () => {
    expect(() => probabilityWorseNormal({ mean: 0, sd: -1 }, { mean: 0, sd: 1 }, 0)).toThrow(
      RangeError,
    );
    expect(() =>
      probabilityWorseNormal({ mean: 0, sd: 1 }, { mean: 0, sd: 1 }, Number.POSITIVE_INFINITY),
    ).toThrow(RangeError);
  });
});
