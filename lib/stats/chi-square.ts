// The chi-square upper tail and Pearson's sample-ratio-mismatch test.
//
// For X ~ χ²(k), P(X > x) = Q(k/2, x/2), where Q(a, x) = Γ(a, x)/Γ(a) is the regularised upper
// incomplete gamma function. Q is evaluated as in Numerical Recipes §6.2 (Press et al.), with
// the common prefactor e^{-x} x^a / Γ(a) formed in logs:
//
// * x < a + 1: the series (A&S 6.5.29)  P(a, x) = e^{-x} x^a / Γ(a) · Σ_{n>=0} x^n / (a(a+1)···(a+n)),
//   and Q = 1 - P. Below a + 1 the lower tail is at most ~0.6, so the subtraction is harmless.
// * x >= a + 1: Legendre's continued fraction (A&S 6.5.31, even contraction)
//     Γ(a, x) = e^{-x} x^a · 1/(x + 1 - a - 1(1 - a)/(x + 3 - a - 2(2 - a)/(x + 5 - a - ...))),
//   evaluated by the modified Lentz method (Lentz 1976; Thompson & Barnett 1986). Q is then
//   formed directly, so upper-tail p-values such as 1e-50 keep full relative precision.
//
// For large a (many degrees of freedom) a ln x - x - ln Γ(a) subtracts numbers of size a ln a.
// With Stirling's series ln Γ(a) = (a - 1/2) ln a - a + ln(2π)/2 + ω(a) (DLMF 5.11.1) and
// u = (x - a)/a, the large terms cancel algebraically:
//   a ln x - x - ln Γ(a) = a (ln(1 + u) - u) + ln(a/(2π))/2 - ω(a).

import { logGamma } from '../bandit/beta-distribution.ts';

const LENTZ_TINY = 1e-300;
const TOLERANCE = 1e-16;
/** Above this shape the prefactor uses Stirling's form. */
const STIRLING_THRESHOLD = 10;

/**
 * Q(a, x) = Γ(a, x)/Γ(a), the regularised upper incomplete gamma function, for a > 0 and
 * x >= 0 (Q(a, 0) = 1). Relative error ~1e-14 in the upper tail for moderate a.
 */
export function regularizedGammaQ(a: number, x: number): number {
  if (!(Number.isFinite(a) && a > 0)) {
    throw new RangeError(`regularizedGammaQ needs a finite shape a > 0, got ${a}`);
  }
  if (!(x >= 0)) throw new RangeError(`regularizedGammaQ needs x >= 0, got ${x}`);
  if (x === 0) return 1;
  if (x === Number.POSITIVE_INFINITY) return 0;
  const logPrefactor = logGammaPrefactor(a, x);
  // Both expansions need O(sqrt(a)) terms around x ≈ a; the cap leaves ample room.
  const maxTerms = 200 + Math.ceil(40 * Math.sqrt(a));
  if (x < a + 1) {
    return 1 - Math.exp(logPrefactor) * lowerSeries(a, x, maxTerms);
  }
  return Math.exp(logPrefactor) / legendreFraction(a, x, maxTerms);
}

/**
 * P(X > x) for X ~ χ²(k) with k = degreesOfFreedom > 0 (fractional k allowed): Q(k/2, x/2).
 * x <= 0 gives 1 and x = Infinity gives 0.
 */
export function chiSquareSurvival(x: number, degreesOfFreedom: number): number {
  if (Number.isNaN(x)) throw new RangeError('chiSquareSurvival needs a number x, got NaN');
  if (!(Number.isFinite(degreesOfFreedom) && degreesOfFreedom > 0)) {
    throw new RangeError(
      `chiSquareSurvival needs finite degrees of freedom > 0, got ${degreesOfFreedom}`,
    );
  }
  if (x <= 0) return 1;
  return regularizedGammaQ(0.5 * degreesOfFreedom, 0.5 * x);
}

export interface SampleRatioResult {
  readonly chiSquare: number;
  readonly degreesOfFreedom: number;
  readonly pValue: number;
}

/**
 * Pearson's chi-square goodness-of-fit test of observed counts against the expected split —
 * the standard sample-ratio-mismatch (SRM) check of A/B testing (Kohavi, Tang & Xu 2020,
 * "Trustworthy Online Controlled Experiments", ch. 21; Fabijan et al. 2019, "Diagnosing sample
 * ratio mismatch in online controlled experiments").
 *
 * With N = Σ o_i and E = Σ e_i, the expected counts are rescaled to N (e'_i = e_i N / E, so
 * `expected` may be weights or shares) and
 *   χ² = Σ_i (o_i - e'_i)² / e'_i,   df = (number of cells) - 1,   p = P(χ²_df > χ²).
 * Cells with expected 0 and observed 0 are dropped (an arm that is switched off); observed > 0
 * where expected is 0 is an outright mismatch: χ² = Infinity, p = 0. Returns null when fewer
 * than 2 cells remain or there are no observations. Counts may be fractional (weights), but
 * must be finite and >= 0, and the two arrays must have the same length.
 */
export function sampleRatioMismatch(
  observed: readonly number[],
  expected: readonly number[],
): SampleRatioResult | null {
  if (observed.length !== expected.length) {
    throw new RangeError(
      `sampleRatioMismatch needs as many expected as observed cells, got ${expected.length} and ${observed.length}`,
    );
  }
  const cells: { observed: number; expected: number }[] = [];
  let observedTotal = 0;
  let expectedTotal = 0;
  for (let i = 0; i < observed.length; i += 1) {
    const o = observed[i] ?? Number.NaN;
    const e = expected[i] ?? Number.NaN;
    if (!(Number.isFinite(o) && o >= 0)) {
      throw new RangeError(`observed counts must be finite and >= 0, got ${o} at ${i}`);
    }
    if (!(Number.isFinite(e) && e >= 0)) {
      throw new RangeError(`expected counts must be finite and >= 0, got ${e} at ${i}`);
    }
    if (o === 0 && e === 0) continue;
    cells.push({ observed: o, expected: e });
    observedTotal += o;
    expectedTotal += e;
  }
  if (cells.length < 2 || !(observedTotal > 0)) return null;
  const degreesOfFreedom = cells.length - 1;
  if (cells.some((cell) => cell.expected === 0)) {
    return { chiSquare: Number.POSITIVE_INFINITY, degreesOfFreedom, pValue: 0 };
  }
  const scale = observedTotal / expectedTotal;
  let chiSquare = 0;
  for (const cell of cells) {
    const e = cell.expected * scale;
    const difference = cell.observed - e;
    chiSquare += (difference * difference) / e;
  }
  return { chiSquare, degreesOfFreedom, pValue: chiSquareSurvival(chiSquare, degreesOfFreedom) };
}

/** ln(e^{-x} x^a / Γ(a)), with Stirling's cancellation for large a (see the header). */
function logGammaPrefactor(a: number, x: number): number {
  if (a < STIRLING_THRESHOLD) return a * Math.log(x) - x - logGamma(a);
  const u = (x - a) / a;
  return a * (Math.log1p(u) - u) + 0.5 * Math.log(a / (2 * Math.PI)) - stirlingRemainder(a);
}

/**
 * ω(a) = ln Γ(a) - [(a - 1/2) ln a - a + ln(2π)/2] by its asymptotic series
 * Σ_k B_{2k} / (2k(2k - 1) a^{2k-1}) = 1/(12a) - 1/(360a³) + 1/(1260a⁵) - 1/(1680a⁷) + 1/(1188a⁹)
 * (DLMF 5.11.1, Bernoulli numbers B₂ … B₁₀); the truncation error is below 1e-15 for a >= 10.
 */
function stirlingRemainder(a: number): number {
  const inverse = 1 / a;
  const inverseSquared = inverse * inverse;
  const k1 = 1 / 12;
  const k2 = 1 / 360;
  const k3 = 1 / 1260;
  const k4 = 1 / 1680;
  const k5 = 1 / 1188;
  return (
    inverse *
    (k1 -
      inverseSquared * (k2 - inverseSquared * (k3 - inverseSquared * (k4 - inverseSquared * k5))))
  );
}

/** Σ_{n>=0} x^n / (a(a+1)···(a+n)), the series factor of P(a, x). */
function lowerSeries(a: number, x: number, maxTerms: number): number {
  let term = 1 / a;
  let sum = term;
  for (let n = 1; n < maxTerms; n += 1) {
    term *= x / (a + n);
    sum += term;
    if (term < TOLERANCE * sum) break;
  }
  return sum;
}

/**
 * The denominator of Legendre's fraction, b₀ + a₁/(b₁ + a₂/(b₂ + ...)) with
 * b_k = x + 2k + 1 - a and a_k = -k(k - a), by modified Lentz.
 */
function legendreFraction(a: number, x: number, maxTerms: number): number {
  let value = x + 1 - a;
  if (Math.abs(value) < LENTZ_TINY) value = LENTZ_TINY;
  let c = value;
  let d = 0;
  for (let k = 1; k < maxTerms; k += 1) {
    const numerator = -k * (k - a);
    const denominator = x + 2 * k + 1 - a;
    d = denominator + numerator * d;
    if (Math.abs(d) < LENTZ_TINY) d = LENTZ_TINY;
    d = 1 / d;
    c = denominator + numerator / c;
    if (Math.abs(c) < LENTZ_TINY) c = LENTZ_TINY;
    const delta = c * d;
    value *= delta;
    if (Math.abs(delta - 1) < TOLERANCE) break;
  }
  return value;
}
