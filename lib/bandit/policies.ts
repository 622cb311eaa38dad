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

import { buildAliasTable, sampleAliasTable, type AliasTable } from './alias-table.ts';
import { computeProbabilityBest } from './probability-best.ts';
import type { RandomSource } from './random.ts';

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

function assertVariantNames(names: readonly string[]): void {
  if (names.length === 0) throw new RangeError('a routing plan needs at least one variant');
  const seen = new Set<string>();
  for (const name of names) {
    if (seen.has(name)) throw new RangeError(`duplicate variant "${name}"`);
    seen.add(name);
  }
}
