// The beta distribution: log-gamma, density, CDF (regularised incomplete beta) and quantile.
//
// The bandit's posteriors are Beta(prior.alpha + successes, prior.beta + failures), and real
// traffic makes both parameters large (10^5–10^6), so everything here is written to stay
// accurate there: densities and CDF prefactors are formed in log space, and ln B(a, b) avoids
// the catastrophic cancellation of ln Γ(a) + ln Γ(b) - ln Γ(a + b) between numbers ~10^7.

const HALF_LOG_TWO_PI = 0.5 * Math.log(2 * Math.PI);

/**
 * Lanczos coefficients for g = 7, n = 9 (Godfrey's set, as popularised by Numerical Recipes
 * and Press et al.); relative error of Γ below 1e-15 for positive arguments.
 */
const LANCZOS_G = 7;
const LANCZOS_COEFFICIENTS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
  -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6,
  1.5056327351493116e-7,
] as const;

/** Above this, ln B uses Stirling's series (see logBeta). */
const STIRLING_THRESHOLD = 10;

/** Lentz's method: a tiny number that replaces exact zeros, and the stopping tolerance. */
const LENTZ_TINY = 1e-300;
const LENTZ_EPSILON = 1e-15;

/**
 * ln Γ(x) for x > 0 by the Lanczos approximation (Lanczos 1964):
 * Γ(x + 1) ≈ sqrt(2π) (x + g + 1/2)^(x + 1/2) e^-(x + g + 1/2) A_g(x),
 * with the reflection formula Γ(x) Γ(1 - x) = π / sin(πx) below 1/2, where the series is
 * less accurate.
 */
export function logGamma(x: number): number {
  if (!(Number.isFinite(x) && x > 0)) {
    throw new RangeError(`logGamma needs a finite x > 0, got ${x}`);
  }
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const shifted = x - 1;
  let series = LANCZOS_COEFFICIENTS[0];
  for (let i = 1; i < LANCZOS_COEFFICIENTS.length; i += 1) {
    series += (LANCZOS_COEFFICIENTS[i] ?? 0) / (shifted + i);
  }
  const t = shifted + LANCZOS_G + 0.5;
  return HALF_LOG_TWO_PI + (shifted + 0.5) * Math.log(t) - t + Math.log(series);
}

/**
 * ln B(a, b) = ln Γ(a) + ln Γ(b) - ln Γ(a + b).
 *
 * For large arguments the three log-gammas are ~10^7 while their combination is ~10, so the
 * direct sum loses ~9 digits. Instead Stirling's series ln Γ(x) = (x - 1/2) ln x - x +
 * ln(2π)/2 + ω(x) is substituted and the large terms are cancelled algebraically
 * (DLMF 5.11.1; the same idea as the "algdiv" reduction in DiDonato & Morris 1992, TOMS 708):
 *   both a, b large:  ln B = (a - 1/2) ln(a/(a+b)) + (b - 1/2) ln(b/(a+b)) - ln(a+b)/2
 *                            + ln(2π)/2 + ω(a) + ω(b) - ω(a+b)
 *   only l = max large, s = min:
 *                     ln B = ln Γ(s) - (l - 1/2) ln(1 + s/l) - s ln(s + l) + s + ω(l) - ω(s+l)
 */
export function logBeta(a: number, b: number): number {
  assertShapes(a, b);
  const small = Math.min(a, b);
  const large = Math.max(a, b);
  if (small >= STIRLING_THRESHOLD) {
    const total = a + b;
    return (
      -(a - 0.5) * Math.log1p(b / a) -
      (b - 0.5) * Math.log1p(a / b) -
      0.5 * Math.log(total) +
      HALF_LOG_TWO_PI +
      stirlingRemainder(a) +
      stirlingRemainder(b) -
      stirlingRemainder(total)
    );
  }
  if (large >= STIRLING_THRESHOLD) {
    const total = small + large;
    return (
      logGamma(small) -
      (large - 0.5) * Math.log1p(small / large) -
      small * Math.log(total) +
      small +
      stirlingRemainder(large) -
      stirlingRemainder(total)
    );
  }
  return logGamma(a) + logGamma(b) - logGamma(a + b);
}

/**
 * ω(x) = ln Γ(x) - [(x - 1/2) ln x - x + ln(2π)/2], by its asymptotic series
 * Σ B_2k / (2k (2k - 1) x^(2k-1)) (DLMF 5.11.1). Five terms give ~1e-14 at x = 10.
 */
function stirlingRemainder(x: number): number {
  const inverse = 1 / x;
  const inverseSquared = inverse * inverse;
  return (
    inverse *
    (1 / 12 -
      inverseSquared *
        (1 / 360 -
          inverseSquared * (1 / 1260 - inverseSquared * (1 / 1680 - inverseSquared / 1188))))
  );
}

/** ln of the Beta(a, b) density at x; -Infinity outside [0, 1]. */
export function betaLogPdf(x: number, a: number, b: number): number {
  assertShapes(a, b);
  if (!(x >= 0 && x <= 1)) return Number.NEGATIVE_INFINITY;
  if (x > 0 && x < 1) return logBetaKernel(x, a, b) - Math.log(x) - Math.log1p(-x);
  // At the end points, (a - 1) ln x is written so that a = 1 at x = 0 gives 0, not
  // 0 · -Infinity = NaN.
  const left = a === 1 ? 0 : (a - 1) * Math.log(x);
  const right = b === 1 ? 0 : (b - 1) * Math.log1p(-x);
  return left + right - logBeta(a, b);
}

/**
 * ln[x^a (1-x)^b / B(a, b)] for x in (0, 1): the common factor of the density and of the
 * incomplete-beta continued fraction.
 *
 * For large a and b the direct form a ln x + b ln(1-x) - ln B(a, b) subtracts numbers ~10^6
 * to get O(1), losing ~10 digits. Around the mean x0 = a/(a+b), y0 = 1 - x0, write
 * x = x0 (1 + u) and 1 - x = y0 (1 + v); since a·u + b·v = 0 exactly, substituting Stirling's
 * form of ln B (see logBeta) leaves only small terms (the idea of DiDonato & Morris's
 * "brcomp", TOMS 708):
 *   a (ln(1+u) - u) + b (ln(1+v) - v) + ln(ab/(a+b))/2 - ln(2π)/2 - ω(a) - ω(b) + ω(a+b).
 */
function logBetaKernel(x: number, a: number, b: number): number {
  if (Math.min(a, b) < STIRLING_THRESHOLD) {
    return a * Math.log(x) + b * Math.log1p(-x) - logBeta(a, b);
  }
  const total = a + b;
  const x0 = a / total;
  const y0 = b / total;
  const u = (x - x0) / x0;
  const v = (x0 - x) / y0;
  return (
    a * (Math.log1p(u) - u) +
    b * (Math.log1p(v) - v) +
    0.5 * Math.log((a * b) / total) -
    HALF_LOG_TWO_PI -
    stirlingRemainder(a) -
    stirlingRemainder(b) +
    stirlingRemainder(total)
  );
}

/**
 * The regularised incomplete beta function I_x(a, b) = B(x; a, b) / B(a, b), i.e. the
 * Beta(a, b) CDF at x in [0, 1].
 *
 * Uses the continued fraction of A&S 26.5.8 (I_x = x^a (1-x)^b / (a B(a,b)) · 1/(1+ d1/(1+
 * d2/(1+ ...)))), evaluated by the modified Lentz method (Lentz 1976; Thompson & Barnett
 * 1986) as in Numerical Recipes §6.4. The fraction converges quickly for x < (a+1)/(a+b+2);
 * above that point the symmetry I_x(a, b) = 1 - I_{1-x}(b, a) is used instead.
 */
export function regularizedIncompleteBeta(x: number, a: number, b: number): number {
  assertShapes(a, b);
  if (!(x >= 0 && x <= 1)) {
    throw new RangeError(`regularizedIncompleteBeta needs x in [0, 1], got ${x}`);
  }
  if (x === 0) return 0;
  if (x === 1) return 1;
  const logPrefactor = logBetaKernel(x, a, b);
  if (x < (a + 1) / (a + b + 2)) {
    return Math.exp(logPrefactor) * (evaluateIncompleteBetaFraction(x, a, b) / a);
  }
  return 1 - Math.exp(logPrefactor) * (evaluateIncompleteBetaFraction(1 - x, b, a) / b);
}

/** The Beta(a, b) CDF at any real x (0 below the support, 1 above it). */
export function betaCdf(x: number, a: number, b: number): number {
  if (Number.isNaN(x)) throw new RangeError('betaCdf needs a number, got NaN');
  if (x <= 0) {
    assertShapes(a, b);
    return 0;
  }
  if (x >= 1) {
    assertShapes(a, b);
    return 1;
  }
  return regularizedIncompleteBeta(x, a, b);
}

/**
 * ln of the Beta(a, b) CDF at x in (0, 1), accurate in the far lower tail where the CDF
 * itself would underflow (the continued fraction is combined with the prefactor in logs).
 */
export function betaLogCdf(x: number, a: number, b: number): number {
  assertShapes(a, b);
  if (!(x > 0)) return Number.NEGATIVE_INFINITY;
  if (x >= 1) return 0;
  const logPrefactor = logBetaKernel(x, a, b);
  if (x < (a + 1) / (a + b + 2)) {
    return logPrefactor + Math.log(evaluateIncompleteBetaFraction(x, a, b) / a);
  }
  const upper = Math.exp(logPrefactor) * (evaluateIncompleteBetaFraction(1 - x, b, a) / b);
  return Math.log1p(-upper);
}

/** Mean of Beta(a, b). */
export function betaMean(a: number, b: number): number {
  assertShapes(a, b);
  return a / (a + b);
}

/** Variance of Beta(a, b): ab / ((a+b)^2 (a+b+1)). */
export function betaVariance(a: number, b: number): number {
  assertShapes(a, b);
  const total = a + b;
  return (a * b) / (total * total * (total + 1));
}

/**
 * The p-quantile of Beta(a, b): the x with I_x(a, b) = p.
 *
 * Lower half (p <= 1/2): safeguarded Newton on g(u) = ln I_{e^u}(a, b) - ln p in u = ln x.
 * In these coordinates the lower tail is nearly linear (I_x ~ x^a / (a B(a,b)) as x -> 0),
 * so tail quantiles such as p = 1e-12 converge in a few steps, and a bracket [lo, hi] with
 * bisection catches any step that leaves it. Upper half: the mirror identity
 * Q_p(a, b) = 1 - Q_{1-p}(b, a), which keeps the solved tail probability small (1 - p is
 * exact in floating point for p >= 1/2).
 */
export function betaQuantile(p: number, a: number, b: number): number {
  assertShapes(a, b);
  if (!(p >= 0 && p <= 1)) throw new RangeError(`betaQuantile needs p in [0, 1], got ${p}`);
  if (p === 0) return 0;
  if (p === 1) return 1;
  if (p <= 0.5) return solveLowerQuantile(Math.log(p), p, a, b);
  return 1 - solveLowerQuantile(Math.log(1 - p), 1 - p, b, a);
}

const QUANTILE_MAX_ITERATIONS = 200;
/** Stop when ln I_x is this close to ln p (relative error of p about 1e-13). */
const QUANTILE_LOG_TOLERANCE = 1e-13;

function solveLowerQuantile(logP: number, p: number, a: number, b: number): number {
  let x = guessLowerQuantile(logP, p, a, b);
  let lo = 0;
  let hi = 1;
  for (let iteration = 0; iteration < QUANTILE_MAX_ITERATIONS; iteration += 1) {
    const logCdf = betaLogCdf(x, a, b);
    const residual = logCdf - logP;
    if (Math.abs(residual) <= QUANTILE_LOG_TOLERANCE) return x;
    if (residual > 0) hi = x;
    else lo = x;
    // d/du ln I_{e^u} = x f(x) / I_x(a, b), all in logs.
    const slope = Math.exp(Math.log(x) + betaLogPdf(x, a, b) - logCdf);
    let next = x * Math.exp(-residual / slope);
    if (!(next > lo && next < hi)) {
      // Newton left the bracket (or the slope was not usable): bisect, geometrically while
      // the bracket spans orders of magnitude.
      if (lo === 0) next = hi / 16;
      else if (hi > 4 * lo) next = Math.sqrt(lo * hi);
      else next = 0.5 * (lo + hi);
    }
    // Steps of about one ulp cannot improve x any further.
    if (Math.abs(next - x) <= Number.EPSILON * next) return next;
    x = next;
  }
  return x;
}

/**
 * Starting point for the quantile solver: the normal approximation mean + z·sd, with z from
 * Abramowitz & Stegun 26.2.23 (|error| < 4.5e-4); when that falls outside (0, 1) (skewed
 * shapes), the small-x tail form I_x ≈ x^a / (a B(a, b)) solved for x.
 */
function guessLowerQuantile(logP: number, p: number, a: number, b: number): number {
  const t = Math.sqrt(-2 * Math.log(p));
  const z = -(
    t -
    (2.515517 + 0.802853 * t + 0.010328 * t * t) /
      (1 + 1.432788 * t + 0.189269 * t * t + 0.001308 * t * t * t)
  );
  const guess = betaMean(a, b) + z * Math.sqrt(betaVariance(a, b));
  if (guess > 0 && guess < 1) return guess;
  const tail = Math.exp((logP + Math.log(a) + logBeta(a, b)) / a);
  return tail > 0 && tail < 1 ? tail : 0.5;
}

/**
 * The continued fraction of A&S 26.5.8 by modified Lentz: with m = 1, 2, ...,
 *   d_{2m}   =  m (b - m) x / ((a + 2m - 1)(a + 2m))
 *   d_{2m+1} = -(a + m)(a + b + m) x / ((a + 2m)(a + 2m + 1))
 * The iteration cap grows with sqrt(max(a, b)), the worst-case convergence rate.
 */
function evaluateIncompleteBetaFraction(x: number, a: number, b: number): number {
  const maxIterations = 100 + Math.ceil(20 * Math.sqrt(Math.max(a, b)));
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < LENTZ_TINY) d = LENTZ_TINY;
  d = 1 / d;
  let fraction = d;
  for (let m = 1; m <= maxIterations; m += 1) {
    const twoM = 2 * m;
    const even = (m * (b - m) * x) / ((a + twoM - 1) * (a + twoM));
    d = 1 + even * d;
    if (Math.abs(d) < LENTZ_TINY) d = LENTZ_TINY;
    c = 1 + even / c;
    if (Math.abs(c) < LENTZ_TINY) c = LENTZ_TINY;
    d = 1 / d;
    fraction *= d * c;
    const odd = (-(a + m) * (a + b + m) * x) / ((a + twoM) * (a + twoM + 1));
    d = 1 + odd * d;
    if (Math.abs(d) < LENTZ_TINY) d = LENTZ_TINY;
    c = 1 + odd / c;
    if (Math.abs(c) < LENTZ_TINY) c = LENTZ_TINY;
    d = 1 / d;
    const delta = d * c;
    fraction *= delta;
    if (Math.abs(delta - 1) < LENTZ_EPSILON) return fraction;
  }
  return fraction;
}

function assertShapes(a: number, b: number): void {
  if (!(Number.isFinite(a) && a > 0 && Number.isFinite(b) && b > 0)) {
    throw new RangeError(`beta parameters must be finite and > 0, got (${a}, ${b})`);
  }
}
