// The standard normal distribution: density, CDF, log-CDF, survival function and quantile,
// accurate in the tails. Used by Gaussian Thompson sampling (P(best) of Normal posteriors) and
// by the statistics in lib/stats.
//
// Everything is written directly in terms of z (never erfc(z/√2)): dividing by √2 rounds z, and
// a relative error δ in z becomes a relative error z²δ in e^{-z²/2}, i.e. ~1e-13 at z = 30.
//
// Density. φ(z) = e^{-z²/2}/√(2π), with z² formed exactly: z = h + l where h is z rounded to a
// multiple of 2^-16 (so h² is exact in double precision for |z| < 2^10) and l = z - h is exact;
// then z² = h² + l(z + h) and e^{-z²/2} = e^{-h²/2} · e^{-l(z+h)/2}. The small second product
// carries an absolute error of ~1e-20, so φ keeps full relative precision far into the tail
// (the splitting trick of Cody 1969 and Marsaglia 2004, "Evaluating the normal distribution").
//
// Two classical expansions, both converging to double precision (no fitted coefficients):
//
// * Centre, |z| < 2: the everywhere-positive series (Abramowitz & Stegun 26.2.11)
//     Φ(z) = 1/2 + φ(z) · Σ_{n>=0} z^{2n+1} / (1·3·5···(2n+1)).
//   The terms grow while z² > 2n + 3 and then fall faster than geometrically; 24 terms reach
//   1e-17 at z = 2. Forming 1 - Φ(2) ≈ 0.023 by subtraction loses at most log10(1/0.023) ≈ 1.6
//   digits, so the relative error there is ~1e-15.
// * Tails, |z| >= 2: the Mills ratio R(z) = (1 - Φ(z))/φ(z) by Laplace's continued fraction
//   R(z) = 1/(z + 1/(z + 2/(z + 3/(z + ...)))) (A&S 26.2.14), in its even contraction
//     R(z) = z / (z² + 1 - 1·2/(z² + 5 - 3·4/(z² + 9 - 5·6/(z² + 13 - ...)))),
//   i.e. partial denominators z² + 4k + 1 and numerators -(2k - 1)(2k). It is the Legendre
//   fraction of Γ(1/2, z²/2) (A&S 6.5.31, as used by Numerical Recipes for Γ(a, x)) rescaled,
//   and converges in 50 steps at z = 2, 12 at z = 5 and 4 at z = 30. It is evaluated by
//   the modified Lentz method (Lentz 1976; Thompson & Barnett 1986).
//
// The upper tail 1 - Φ(z) = φ(z) R(z) is therefore formed without any cancellation, and Φ(-z)
// = 1 - Φ(z) by symmetry.

const INV_SQRT_TWO_PI = 1 / Math.sqrt(2 * Math.PI);
const LOG_SQRT_TWO_PI = 0.5 * Math.log(2 * Math.PI);
/** Below this |z| the series is used, at and above it the continued fraction. */
const SERIES_LIMIT = 2;
/** The series stops once a term is below this fraction of the sum. */
const SERIES_TOLERANCE = 1e-17;
/** The continued fraction stops once a step changes it by less than this factor. */
const FRACTION_TOLERANCE = 1e-16;
const LENTZ_TINY = 1e-300;
const MAX_TERMS = 1000;
/** Beyond this z, 1 - Φ(z) rounds to 0 in double precision (1 - Φ(38.5) ≈ 1.4e-324 < 2^-1075). */
const TAIL_UNDERFLOW = 38.5;
/** Beyond this z, φ(z) rounds to 0 (φ(38.6) ≈ 1.1e-324); also keeps Infinity out of the split. */
const DENSITY_UNDERFLOW = 38.6;
/** Scale of the split z = h + l: h is a multiple of 2^-16. */
const SPLIT_SCALE = 65_536;

/**
 * The standard normal density φ(z) = e^{-z²/2}/√(2π), with full relative precision for every
 * z (see the header: z² is formed exactly by splitting z).
 */
export function normalPdf(z: number): number {
  if (Number.isNaN(z)) throw new RangeError('normalPdf needs a number, got NaN');
  const x = Math.abs(z);
  if (x > DENSITY_UNDERFLOW) return 0;
  const high = Math.round(x * SPLIT_SCALE) / SPLIT_SCALE;
  const low = x - high;
  return INV_SQRT_TWO_PI * Math.exp(-0.5 * high * high) * Math.exp(-0.5 * low * (x + high));
}

/**
 * Φ(x) = P(Z <= x) for Z ~ N(0, 1), with relative error ~1e-15 for every x including the far
 * lower tail (Φ(-30) ≈ 4.9e-198 is exact to ~15 digits); ±Infinity give 0 and 1.
 */
export function normalCdf(x: number): number {
  if (Number.isNaN(x)) throw new RangeError('normalCdf needs a number, got NaN');
  const z = Math.abs(x);
  if (z < SERIES_LIMIT) {
    const half = normalPdf(z) * centralSeries(z);
    return x >= 0 ? 0.5 + half : 0.5 - half;
  }
  const tail = upperTail(z);
  return x >= 0 ? 1 - tail : tail;
}

/**
 * ln Φ(x), finite for every finite x (Φ itself underflows below x ≈ -38.5): in the lower tail
 * ln Φ(-z) = ln φ(z) + ln R(z) = -z²/2 - ln √(2π) + ln z - ln D(z) with the Mills-ratio
 * denominator D below; near the centre ln Φ(x) directly; in the upper half ln(1 - (1 - Φ(x)))
 * by log1p, which keeps precision while Φ(x) rounds to 1.
 */
export function normalLogCdf(x: number): number {
  if (Number.isNaN(x)) throw new RangeError('normalLogCdf needs a number, got NaN');
  if (x === Number.NEGATIVE_INFINITY) return Number.NEGATIVE_INFINITY;
  if (x >= 0) {
    const tail = normalSurvival(x);
    return tail === 0 ? 0 : Math.log1p(-tail);
  }
  const z = -x;
  if (z < SERIES_LIMIT) return Math.log(normalCdf(x));
  return -0.5 * z * z - LOG_SQRT_TWO_PI + Math.log(z) - Math.log(millsDenominator(z));
}

/**
 * 1 - Φ(x) = P(Z > x), formed without cancellation (so normalSurvival(8) ≈ 6.2e-16 keeps full
 * relative precision, where 1 - normalCdf(8) would be 0 or noise). Equal to Φ(-x).
 */
export function normalSurvival(x: number): number {
  if (Number.isNaN(x)) throw new RangeError('normalSurvival needs a number, got NaN');
  return normalCdf(-x);
}

/**
 * The p-quantile Φ⁻¹(p) of the standard normal distribution: the x with Φ(x) = p, for p in
 * [0, 1] (p = 0 and 1 give -Infinity and +Infinity).
 *
 * Lower half p <= 1/2: start from the rational approximation of Abramowitz & Stegun 26.2.23
 * (Hastings 1955; |error| < 4.5e-4)
 *   t = √(-2 ln p),  x₀ = -(t - (c₀ + c₁t + c₂t²)/(1 + d₁t + d₂t² + d₃t³)),
 * then refine with Halley's method on Φ(x) - p: with u = (Φ(x) - p)/φ(x) (Newton's step) and
 * φ'(x)/φ(x) = -x, the Halley step is x ← x - u/(1 + x·u/2). Convergence is cubic, so two or
 * three steps reach double precision from x₀; because Φ and φ keep relative precision in the
 * tail, so does the result (p = 1e-300 is solved as accurately as p = 0.1). Upper half: the
 * symmetry Φ⁻¹(p) = -Φ⁻¹(1 - p), where 1 - p is exact for p >= 1/2 (Sterbenz's lemma).
 */
export function normalQuantile(p: number): number {
  if (!(p >= 0 && p <= 1)) throw new RangeError(`normalQuantile needs p in [0, 1], got ${p}`);
  if (p === 0) return Number.NEGATIVE_INFINITY;
  if (p === 1) return Number.POSITIVE_INFINITY;
  if (p === 0.5) return 0;
  return p < 0.5 ? lowerQuantile(p) : -lowerQuantile(1 - p);
}

const HALLEY_MAX_STEPS = 20;

function lowerQuantile(p: number): number {
  const t = Math.sqrt(-2 * Math.log(p));
  let x = -(
    t -
    (2.515517 + t * (0.802853 + t * 0.010328)) /
      (1 + t * (1.432788 + t * (0.189269 + t * 0.001308)))
  );
  for (let step = 0; step < HALLEY_MAX_STEPS; step += 1) {
    const density = normalPdf(x);
    if (!(density > 0)) break; // p at the subnormal limit: x₀ is as good as it gets.
    const newton = (normalCdf(x) - p) / density;
    const next = x - newton / (1 + 0.5 * x * newton);
    const change = Math.abs(next - x);
    x = next;
    if (change <= 1e-15 * Math.abs(x)) break;
  }
  return x;
}

/** Σ_{n>=0} z^{2n+1} / (2n+1)!! for 0 <= z < 2 (A&S 26.2.11). */
function centralSeries(z: number): number {
  const zSquared = z * z;
  let term = z;
  let sum = z;
  for (let n = 1; n < MAX_TERMS; n += 1) {
    term *= zSquared / (2 * n + 1);
    sum += term;
    if (term <= SERIES_TOLERANCE * sum) break;
  }
  return sum;
}

/** 1 - Φ(z) = φ(z) R(z) for z >= 2, R by the contracted Laplace continued fraction. */
function upperTail(z: number): number {
  if (z > TAIL_UNDERFLOW) return 0;
  return (normalPdf(z) * z) / millsDenominator(z);
}

/**
 * The denominator D of R(z) = z/D, D = z² + 1 - 1·2/(z² + 5 - 3·4/(z² + 9 - ...)), by the
 * modified Lentz method: f₀ = b₀, C₀ = f₀, D₀ = 0; then D_k = 1/(b_k + a_k D_{k-1}),
 * C_k = b_k + a_k/C_{k-1}, f_k = f_{k-1} C_k D_k until C_k D_k is 1 to within the tolerance.
 */
function millsDenominator(z: number): number {
  const zSquared = z * z;
  let value = zSquared + 1;
  let c = value;
  let d = 0;
  for (let k = 1; k < MAX_TERMS; k += 1) {
    const numerator = -(2 * k - 1) * (2 * k);
    const denominator = zSquared + 4 * k + 1;
    d = denominator + numerator * d;
    if (Math.abs(d) < LENTZ_TINY) d = LENTZ_TINY;
    d = 1 / d;
    c = denominator + numerator / c;
    if (Math.abs(c) < LENTZ_TINY) c = LENTZ_TINY;
    const delta = c * d;
    value *= delta;
    if (Math.abs(delta - 1) < FRACTION_TOLERANCE) break;
  }
  return value;
}
