// An exact anytime-valid test of "which of two variants is better" for rewards in [0, 1] when
// every request goes to either variant with probability 1/2: a mixture of likelihood ratios
// against the equal-means point between them, a function of the four totals only.
//
// Setting. Rewarded requests i = 1, 2, … each went to variant A_i ∈ {a, b} with probability 1/2,
// independently of everything before (for two variants, top-two Thompson sampling with β = 1/2
// is exactly this split: β·P(a best) + (1 − β)·P(b best) = 1/2), and which requests are rewarded,
// and when, does not depend on their variant or their reward. A reward r_i in [0, 1] has mean
// μ_a or μ_b given its variant.
//
// One component. For a level ℓ in (0, 1) and an effect Δ > 0 with θ_a = ℓ + Δ/2 and
// θ_b = ℓ − Δ/2 in (0, 1), each rewarded request contributes the factor
//   e_i = (θ_{A_i}/ℓ)^{r_i} · ((1 − θ_{A_i})/(1 − ℓ))^{1 − r_i},
// the likelihood ratio of "a is better by Δ around ℓ" against "both are ℓ". Since c^r ≤ r c +
// (1 − r) for r in [0, 1] (convexity), and the variant is a fair coin given the past,
//   E[e_i | past] ≤ ½ Σ_k [μ_k θ_k/ℓ + (1 − μ_k)(1 − θ_k)/(1 − ℓ)]
//                = 1 + (μ_a − μ_b) · Δ / (4 ℓ (1 − ℓ)),
// which is ≤ 1 whenever μ_a ≤ μ_b, whatever the common level: the product E_t = Π_{i≤t} e_i is a
// non-negative supermartingale with E_0 = 1 under every point of "a is not better". This is the
// argument of Turner, Ly & Grünwald ("Generic E-variables for exact sequential k-sample tests
// that allow for optional stopping", Journal of Statistical Planning and Inference 230, 2024;
// arXiv:2106.02693): the likelihood ratio against the null point at the design-weighted mean of
// the alternative is an e-variable for the whole composite null; here the design is the fair
// coin of each request. The product is
//   ln E_t = s_a ln(θ_a/ℓ) + f_a ln((1 − θ_a)/(1 − ℓ)) + s_b ln(θ_b/ℓ) + f_b ln((1 − θ_b)/(1 − ℓ)),
// with s_k = Σ r and f_k = n_k − s_k over variant k's rewards: the order of the rewards does
// not matter, so the decider needs only the merged totals.
//
// Mixture. A mixture of supermartingales with weights fixed in advance is one too, so
// M^a_t = Σ_j w_j E^{(j)}_t over a grid of (ℓ, Δ) is a test supermartingale under μ_a ≤ μ_b
// (Ramdas, Grünwald, Vovk & Shafer 2023, "Game-theoretic statistics and safe anytime-valid
// inference", Statistical Science, §3). Ville's inequality then gives
//   P(∃ t: M^a_t ≥ 2/δ) ≤ δ/2   whenever μ_a ≤ μ_b,
// at every t at once: it holds however often the totals are read, and at any stopping time.
// The rule stops when M^a_t or M^b_t (the same with the variants swapped) reaches 2/δ and names
// that variant. If a is truly worse, naming it has probability ≤ δ/2; with identical variants
// naming either has probability ≤ δ. The guarantee is exact (no normal approximation, no
// asymptotics) under the setting above; it does not hold for an uneven or adaptive split (for
// those the decider uses the GLR test, lib/stats/glr.ts, which holds under any allocation), nor
// when one variant's rewards arrive more slowly or more rarely than the other's (the decider
// adds a caveat when the rewarded split is uneven beyond chance), nor when requests share a
// user's sticky assignment and that user's rewards are correlated (no test here covers that).
//
// Weights (they set speed, never validity). The level grid is ℓ = logistic(x), x = −7, −6.5, …,
// 7, weighted by the experiment's Beta(α, β) prior (density ℓ^α (1 − ℓ)^β in x): a prior centred
// on the champion's known rate makes the test faster, the default Beta(1, 1) keeps it valid at
// any rate. With a stated minimum detectable effect m, Δ ∈ {m, 1.5m, 2.25m, 3.375m} weighted
// 0.4, 0.3, 0.2, 0.1 (evidence grows fastest near the true gap, and the gaps that matter are
// ≥ m); without one, Δ ∈ {0.0025, 0.005, …, 0.32}, evenly. Components with θ outside (0, 1)
// are left out before the weights are normalised.

/** Totals of one variant: n rewards in [0, 1] summing to `sum`. */
export interface PairArm {
  readonly n: number;
  readonly sum: number;
}

export interface PairDesign {
  /** Probability of naming a variant that is not better (δ/2 each way; δ between equals). */
  readonly delta: number;
  /** The smallest gap in mean reward worth finding, or null when none is stated. */
  readonly minimumDetectableEffect: number | null;
  /** The experiment's Beta prior: where the common level is expected. */
  readonly prior: { readonly alpha: number; readonly beta: number };
}

export interface PairTestResult {
  /** The variant the evidence points to (0 = a, 1 = b), or null when neither has evidence. */
  readonly leader: 0 | 1 | null;
  /** ln of the larger of M^a and M^b. */
  readonly logEvidence: number;
  /** ln(2/δ). */
  readonly threshold: number;
  /** logEvidence ≥ threshold. */
  readonly stop: boolean;
}

export interface PairComponent {
  readonly logWeight: number;
  /** ln(θ_a/ℓ), ln((1 − θ_a)/(1 − ℓ)), ln(θ_b/ℓ), ln((1 − θ_b)/(1 − ℓ)). */
  readonly aOne: number;
  readonly aZero: number;
  readonly bOne: number;
  readonly bZero: number;
}

const LEVEL_LOGITS = Array.from({ length: 29 }, (_, i) => -7 + 0.5 * i);
const MDE_MULTIPLES = [1, 1.5, 2.25, 3.375] as const;
const MDE_WEIGHTS = [0.4, 0.3, 0.2, 0.1] as const;
const BROAD_EFFECTS = [0.0025, 0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32] as const;

/** The mixture's components for a design (see the header). */
export function pairMixtureComponents(design: PairDesign): readonly PairComponent[] {
  const { alpha, beta } = design.prior;
  if (!(alpha > 0 && beta > 0 && Number.isFinite(alpha) && Number.isFinite(beta))) {
    throw new RangeError(`the prior needs finite alpha, beta > 0, got (${alpha}, ${beta})`);
  }
  const mde = design.minimumDetectableEffect;
  if (mde !== null && !(mde > 0 && mde < 1)) {
    throw new RangeError(`minimumDetectableEffect must be in (0, 1) or null, got ${mde}`);
  }
  const effects: { delta: number; logWeight: number }[] =
    mde === null
      ? BROAD_EFFECTS.map((d) => ({ delta: d, logWeight: 0 }))
      : MDE_MULTIPLES.map((c, i) => ({ delta: c * mde, logWeight: Math.log(MDE_WEIGHTS[i] ?? 0) }));
  const raw: PairComponent[] = [];
  for (const x of LEVEL_LOGITS) {
    const level = 1 / (1 + Math.exp(-x));
    // Beta(α, β) in x = logit ℓ: density ∝ ℓ^α (1 − ℓ)^β (the Jacobian is ℓ(1 − ℓ)).
    const levelWeight = alpha * Math.log(level) + beta * Math.log1p(-level);
    for (const { delta, logWeight } of effects) {
      const a = level + delta / 2;
      const b = level - delta / 2;
      if (!(a < 1 && b > 0)) continue;
      raw.push({
        logWeight: levelWeight + logWeight,
        aOne: Math.log(a / level),
        aZero: Math.log((1 - a) / (1 - level)),
        bOne: Math.log(b / level),
        bZero: Math.log((1 - b) / (1 - level)),
      });
    }
  }
  const total = logSumExp(raw.map((c) => c.logWeight));
  return raw.map((c) => ({ ...c, logWeight: c.logWeight - total }));
}

/**
 * The balanced-pair test on the totals of variants a and b (see the header for when it is
 * valid). Sums must lie in [0, n].
 */
export function balancedPairTest(a: PairArm, b: PairArm, design: PairDesign): PairTestResult {
  if (!(design.delta > 0 && design.delta < 1)) {
    throw new RangeError(`delta must be in (0, 1), got ${design.delta}`);
  }
  for (const [name, arm] of [
    ['a', a],
    ['b', b],
  ] as const) {
    if (!(Number.isFinite(arm.n) && arm.n >= 0 && arm.sum >= 0 && arm.sum <= arm.n)) {
      throw new RangeError(`arm ${name}: needs 0 <= sum <= n, got sum ${arm.sum} with n ${arm.n}`);
    }
  }
  const [logA, logB] = pairLogEvidence(a, b, pairMixtureComponents(design));
  const threshold = Math.log(2 / design.delta);
  const logEvidence = Math.max(logA, logB);
  const leader = logA === logB ? null : logA > logB ? 0 : 1;
  return { leader, logEvidence, threshold, stop: leader !== null && logEvidence >= threshold };
}

/** [ln M^a, ln M^b] for the totals and the components (unchecked). */
export function pairLogEvidence(
  a: PairArm,
  b: PairArm,
  components: readonly PairComponent[],
): [number, number] {
  const sa = a.sum;
  const fa = a.n - a.sum;
  const sb = b.sum;
  const fb = b.n - b.sum;
  const forA = components.map(
    (c) => c.logWeight + sa * c.aOne + fa * c.aZero + sb * c.bOne + fb * c.bZero,
  );
  // Variant b better: the same components with the roles swapped.
  const forB = components.map(
    (c) => c.logWeight + sb * c.aOne + fb * c.aZero + sa * c.bOne + fa * c.bZero,
  );
  return [logSumExp(forA), logSumExp(forB)];
}

function logSumExp(values: readonly number[]): number {
  let max = Number.NEGATIVE_INFINITY;
  for (const v of values) if (v > max) max = v;
  if (max === Number.NEGATIVE_INFINITY) return max;
  let sum = 0;
  for (const v of values) sum += Math.exp(v - max);
  return max + Math.log(sum);
}
