// Gauss–Legendre quadrature on panels (shared by P(best), expected loss and the canary rule), with the running-integral ("spectral integration")
// matrix that lets a CDF be carried across panels from density values alone.

/**
 * An n-point Gauss–Legendre rule on [-1, 1] together with its running-integral matrix.
 *
 * Nodes g_0 < … < g_{n-1} are the roots of the Legendre polynomial P_n and the weights are
 * w_i = 2 / ((1 - g_i²) P_n'(g_i)²) (Abramowitz & Stegun 25.4.29); the rule integrates
 * polynomials of degree 2n - 1 exactly.
 *
 * running[p·n + q] = ∫_{-1}^{g_p} ℓ_q(s) ds, where ℓ_q is the Lagrange basis polynomial of the
 * nodes (ℓ_q(g_r) = [q = r]). For a smooth f, Σ_q running[p·n + q] f(g_q) is the integral of
 * the interpolant of f from -1 to g_p, i.e. ∫_{-1}^{g_p} f up to the interpolation error (the
 * integration matrix of collocation/spectral methods; Trefethen, "Spectral Methods in MATLAB",
 * and Greengard 1991, "Spectral integration and two-point boundary value problems").
 */
export interface GaussLegendreRule {
  readonly size: number;
  readonly nodes: Float64Array;
  readonly weights: Float64Array;
  readonly running: Float64Array;
}

/**
 * Builds the n-point rule. Each root of P_n is found by Newton's method from Tricomi's
 * asymptotic estimate cos(π(4i + 3)/(4n + 2)) (A&S 22.16.6 gives the classical bounds), with
 * P_n and P_n' from Bonnet's recurrence k P_k(x) = (2k - 1) x P_{k-1}(x) - (k - 1) P_{k-2}(x)
 * and (x² - 1) P_n'(x) = n (x P_n(x) - P_{n-1}(x)).
 *
 * The running matrix integrates the degree-(n - 1) polynomial ℓ_q over [-1, g_p] with the same
 * rule mapped onto that interval, which is exact.
 */
export function gaussLegendreRule(n: number): GaussLegendreRule {
  if (!(Number.isSafeInteger(n) && n >= 1 && n <= 64)) {
    throw new RangeError(`gaussLegendreRule needs an integer size in [1, 64], got ${n}`);
  }
  const nodes = new Float64Array(n);
  const weights = new Float64Array(n);
  for (let i = 0; i < n; i += 1) {
    let x = Math.cos((Math.PI * (4 * i + 3)) / (4 * n + 2));
    let slope = 1;
    for (let iteration = 0; iteration < 50; iteration += 1) {
      const { value, previous } = legendre(n, x);
      slope = (n * (x * value - previous)) / (x * x - 1);
      const step = value / slope;
      x -= step;
      if (Math.abs(step) <= 1e-17) break;
    }
    const { value, previous } = legendre(n, x);
    slope = (n * (x * value - previous)) / (x * x - 1);
    // The estimates decrease with i; store the rule in ascending order.
    nodes[n - 1 - i] = x;
    weights[n - 1 - i] = 2 / ((1 - x * x) * slope * slope);
  }

  const basis = (q: number, s: number): number => {
    const gq = nodes[q] ?? 0;
    let product = 1;
    for (let r = 0; r < n; r += 1) {
      if (r === q) continue;
      const gr = nodes[r] ?? 0;
      product *= (s - gr) / (gq - gr);
    }
    return product;
  };
  const running = new Float64Array(n * n);
  for (let p = 0; p < n; p += 1) {
    // [-1, g_p] = centre ± half.
    const half = 0.5 * ((nodes[p] ?? 0) + 1);
    const centre = -1 + half;
    for (let q = 0; q < n; q += 1) {
      let integral = 0;
      for (let r = 0; r < n; r += 1) {
        integral += (weights[r] ?? 0) * basis(q, centre + half * (nodes[r] ?? 0));
      }
      running[p * n + q] = half * integral;
    }
  }
  return { size: n, nodes, weights, running };
}

/** P_n(x) and P_{n-1}(x) by Bonnet's recurrence. */
function legendre(n: number, x: number): { value: number; previous: number } {
  let previous = 1;
  let value = x;
  if (n === 0) return { value: 1, previous: 0 };
  for (let k = 2; k <= n; k += 1) {
    const next = ((2 * k - 1) * x * value - (k - 1) * previous) / k;
    previous = value;
    value = next;
  }
  return { value, previous };
}
