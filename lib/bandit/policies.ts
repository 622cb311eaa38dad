// Routing decisions over plain data: a routing plan per posterior snapshot, one alias draw
// per request.
//
// Why plans. Per-request Thompson sampling draws θ_j ~ Beta(α_j, β_j) for every variant and
// routes to the argmax. Between two posterior snapshots the α_j, β_j do not change, so the
// distribution of that argmax does not change either: it is exactly P(j best) (see
// probability-best.ts). So the router computes P(j best) once per snapshot, stores it in an
// alias table, and routes each request with one O(1) alias draw. The decisions have the same
// distribution as per-request Thompson sampling (each request independently picks j with
// probability P(j best)), the cost per request no longer grows with the number of variants,
// and the propensity the logged decision needs for off-policy evaluation (the probability
// that this policy picked this variant) is simply P(j best) — something per-request Thompson
// sampling cannot report without this very computation.
//
// The same holds for every policy here: between snapshots each one is a fixed distribution
// over the variants, so each is a plan, and every decision carries its exact propensity.
//
// * planThompsonSampling — Beta-Bernoulli Thompson sampling for rewards in [0, 1].
// * planGaussianThompson — Thompson sampling with normal posteriors for real-valued rewards
//   (revenue, ratings); P(best) by quadrature in normal-probability-best.ts.
// * planEpsilonGreedy — the empirical best with probability 1 - ε, uniform with probability ε.
// * planUcb1 — the arm with the largest upper confidence bound (Auer et al. 2002).
// * planFromWeights — static weights (warm-up, paused, canary, fallback).
// * applyProbabilityFloor — mixes any plan with the uniform plan so that every variant keeps a
//   minimum share (continued exploration, bounded propensities for off-policy evaluation).
// * planTopTwo — top-two Thompson sampling from a Thompson plan, the allocation of goal decide.
// * applyForcedExploration — half the traffic to the variants that still lack the minimum
//   sample of a stopping rule, so that the rule's gate cannot starve.
//
// The value-based policies (Gaussian Thompson, ε-greedy, UCB1) read RewardSums, whose weights
// may be fractional: the exponentially discounted sums of discount.ts fit as they are.

import { buildAliasTable, sampleAliasTable, type AliasTable } from './alias-table.ts';
import { computeNormalProbabilityBest, type NormalArm } from './normal-probability-best.ts';
import { computeProbabilityBest } from './probability-best.ts';
import type { RandomSource } from './random.ts';
import { normalPosterior } from '../stats/normal-posterior.ts';

/** Observed outcomes of one variant (successes/failures may be fractional reward sums). */
export interface ArmCounts {
  readonly variant: string;
  readonly successes: number;
  readonly failures: number;
  /** Number of decisions/observations behind these counts. */
  readonly count: number;
}

/** Beta(alpha, beta) prior shared by all variants. */
export interface BetaPrior {
  readonly alpha: number;
  readonly beta: number;
}

/**
 * Reward sums of one variant; weights may be fractional (discounted rewards). With weight n,
 * rewardSum Σr and rewardSumSquares Σr², the empirical mean is Σr/n and the sum of squared
 * deviations Σ(r - r̄)² = Σr² - (Σr)²/n.
 */
export interface RewardSums {
  readonly variant: string;
  readonly weight: number;
  readonly rewardSum: number;
  readonly rewardSumSquares: number;
}

/**
 * Normal prior of Gaussian Thompson sampling: the arms' mean reward is believed to be about
 * `mean`, single rewards to vary with `variance`, and the prior weighs as much as `strength`
 * rewards (pseudo-observations). variance and strength must be finite and > 0.
 */
export interface NormalPrior {
  readonly mean: number;
  readonly variance: number;
  readonly strength: number;
}

/** A fixed choice distribution over variants, ready for O(1) draws. */
export interface RoutingPlan {
  readonly variants: readonly string[];
  /** probabilities[i] is the chance of routing to variants[i]; they sum to 1. */
  readonly probabilities: readonly number[];
  readonly table: AliasTable;
}

export interface Decision {
  readonly variant: string;
  /** Probability that the plan picks this variant. */
  readonly propensity: number;
}

/**
 * A plan that routes by static weights, normalised to sum to 1. All-zero weights mean
 * "no preference" and give the uniform plan. Throws RangeError for no variants, duplicate
 * names, or weights that are negative or not finite.
 */
export function planFromWeights(
  variants: readonly { readonly name: string; readonly weight: number }[],
): RoutingPlan {
  const names = variants.map((variant) => variant.name);
  assertVariantNames(names);
  let total = 0;
  for (const { name, weight } of variants) {
    if (!(Number.isFinite(weight) && weight >= 0)) {
      throw new RangeError(`weight of variant "${name}" must be finite and >= 0, got ${weight}`);
    }
    total += weight;
  }
  if (!Number.isFinite(total)) throw new RangeError('variant weights must have a finite sum');
  const probabilities =
    total > 0
      ? variants.map((variant) => variant.weight / total)
      : variants.map(() => 1 / variants.length);
  return createPlan(names, probabilities);
}

/**
 * The Thompson-sampling plan for a posterior snapshot: variant j is chosen with probability
 * P(j best) under Beta(prior.alpha + successes_j, prior.beta + failures_j) posteriors.
 */
export function planThompsonSampling(arms: readonly ArmCounts[], prior: BetaPrior): RoutingPlan {
  if (!(Number.isFinite(prior.alpha) && prior.alpha > 0)) {
    throw new RangeError(`prior alpha must be finite and > 0, got ${prior.alpha}`);
  }
  if (!(Number.isFinite(prior.beta) && prior.beta > 0)) {
    throw new RangeError(`prior beta must be finite and > 0, got ${prior.beta}`);
  }
  const names = arms.map((arm) => arm.variant);
  assertVariantNames(names);
  for (const arm of arms) {
    if (!(Number.isFinite(arm.successes) && arm.successes >= 0)) {
      throw new RangeError(`successes of "${arm.variant}" must be finite and >= 0`);
    }
    if (!(Number.isFinite(arm.failures) && arm.failures >= 0)) {
      throw new RangeError(`failures of "${arm.variant}" must be finite and >= 0`);
    }
  }
  const probabilities = computeProbabilityBest(
    arms.map((arm) => ({
      alpha: prior.alpha + arm.successes,
      beta: prior.beta + arm.failures,
    })),
  );
  return createPlan(names, probabilities);
}

/**
 * Normal posterior of one arm's mean reward under Gaussian Thompson sampling.
 *
 * With n0 = prior.strength pseudo-rewards of mean μ0 = prior.mean and variance
 * σ0² = prior.variance, and the arm's weight n, reward sum Σr and sum of squares Σr²:
 *
 *   m   = (n0·μ0 + Σr) / (n0 + n)                        posterior mean
 *   σ²  = (n0·σ0² + Σ(r - r̄)²) / (n0 + n)                 per-reward variance estimate
 *   s²  = σ² / (n0 + n)                                   variance of the posterior mean
 *
 * where Σ(r - r̄)² = Σr² - (Σr)²/n (0 for n = 0; clamped at 0 against rounding). This is a
 * plug-in simplification of the conjugate normal–inverse-gamma model: the variance is
 * estimated, not integrated out (which would give a Student-t with about n0 + n degrees of
 * freedom, indistinguishable from the normal after a few dozen rewards), and the conjugate
 * term n0·n/(n0 + n)·(r̄ - μ0)², which widens the posterior when the data contradict the
 * prior mean, is left out. The prior's variance acts as n0 pseudo-rewards of spread σ0²,
 * which keeps s² > 0 for an arm with no (or constant) rewards. Untried arms get the prior
 * N(μ0, σ0²/n0).
 */
export function gaussianThompsonPosterior(arm: RewardSums, prior: NormalPrior): NormalArm {
  assertNormalPrior(prior);
  assertRewardSums(arm);
  // The same posterior the decider reports (lib/stats/normal-posterior.ts), here with a prior
  // that must carry weight, so every arm has a proper posterior.
  const { mean, sd } = normalPosterior(
    { n: arm.weight, sum: arm.rewardSum, sumSquares: arm.rewardSumSquares },
    prior,
  );
  return { mean, sd };
}

/**
 * The Gaussian Thompson-sampling plan: variant j is chosen with probability P(j best) under
 * independent normal posteriors of the arms' mean rewards (see gaussianThompsonPosterior), the
 * exact decision distribution of per-request Gaussian Thompson sampling.
 */
export function planGaussianThompson(arms: readonly RewardSums[], prior: NormalPrior): RoutingPlan {
  assertNormalPrior(prior);
  const names = arms.map((arm) => arm.variant);
  assertVariantNames(names);
  const posteriors = arms.map((arm) => gaussianThompsonPosterior(arm, prior));
  return createPlan(names, computeNormalProbabilityBest(posteriors));
}

/**
 * Arms whose weight is below this have no usable mean: they count as untried. (Discounted
 * weights of a long-silent arm decay towards 0 but never reach it.)
 */
const UNTRIED_WEIGHT = 1e-12;
/** Means within this relative distance of the best count as tied with it (rounding noise). */
const TIE_TOLERANCE = 1e-12;

/**
 * The ε-greedy plan: with probability ε a uniformly random variant, otherwise the variant with
 * the best empirical mean Σr/n, so
 *
 *   p_j = ε/K + (1 - ε) · [j ∈ B] / |B|,
 *
 * with B the set of best variants (ties split the greedy share evenly; means within a relative
 * 1e-12 of the best count as ties, so that rounding noise in discounted sums does not pick a
 * winner). An untried variant (weight < 1e-12) has no mean and is treated as optimistic:
 * while any variant is untried, B is the set of untried variants, the usual "try every arm
 * first" rule. ε = 0 is pure greedy, ε = 1 uniform. Throws RangeError unless 0 <= ε <= 1.
 */
export function planEpsilonGreedy(arms: readonly RewardSums[], epsilon: number): RoutingPlan {
  if (!(Number.isFinite(epsilon) && epsilon >= 0 && epsilon <= 1)) {
    throw new RangeError(`epsilon must be in [0, 1], got ${epsilon}`);
  }
  const names = arms.map((arm) => arm.variant);
  assertVariantNames(names);
  for (const arm of arms) assertRewardSums(arm);
  const untried = untriedIndices(arms);
  const best =
    untried.length > 0 ? untried : argmaxIndices(arms.map((arm) => arm.rewardSum / arm.weight));
  const uniform = epsilon / arms.length;
  const greedy = (1 - epsilon) / best.length;
  const probabilities = arms.map(() => uniform);
  for (const j of best) probabilities[j] = uniform + greedy;
  return createPlan(names, probabilities);
}

/**
 * The UCB1 plan (Auer, Cesa-Bianchi & Fischer 2002, "Finite-time analysis of the multiarmed
 * bandit problem", Machine Learning 47): play the variant with the largest upper confidence
 * bound
 *
 *   index_j = r̄_j + c · sqrt(2 ln N / n_j),      N = Σ_j n_j,
 *
 * where c scales the paper's bonus (c = 1 is UCB1 for rewards in [0, 1]; use the rewards'
 * range for other scales; c = 0 is greedy). While any variant is untried (weight < 1e-12) the
 * plan splits evenly over the untried ones, as UCB1 starts by playing each arm once. Ties of
 * the index (within a relative 1e-12) split evenly.
 *
 * Discounted weights. With discounting, N can fall below e or even below 1 (little recent
 * evidence), where ln N is small or negative and the bonus would vanish or be undefined just
 * when exploration matters most. The logarithm is therefore taken of max(N, e): the bonus
 * never drops below c·sqrt(2/n_j), still shrinks with each arm's own evidence, and is
 * continuous in N. For undiscounted integer counts this differs from textbook UCB1 only while
 * fewer than 3 rewards have been seen in total.
 *
 * Batched UCB1. UCB1 is deterministic: with one plan per posterior snapshot, all traffic
 * between two snapshots goes to the current argmax, and the index only moves when the next
 * snapshot arrives (batched UCB1). Under heavy traffic or delayed rewards that is a large
 * batch on a single arm, and every other variant's propensity is 0 — which off-policy
 * evaluation cannot work with. applyProbabilityFloor is the guard: it keeps every variant's
 * share at least the floor. Throws RangeError unless c is finite and >= 0.
 */
export function planUcb1(arms: readonly RewardSums[], exploration: number): RoutingPlan {
  if (!(Number.isFinite(exploration) && exploration >= 0)) {
    throw new RangeError(`exploration must be finite and >= 0, got ${exploration}`);
  }
  const names = arms.map((arm) => arm.variant);
  assertVariantNames(names);
  for (const arm of arms) assertRewardSums(arm);
  const untried = untriedIndices(arms);
  let best: readonly number[];
  if (untried.length > 0) {
    best = untried;
  } else {
    let total = 0;
    for (const arm of arms) total += arm.weight;
    const logTotal = Math.log(Math.max(total, Math.E));
    best = argmaxIndices(
      arms.map(
        (arm) => arm.rewardSum / arm.weight + exploration * Math.sqrt((2 * logTotal) / arm.weight),
      ),
    );
  }
  const probabilities = arms.map(() => 0);
  for (const j of best) probabilities[j] = 1 / best.length;
  return createPlan(names, probabilities);
}

/**
 * Mixes a plan with the uniform plan so that every variant keeps at least `floor`:
 *
 *   p_j = f + (1 - K·f) · w_j,
 *
 * with w the plan's probabilities and K the number of variants. The result still sums to 1,
 * keeps the plan's ordering, and bounds every propensity below by f (so importance weights
 * 1/p in off-policy evaluation stay below 1/f). f = 0 gives an equivalent plan, f = 1/K the
 * uniform plan. Returns a new plan with its own alias table. Throws RangeError unless
 * 0 <= f and K·f <= 1 (up to a relative 1e-12 for a floor computed as 1/K).
 */
export function applyProbabilityFloor(plan: RoutingPlan, floor: number): RoutingPlan {
  const count = plan.variants.length;
  if (!(Number.isFinite(floor) && floor >= 0 && floor * count <= 1 + 1e-12)) {
    throw new RangeError(`floor must be in [0, 1/${count}], got ${floor}`);
  }
  const rest = Math.max(0, 1 - count * floor);
  return createPlan(
    plan.variants,
    plan.probabilities.map((p) => floor + rest * p),
  );
}

/**
 * Top-two Thompson sampling (Russo 2020, "Simple Bayesian algorithms for best-arm
 * identification", Operations Research 68(6)) as a plan. Per request, TTTS draws a leader I by
 * Thompson sampling and plays it with probability β; otherwise it re-draws until the argmax J
 * differs from I and plays J. With p_k = P(k best) (the Thompson plan's probabilities), a
 * re-draw conditioned on "argmax ≠ i" picks k ≠ i with probability p_k / Σ_{m≠i} p_m, so
 *
 *   ψ_k = β p_k + (1 − β) Σ_{i≠k} p_i · p_k / Σ_{m≠i} p_m.
 *
 * When the other arms of some leader i have no mass left (p_i = 1 to rounding), the runner-up
 * is drawn uniformly among them: the limit of a posterior that has all but settled, and the
 * choice that keeps the runner-up sampled. With two arms and β = 1/2, ψ = (1/2, 1/2), the
 * optimal allocation for two Gaussian arms of equal variance. TTTS with the GLR stopping rule
 * reaches the Garivier–Kaufmann lower bound on samples for β-optimal allocation (Russo 2020;
 * Shang, de Heide, Kaufmann, Ménard & Valko 2020, AISTATS). Throws unless 0 < β < 1.
 */
export function planTopTwo(thompson: RoutingPlan, leaderShare = 0.5): RoutingPlan {
  if (!(leaderShare > 0 && leaderShare < 1)) {
    throw new RangeError(`leaderShare must be in (0, 1), got ${leaderShare}`);
  }
  const p = thompson.probabilities;
  const count = p.length;
  const shares = p.map((pk) => leaderShare * pk);
  if (count === 1) return createPlan(thompson.variants, [1]);
  p.forEach((pi, i) => {
    // Σ_{m≠i} p_m summed directly: 1 − p_i would lose the digits that matter when p_i ≈ 1.
    const others = p.reduce((sum, pm, m) => (m === i ? sum : sum + pm), 0);
    p.forEach((pk, k) => {
      if (k === i) return;
      const runnerUp = others > 1e-12 ? pk / others : 1 / (count - 1);
      shares[k] = (shares[k] ?? 0) + (1 - leaderShare) * pi * runnerUp;
    });
  });
  const sum = shares.reduce((acc, x) => acc + x, 0);
  return createPlan(
    thompson.variants,
    shares.map((x) => x / sum),
  );
}

/**
 * Forced exploration for a minimum sample: sends half the traffic, split evenly, to the
 * variants in `behind` (those with fewer rewards than a stopping rule needs):
 *
 *   p_j = w_j / 2 + [j ∈ behind] / (2 |behind|).
 *
 * Every variant behind then gets at least 1/(2K) of the traffic whatever the policy thinks of
 * it, so a rule gated on n rewards per variant is reached in finite time (a plan alone can
 * starve a losing arm below the gate forever: Thompson sampling with no floor did so in about
 * 3% of simulated runs). The propensities stay exact. An empty `behind` returns the plan.
 */
export function applyForcedExploration(plan: RoutingPlan, behind: readonly string[]): RoutingPlan {
  const needy = new Set(behind);
  for (const name of needy) {
    if (!plan.variants.includes(name)) throw new RangeError(`unknown variant "${name}"`);
  }
  if (needy.size === 0) return plan;
  return createPlan(
    plan.variants,
    plan.probabilities.map(
      (p, j) => p / 2 + (needy.has(plan.variants[j] ?? '') ? 1 / (2 * needy.size) : 0),
    ),
  );
}

/** Routes one request: one alias draw; the propensity is the plan's probability for it. */
export function decide(plan: RoutingPlan, random: RandomSource): Decision {
  const index = sampleAliasTable(plan.table, random);
  const variant = plan.variants[index];
  const propensity = plan.probabilities[index];
  if (variant === undefined || propensity === undefined) {
    throw new RangeError(`routing plan is inconsistent: no variant at index ${index}`);
  }
  return { variant, propensity };
}

function createPlan(variants: readonly string[], probabilities: readonly number[]): RoutingPlan {
  return {
    variants: Object.freeze([...variants]),
    probabilities: Object.freeze([...probabilities]),
    table: buildAliasTable(probabilities),
  };
}

/** Indices of the untried arms (weight below UNTRIED_WEIGHT). */
function untriedIndices(arms: readonly RewardSums[]): number[] {
  const untried: number[] = [];
  arms.forEach((arm, j) => {
    if (arm.weight < UNTRIED_WEIGHT) untried.push(j);
  });
  return untried;
}

/** Indices whose value is the maximum, or within a relative TIE_TOLERANCE of it. */
function argmaxIndices(values: readonly number[]): number[] {
  const best = Math.max(...values);
  const indices: number[] = [];
  values.forEach((value, j) => {
    if (best - value <= TIE_TOLERANCE * Math.max(Math.abs(best), Math.abs(value))) {
      indices.push(j);
    }
  });
  return indices;
}

function assertRewardSums(arm: RewardSums): void {
  if (!(Number.isFinite(arm.weight) && arm.weight >= 0)) {
    throw new RangeError(`weight of "${arm.variant}" must be finite and >= 0, got ${arm.weight}`);
  }
  if (!Number.isFinite(arm.rewardSum)) {
    throw new RangeError(`reward sum of "${arm.variant}" must be finite, got ${arm.rewardSum}`);
  }
  if (!(Number.isFinite(arm.rewardSumSquares) && arm.rewardSumSquares >= 0)) {
    throw new RangeError(
      `reward sum of squares of "${arm.variant}" must be finite and >= 0, got ${arm.rewardSumSquares}`,
    );
  }
}

function assertNormalPrior(prior: NormalPrior): void {
  if (!Number.isFinite(prior.mean)) {
    throw new RangeError(`prior mean must be finite, got ${prior.mean}`);
  }
  if (!(Number.isFinite(prior.variance) && prior.variance > 0)) {
    throw new RangeError(`prior variance must be finite and > 0, got ${prior.variance}`);
  }
  if (!(Number.isFinite(prior.strength) && prior.strength > 0)) {
    throw new RangeError(`prior strength must be finite and > 0, got ${prior.strength}`);
  }
}

function assertVariantNames(names: readonly string[]): void {
  if (names.length === 0) throw new RangeError('a routing plan needs at least one variant');
  const seen = new Set<string>();
  for (const name of names) {
    if (seen.has(name)) throw new RangeError(`duplicate variant "${name}"`);
    seen.add(name);
  }
}
