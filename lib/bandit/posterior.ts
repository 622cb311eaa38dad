// Posterior bookkeeping: merging per-partition counts and summarising a Beta posterior.
//
// Rewards are aggregated per Kafka partition, so the global posterior of a variant is the
// prior updated with the sum of every partition's counts (Beta–Bernoulli conjugacy: the
// posterior depends on the data only through total successes and failures).

import { betaMean, betaQuantile } from './beta-distribution.ts';
import type { ArmCounts, BetaPrior } from './policies.ts';

/** The counts one partition holds for an experiment. */
export interface PartialCounts {
  readonly partition: number;
  readonly variants: readonly ArmCounts[];
}

export interface PosteriorSummary {
  /** Posterior mean alpha / (alpha + beta). */
  readonly mean: number;
  /** Equal-tailed 95% credible interval: the 2.5% and 97.5% posterior quantiles. */
  readonly lower95: number;
  readonly upper95: number;
  readonly alpha: number;
  readonly beta: number;
}

/**
 * Sums successes, failures and count per variant across partitions, in the order of
 * `variants`. Variants that no partition mentions get zeros; variants not in `variants` are
 * ignored. Throws RangeError on duplicate names in `variants`, a partition listed twice or a
 * variant listed twice within one partition (either would double-count data), and on
 * negative or non-finite counts.
 */
export function mergePartialCounts(
  partials: readonly PartialCounts[],
  variants: readonly string[],
): ArmCounts[] {
  const slots = new Map<string, { successes: number; failures: number; count: number }>();
  for (const variant of variants) {
    if (slots.has(variant)) throw new RangeError(`duplicate variant "${variant}"`);
    slots.set(variant, { successes: 0, failures: 0, count: 0 });
  }
  const partitions = new Set<number>();
  for (const partial of partials) {
    if (partitions.has(partial.partition)) {
      throw new RangeError(`partition ${partial.partition} appears more than once`);
    }
    partitions.add(partial.partition);
    const seen = new Set<string>();
    for (const arm of partial.variants) {
      if (seen.has(arm.variant)) {
        throw new RangeError(
          `variant "${arm.variant}" appears twice in partition ${partial.partition}`,
        );
      }
      seen.add(arm.variant);
      assertCount(arm.successes, 'successes', arm.variant);
      assertCount(arm.failures, 'failures', arm.variant);
      assertCount(arm.count, 'count', arm.variant);
      const slot = slots.get(arm.variant);
      if (slot === undefined) continue;
      slot.successes += arm.successes;
      slot.failures += arm.failures;
      slot.count += arm.count;
    }
  }
  return variants.map((variant) => {
    const slot = slots.get(variant) ?? { successes: 0, failures: 0, count: 0 };
    return { variant, ...slot };
  });
}

/**
 * The Beta(prior.alpha + successes, prior.beta + failures) posterior of one variant, with
 * its mean and equal-tailed 95% credible interval [Q(0.025), Q(0.975)].
 */
export function summarisePosterior(arm: ArmCounts, prior: BetaPrior): PosteriorSummary {
  assertCount(arm.successes, 'successes', arm.variant);
  assertCount(arm.failures, 'failures', arm.variant);
  const alpha = prior.alpha + arm.successes;
  const beta = prior.beta + arm.failures;
  if (!(
    Number.isFinite(prior.alpha) &&
    prior.alpha > 0 &&
    Number.isFinite(prior.beta) &&
    prior.beta > 0
  )) {
    throw new RangeError(
      `prior must have finite alpha, beta > 0, got (${prior.alpha}, ${prior.beta})`,
    );
  }
  return {
    mean: betaMean(alpha, beta),
    lower95: betaQuantile(0.025, alpha, beta),
    upper95: betaQuantile(0.975, alpha, beta),
    alpha,
    beta,
  };
}

function assertCount(value: number, name: string, variant: string): void {
  if (!(Number.isFinite(value) && value >= 0)) {
    throw new RangeError(`${name} of "${variant}" must be finite and >= 0, got ${value}`);
  }
}
