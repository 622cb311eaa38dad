// Canary rollback: the posterior probability that a challenger is worse than the champion by
// more than a margin, P(θ_challenger < θ_champion - m), for independent posteriors.
//
// Beta posteriors. Conditioning on the challenger, with f_c its density and F_h, S_h = 1 - F_h
// the champion's CDF and survival function,
//   P = ∫ f_c(x) P(θ_h > x + m) dx = ∫ f_c(x) S_h(x + m) dx.                                  (1)
// Let [L_c, U_c] be the challenger's ε and 1 - ε quantiles and [L_h, U_h] the champion's
// (ε = 1e-12). Outside [L_c, U_c] the challenger has mass 2ε; for x + m < L_h, S_h is 1 to
// within ε, and for x + m > U_h it is 0 to within ε. So
//   P ≈ F_c(min(U_c, L_h - m)) - F_c(L_c) + ∫_{max(L_c, L_h - m)}^{min(U_c, U_h - m)} f_c S_h(· + m),
// with total error below 3ε. The first part is two exact CDF values; the integral runs over
// panels at most 1/2 sd of either arm wide (geometric near 0 and 1 where an arm's sd exceeds
// the distance to the boundary, as in expected-loss.ts), each by 8-point Gauss–Legendre, with
// S_h evaluated directly as I_{1-y}(β_h, α_h) so that it keeps relative precision near 0.
//
// Normal posteriors. θ_h - θ_c ~ N(μ_h - μ_c, s_h² + s_c²), so
//   P = P(θ_h - θ_c > m) = Φ((μ_h - μ_c - m) / sqrt(s_h² + s_c²)).

import {
  betaCdf,
  betaLogPdf,
  betaQuantile,
  betaVariance,
  regularizedIncompleteBeta,
} from '../bandit/beta-distribution.ts';
import type { BetaPosterior, NormalPosterior } from './expected-loss.ts';
import { normalCdf } from '../bandit/normal-distribution.ts';
import { gaussLegendreRule } from '../bandit/gauss-legendre.ts';

const TAIL_MASS = 1e-12;
const RULE = gaussLegendreRule(8);
const WIDTH_PER_SD = 0.5;
const BOUNDARY_RATIO = 0.5;

/**
 * P(θ_challenger < θ_champion - margin) for independent θ_champion ~ Beta(α_h, β_h) and
 * θ_challenger ~ Beta(α_c, β_c), by (1) (see the header); absolute error ~1e-11. margin may be
 * any finite number (negative margins ask whether the challenger fails to beat the champion by
 * |margin|).
 */
export function probabilityWorseBeta(
  champion: BetaPosterior,
  challenger: BetaPosterior,
  margin: number,
): number {
  assertBeta(champion, 'champion');
  assertBeta(challenger, 'challenger');
  if (!Number.isFinite(margin)) throw new RangeError(`margin must be finite, got ${margin}`);

  const lowC = betaQuantile(TAIL_MASS, challenger.alpha, challenger.beta);
  const highC = betaQuantile(1 - TAIL_MASS, challenger.alpha, challenger.beta);
  const lowH = betaQuantile(TAIL_MASS, champion.alpha, champion.beta);
  const highH = betaQuantile(1 - TAIL_MASS, champion.alpha, champion.beta);
  const cdfC = (x: number): number => betaCdf(x, challenger.alpha, challenger.beta);

  // Where the champion surely lies above x + m, the integrand is the challenger's density.
  const sureEnd = Math.min(highC, lowH - margin);
  let probability = sureEnd > lowC ? cdfC(sureEnd) - cdfC(lowC) : 0;

  const start = Math.max(lowC, lowH - margin);
  const end = Math.min(highC, highH - margin);
  if (end > start) {
    const sdC = Math.sqrt(betaVariance(challenger.alpha, challenger.beta));
    const sdH = Math.sqrt(betaVariance(champion.alpha, champion.beta));
    const survivalH = (y: number): number => {
      if (y <= 0) return 1;
      if (y >= 1) return 0;
      return regularizedIncompleteBeta(1 - y, champion.beta, champion.alpha);
    };
    const { size, nodes, weights } = RULE;
    let t = start;
    while (t < end) {
      let width = Math.min(end - t, WIDTH_PER_SD * sdC, WIDTH_PER_SD * sdH);
      // Geometric panels near the ends of [0, 1], for the challenger at x and the champion at
      // x + m.
      for (const [position, sd] of [
        [t, sdC],
        [t + margin, sdH],
      ] as const) {
        if (position > 0 && position < sd) width = Math.min(width, BOUNDARY_RATIO * position);
        if (position < 1 && 1 - position < sd) {
          width = Math.min(width, (BOUNDARY_RATIO * (1 - position)) / (1 + BOUNDARY_RATIO));
        }
      }
      width = Math.max(width, 4 * Number.EPSILON * Math.abs(t), Number.MIN_VALUE);
      let panelEnd = t + width;
      if (panelEnd >= end || end - panelEnd < 0.25 * width) panelEnd = end;
      const half = 0.5 * (panelEnd - t);
      const centre = 0.5 * (panelEnd + t);
      for (let q = 0; q < size; q += 1) {
        const x = centre + half * (nodes[q] ?? 0);
        if (!(x > 0 && x < 1)) continue;
        const density = Math.exp(betaLogPdf(x, challenger.alpha, challenger.beta));
        probability += half * (weights[q] ?? 0) * density * survivalH(x + margin);
      }
      t = panelEnd;
    }
  }
  return Math.min(1, Math.max(0, probability));
}

/**
 * P(θ_challenger < θ_champion - margin) for independent Normal posteriors:
 * Φ((μ_h - μ_c - m)/sqrt(s_h² + s_c²)) (see the header). With both sds 0 the posteriors are
 * point masses and the answer is 1 or 0.
 */
export function probabilityWorseNormal(
  champion: NormalPosterior,
  challenger: NormalPosterior,
  margin: number,
): number {
  assertNormal(champion, 'champion');
  assertNormal(challenger, 'challenger');
  if (!Number.isFinite(margin)) throw new RangeError(`margin must be finite, got ${margin}`);
  const gap = champion.mean - challenger.mean - margin;
  const sd = Math.hypot(champion.sd, challenger.sd);
  if (sd === 0) return gap > 0 ? 1 : 0;
  return normalCdf(gap / sd);
}

function assertBeta(arm: BetaPosterior, name: string): void {
  if (!(Number.isFinite(arm.alpha) && arm.alpha > 0 && Number.isFinite(arm.beta) && arm.beta > 0)) {
    throw new RangeError(
      `${name}: Beta parameters must be finite and > 0, got (${arm.alpha}, ${arm.beta})`,
    );
  }
}

function assertNormal(arm: NormalPosterior, name: string): void {
  if (!(Number.isFinite(arm.mean) && Number.isFinite(arm.sd) && arm.sd >= 0)) {
    throw new RangeError(
      `${name}: needs a finite mean and a finite sd >= 0, got (${arm.mean}, ${arm.sd})`,
    );
  }
}
