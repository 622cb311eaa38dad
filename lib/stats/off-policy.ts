// Off-policy evaluation: what another policy would have earned, estimated from the decisions the
// logging policy made, their logged propensities and the rewards they got. Pure.
//
// Decision i chose variant a_i with probability p_i under the allocation live then and earned r_i.
// A target policy π (a fixed distribution over the variants; dynab's decisions have no context
// beyond the experiment) has value V(π) = Σ_a π(a) μ(a). With importance weights w_i = π(a_i)/p_i:
//   IPS    V̂ = (1/n) Σ w_i r_i                      (Horvitz & Thompson 1952; unbiased)
//   SNIPS  V̂ = Σ w_i r_i / Σ w_i                    (Swaminathan & Joachims 2015; bounded, small bias)
//   DR     V̂ = (1/n) Σ [ Σ_a π(a) q̂(a) + w_i (r_i − q̂(a_i)) ]  (Dudík, Langford & Li 2011)
// where q̂ is the mean reward per variant, cross-fitted over two folds (each decision's q̂ comes
// from the other fold) so the model's error does not correlate with the term it corrects.
// Intervals are Wald intervals from the per-decision terms (for SNIPS by the delta method). With an
// adaptive logging policy the terms are martingale differences, for which the same central limit
// applies (Hadad et al. 2021 discuss when weights grow too large for it: the effective sample size
// below says when). Effective sample size: (Σ w)² / Σ w² (Kong 1992).
//
// Support: the estimators are unbiased only where the logging policy gave positive probability to
// every variant the target policy would play. A decision whose logged allocation gave 0 to such a
// variant (a promotion, a canary at 0, a caller's target variant) makes them miss that part of
// V(π): they are then reported with a support warning.
import { normalQuantile } from '../bandit/normal-distribution.ts';

export interface LoggedDecision {
  readonly variant: string;
  readonly reward: number;
  /** Probability the logging policy gave `variant` at this decision (> 0). */
  readonly propensity: number;
  /**
   * The whole logged distribution, when known (assignments carry it): used for the support check.
   * Empty when unknown; then only the chosen variant is known to have had support.
   */
  readonly allocation: readonly { readonly variant: string; readonly probability: number }[];
}

/** A fixed target policy: probability per variant (summing to 1). */
export type TargetPolicy = ReadonlyMap<string, number>;

export interface Estimate {
  readonly value: number;
  readonly standardError: number;
  readonly lower: number;
  readonly upper: number;
}

export interface OffPolicyReport {
  readonly decisions: number;
  readonly ips: Estimate;
  readonly snips: Estimate;
  readonly doublyRobust: Estimate;
  /** (Σw)²/Σw²: how many on-policy decisions the weighted sample is worth. */
  readonly effectiveSampleSize: number;
  readonly maxWeight: number;
  /** Mean logged reward: the logging policy's own value. */
  readonly loggedValue: number;
  /** Per target variant: decisions whose allocation gave it no probability. */
  readonly unsupported: readonly { readonly variant: string; readonly decisions: number }[];
  readonly warnings: readonly string[];
}

function wald(value: number, standardError: number, z: number): Estimate {
  return {
    value,
    standardError,
    lower: value - z * standardError,
    upper: value + z * standardError,
  };
}

function meanAndStandardError(terms: readonly number[]): { mean: number; se: number } {
  const n = terms.length;
  if (n === 0) return { mean: Number.NaN, se: Number.NaN };
  let sum = 0;
  for (const t of terms) sum += t;
  const mean = sum / n;
  if (n === 1) return { mean, se: Number.POSITIVE_INFINITY };
  let squares = 0;
  for (const t of terms) squares += (t - mean) ** 2;
  return { mean, se: Math.sqrt(squares / (n - 1) / n) };
}

/** Mean reward per variant over the decisions with the given fold parity (cross-fitting). */
function rewardModel(decisions: readonly LoggedDecision[], fold: number): Map<string, number> {
  const sums = new Map<string, { sum: number; n: number }>();
  decisions.forEach((d, i) => {
    if (i % 2 !== fold) return;
    const s = sums.get(d.variant) ?? { sum: 0, n: 0 };
    s.sum += d.reward;
    s.n += 1;
    sums.set(d.variant, s);
  });
  return new Map([...sums].map(([variant, s]) => [variant, s.sum / s.n]));
}

/**
 * IPS, SNIPS and doubly robust estimates of the target policy's value, with (1 − α) intervals,
 * the effective sample size and the support check.
 */
export function evaluateOffPolicy(
  decisions: readonly LoggedDecision[],
  target: TargetPolicy,
  alpha = 0.05,
): OffPolicyReport {
  const z = normalQuantile(1 - alpha / 2);
  const n = decisions.length;
  const weights = decisions.map((d) => (target.get(d.variant) ?? 0) / d.propensity);
  const ipsTerms = decisions.map((d, i) => (weights[i] ?? 0) * d.reward);
  const ips = meanAndStandardError(ipsTerms);

  let sumW = 0;
  let sumW2 = 0;
  let sumWR = 0;
  let maxWeight = 0;
  weights.forEach((w, i) => {
    sumW += w;
    sumW2 += w * w;
    sumWR += ipsTerms[i] ?? 0;
    maxWeight = Math.max(maxWeight, w);
  });
  const snipsValue = sumW > 0 ? sumWR / sumW : Number.NaN;
  // Delta method: Var(ΣwR/Σw) ≈ Σ w_i² (r_i − V̂)² / (Σw)².
  let snipsVar = 0;
  decisions.forEach((d, i) => {
    const w = weights[i] ?? 0;
    snipsVar += w * w * (d.reward - snipsValue) ** 2;
  });
  const snipsSe = sumW > 0 ? Math.sqrt(snipsVar) / sumW : Number.NaN;

  // Doubly robust with a cross-fitted reward model (variants never seen in the other fold: the
  // overall mean of that fold, a neutral guess that the weighted correction then repairs).
  const models = [rewardModel(decisions, 1), rewardModel(decisions, 0)];
  const foldMeans = [0, 1].map((fold) => {
    const m = models[fold] ?? new Map<string, number>();
    const values = [...m.values()];
    return values.length === 0 ? 0 : values.reduce((a, b) => a + b, 0) / values.length;
  });
  const drTerms = decisions.map((d, i) => {
    const fold = i % 2;
    const model = models[fold] ?? new Map<string, number>();
    const fallback = foldMeans[fold] ?? 0;
    const q = (variant: string): number => model.get(variant) ?? fallback;
    let direct = 0;
    for (const [variant, probability] of target) direct += probability * q(variant);
    return direct + (weights[i] ?? 0) * (d.reward - q(d.variant));
  });
  const dr = meanAndStandardError(drTerms);

  const unsupported = [...target]
    .filter(([, probability]) => probability > 0)
    .map(([variant]) => ({
      variant,
      decisions: decisions.filter((d) =>
        d.allocation.length === 0
          ? false
          : !d.allocation.some((a) => a.variant === variant && a.probability > 0),
      ).length,
    }))
    .filter((u) => u.decisions > 0);
  const everChosen = new Set(decisions.map((d) => d.variant));
  const warnings: string[] = [];
  for (const u of unsupported) {
    warnings.push(
      `no support: the logging policy gave ${u.variant} no probability in ${u.decisions} of ${n} decisions, so the estimates miss what the evaluated policy would have earned there (biased)`,
    );
  }
  for (const [variant, probability] of target) {
    if (probability > 0 && !everChosen.has(variant))
      warnings.push(`no data: ${variant} was never chosen in the logged decisions`);
  }
  const ess = sumW2 > 0 ? (sumW * sumW) / sumW2 : 0;
  if (n > 0 && ess < 0.1 * n)
    warnings.push(
      `effective sample size ${ess.toFixed(1)} is under 10% of the ${n} decisions: the weights are very uneven and the intervals unreliable`,
    );
  let logged = 0;
  for (const d of decisions) logged += d.reward;

  return {
    decisions: n,
    ips: wald(ips.mean, ips.se, z),
    snips: wald(snipsValue, snipsSe, z),
    doublyRobust: wald(dr.mean, dr.se, z),
    effectiveSampleSize: ess,
    maxWeight,
    loggedValue: n === 0 ? Number.NaN : logged / n,
    unsupported,
    warnings,
  };
}
