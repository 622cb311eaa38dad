// P(arm k is best) for independent Beta posteriors — the propensity of Thompson sampling.
//
// Thompson sampling (Thompson 1933) draws θ_j ~ Beta(α_j, β_j) for every arm and plays the
// argmax, so it plays arm k with probability exactly
//
//   P(k best) = P(θ_k > θ_j for all j ≠ k) = ∫₀¹ f_k(x) ∏_{j≠k} F_j(x) dx,        (1)
//
// where f and F are the Beta density and CDF. This module evaluates (1) by quadrature, for
// every arm at once, accurately for posteriors from Beta(1, 1) up to parameters ~10^6.
//
// Integration range. Let ε = 1e-12 and L_j, U_j the ε and 1-ε quantiles of arm j. The maximum
// of all draws lies in [x_lo, x_hi] = [max_j L_j, max_j U_j] except with probability O(Kε):
// below x_lo the arm j* attaining the max L has F_{j*} ≤ ε, so every integrand in (1) is
// bounded by ε there; above x_hi every f_k has tail mass ≤ ε. Arms with U_j ≤ x_lo are
// "never best" (P ≤ ε) and drop out; their F_j ≥ 1 - ε on the range, so they also drop out of
// the products. Working on [x_lo, x_hi] rather than [0, 1] is what keeps concentrated
// posteriors (widths ~10^-4) resolvable.
//
// Panels. The range is cut into panels, each integrated with an n-point Gauss–Legendre rule.
// A panel may be at most c·sd_j wide while it overlaps arm j's range (c = 1/2), so every
// density and every CDF step is resolved; near 0 (or 1) an arm whose sd exceeds the distance
// to the boundary also forces geometric panels [t, (1 + r) t], which keeps x^(α-1) shapes
// with α < 1 smooth on each panel.
//
// CDFs without a continued fraction per node. With shared nodes, (1) needs F_j at every
// node for every arm. Evaluating I_x(a, b) there would cost O(sqrt(a)) per node. Instead
// F_j(x_lo) is evaluated once, and F_j is carried across the panels by integrating f_j: on a
// panel the Gauss–Legendre nodes g_q give the polynomial interpolant of f_j, and its exact
// running integral to each node is a fixed matrix S (S_pq = ∫_{-1}^{g_p} ℓ_q(s) ds for the
// Lagrange basis ℓ_q — the spectral integration matrix of collocation methods). Densities
// are cheap (two multiply-adds and one exp, because ln x and ln(1 - x) are shared by all arms),
// so the whole evaluation costs O(K · nodes).
//
// Products in log space. At each node, ln ∏_{j≠k} F_j = Σ_j ln F_j - ln F_k, with the arms
// whose F underflows to 0 counted separately (two or more zeros: every product is 0; exactly
// one zero at arm z: only arm z's product is non-zero). This is O(K) per node instead of
// O(K²), and never divides by zero.

import { betaLogCdf, betaMean, betaQuantile, betaVariance, logBeta } from './beta-distribution.ts';
import { sampleBeta, type RandomSource } from './random.ts';
import { gaussLegendreRule } from './gauss-legendre.ts';

/** A Beta(alpha, beta) posterior. */
export interface BetaArm {
  readonly alpha: number;
  readonly beta: number;
}

/** Tail mass ignored at each end of each arm (total error O(K · TAIL_MASS)). */
const TAIL_MASS = 1e-12;
/** Gauss–Legendre nodes per panel (exact for polynomials of degree 2n - 1). */
const NODES_PER_PANEL = 8;
/** Panel width limit as a fraction of the standard deviation of every overlapping arm. */
const WIDTH_PER_SD = 0.5;
/** Geometric growth of panels near 0 or 1: [t, (1 + r) t]. */
const BOUNDARY_RATIO = 0.5;

const RULE = gaussLegendreRule(NODES_PER_PANEL);

/**
 * P(arm k has the largest draw) for independent Beta arms, i.e. the probability that
 * Thompson sampling picks arm k. Non-negative, sums to 1; absolute error well below 1e-4
 * per arm for parameters from ~1 to ~10^6. Identical arms get identical shares.
 */
export function computeProbabilityBest(arms: readonly BetaArm[]): number[] {
  for (const arm of arms) assertArm(arm);
  const armCount = arms.length;
  if (armCount === 0) return [];
  if (armCount === 1) return [1];

  const lower = arms.map((arm) => betaQuantile(TAIL_MASS, arm.alpha, arm.beta));
  const upper = arms.map((arm) => betaQuantile(1 - TAIL_MASS, arm.alpha, arm.beta));
  const rangeStart = Math.max(...lower);
  const rangeEnd = Math.max(...upper);

  // Arms whose upper end does not pass the start of the range can (almost) never be best.
  const contenders: number[] = [];
  for (let j = 0; j < armCount; j += 1) {
    if ((upper[j] ?? 0) > rangeStart) contenders.push(j);
  }
  const result: number[] = new Array<number>(armCount).fill(0);
  if (contenders.length === 1) {
    result[contenders[0] ?? 0] = 1;
    return result;
  }
  if (!(rangeEnd > rangeStart)) {
    // Every contender's range has collapsed to one floating-point number: they are tied.
    for (const j of contenders) result[j] = 1 / contenders.length;
    return result;
  }

  const selected = contenders.map((j) => {
    const arm = arms[j];
    if (arm === undefined) throw new RangeError(`no arm ${j}`); // unreachable: j < armCount
    return {
      index: j,
      alpha: arm.alpha,
      beta: arm.beta,
      logNormaliser: logBeta(arm.alpha, arm.beta),
      sd: Math.sqrt(betaVariance(arm.alpha, arm.beta)),
      upper: upper[j] ?? 1,
    };
  });
  const breakpoints = planPanels(rangeStart, rangeEnd, selected);
  const totals = integrateProbabilityBest(rangeStart, breakpoints, selected);

  let sum = 0;
  for (const value of totals) sum += value;
  if (!(sum > 0)) {
    // Unreachable for valid input; fall back to the ordering by mean rather than NaN.
    const best = selected.reduce((a, b) =>
      betaMean(b.alpha, b.beta) > betaMean(a.alpha, a.beta) ? b : a,
    );
    result[best.index] = 1;
    return result;
  }
  selected.forEach((arm, c) => {
    result[arm.index] = Math.max(0, totals[c] ?? 0) / sum;
  });
  return result;
}

/**
 * Reference estimate of P(k best) by plain Thompson sampling: `draws` independent rounds of
 * one Beta draw per arm, counting how often each arm has the largest draw. Its standard error
 * is sqrt(p(1-p)/draws); tests use it to check computeProbabilityBest.
 */
export function estimateProbabilityBestByMonteCarlo(
  arms: readonly BetaArm[],
  draws: number,
  random: RandomSource,
): number[] {
  for (const arm of arms) assertArm(arm);
  if (!(Number.isSafeInteger(draws) && draws > 0)) {
    throw new RangeError(`draws must be a positive integer, got ${draws}`);
  }
  const wins = new Array<number>(arms.length).fill(0);
  if (arms.length === 0) return wins;
  for (let round = 0; round < draws; round += 1) {
    let best = 0;
    let bestValue = Number.NEGATIVE_INFINITY;
    arms.forEach((arm, j) => {
      const value = sampleBeta(arm.alpha, arm.beta, random);
      if (value > bestValue) {
        bestValue = value;
        best = j;
      }
    });
    wins[best] = (wins[best] ?? 0) + 1;
  }
  return wins.map((count) => count / draws);
}

interface SelectedArm {
  readonly index: number;
  readonly alpha: number;
  readonly beta: number;
  readonly logNormaliser: number;
  readonly sd: number;
  readonly upper: number;
}

/**
 * Panel breakpoints after `start`, ending at `end`. Each step takes the narrowest width asked
 * for by the arms still active at t (those whose upper quantile lies beyond t).
 */
function planPanels(start: number, end: number, arms: readonly SelectedArm[]): number[] {
  const breakpoints: number[] = [];
  let t = start;
  while (t < end) {
    let width = end - t;
    for (const arm of arms) {
      if (arm.upper <= t) continue;
      let armWidth = WIDTH_PER_SD * arm.sd;
      if (t < arm.sd) armWidth = Math.min(armWidth, BOUNDARY_RATIO * t);
      if (1 - t < arm.sd) armWidth = Math.min(armWidth, BOUNDARY_RATIO * (1 - t));
      width = Math.min(width, armWidth);
    }
    // Always make progress, even at the resolution limit of doubles.
    width = Math.max(width, 4 * Number.EPSILON * t, Number.MIN_VALUE);
    let next = t + width;
    // Do not leave a sliver panel at the end.
    if (next >= end || end - next < 0.25 * width) next = end;
    breakpoints.push(next);
    t = next;
  }
  return breakpoints;
}

/**
 * Accumulates ∫ f_k ∏_{j≠k} F_j over the panels for every selected arm (unnormalised).
 */
function integrateProbabilityBest(
  start: number,
  breakpoints: readonly number[],
  arms: readonly SelectedArm[],
): Float64Array {
  const n = RULE.nodes.length;
  const count = arms.length;
  const alphaMinusOne = new Float64Array(count);
  const betaMinusOne = new Float64Array(count);
  const logNormaliser = new Float64Array(count);
  const cdfAtPanelStart = new Float64Array(count);
  arms.forEach((arm, c) => {
    alphaMinusOne[c] = arm.alpha - 1;
    betaMinusOne[c] = arm.beta - 1;
    logNormaliser[c] = arm.logNormaliser;
    cdfAtPanelStart[c] = Math.exp(betaLogCdf(start, arm.alpha, arm.beta));
  });

  const totals = new Float64Array(count);
  const density = new Float64Array(count * n);
  const logCdf = new Float64Array(count * n);
  const logX = new Float64Array(n);
  const logOneMinusX = new Float64Array(n);
  const inside = new Uint8Array(n);
  const { nodes, weights, running: cumulative } = RULE;

  let panelStart = start;
  for (const panelEnd of breakpoints) {
    const halfWidth = 0.5 * (panelEnd - panelStart);
    const middle = 0.5 * (panelEnd + panelStart);
    panelStart = panelEnd;
    for (let q = 0; q < n; q += 1) {
      const x = middle + halfWidth * (nodes[q] ?? 0);
      // A node can round onto 0 or 1 only on panels narrower than a few ulps; skip it.
      inside[q] = x > 0 && x < 1 ? 1 : 0;
      logX[q] = Math.log(x);
      logOneMinusX[q] = Math.log1p(-x);
    }

    for (let c = 0; c < count; c += 1) {
      const am1 = alphaMinusOne[c] ?? 0;
      const bm1 = betaMinusOne[c] ?? 0;
      const logB = logNormaliser[c] ?? 0;
      const offset = c * n;
      let panelMass = 0;
      for (let q = 0; q < n; q += 1) {
        let value = 0;
        if (inside[q] === 1) {
          const left = am1 === 0 ? 0 : am1 * (logX[q] ?? 0);
          const right = bm1 === 0 ? 0 : bm1 * (logOneMinusX[q] ?? 0);
          value = Math.exp(left + right - logB);
        }
        density[offset + q] = value;
        panelMass += (weights[q] ?? 0) * value;
      }
      const base = cdfAtPanelStart[c] ?? 0;
      for (let q = 0; q < n; q += 1) {
        let running = 0;
        const row = q * n;
        for (let r = 0; r < n; r += 1)
          running += (cumulative[row + r] ?? 0) * (density[offset + r] ?? 0);
        const cdf = Math.min(1, Math.max(0, base + halfWidth * running));
        logCdf[offset + q] = Math.log(cdf);
      }
      cdfAtPanelStart[c] = Math.min(1, base + halfWidth * panelMass);
    }

    for (let q = 0; q < n; q += 1) {
      const weight = halfWidth * (weights[q] ?? 0);
      let logSum = 0;
      let zeroCount = 0;
      let zeroArm = -1;
      for (let c = 0; c < count; c += 1) {
        const value = logCdf[c * n + q] ?? 0;
        if (value === Number.NEGATIVE_INFINITY) {
          zeroCount += 1;
          zeroArm = c;
        } else {
          logSum += value;
        }
      }
      if (zeroCount >= 2) continue;
      if (zeroCount === 1) {
        totals[zeroArm] =
          (totals[zeroArm] ?? 0) + weight * (density[zeroArm * n + q] ?? 0) * Math.exp(logSum);
        continue;
      }
      for (let c = 0; c < count; c += 1) {
        const others = Math.exp(logSum - (logCdf[c * n + q] ?? 0));
        totals[c] = (totals[c] ?? 0) + weight * (density[c * n + q] ?? 0) * others;
      }
    }
  }
  return totals;
}

function assertArm(arm: BetaArm): void {
  if (!(Number.isFinite(arm.alpha) && arm.alpha > 0 && Number.isFinite(arm.beta) && arm.beta > 0)) {
    throw new RangeError(`arm parameters must be finite and > 0, got (${arm.alpha}, ${arm.beta})`);
  }
}
