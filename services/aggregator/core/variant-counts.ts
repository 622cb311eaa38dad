// Per-experiment sufficient statistics of one input partition, and how outcomes fold in.
// Counts carry no prior: the router adds the prior once after summing the partitions. Pure.
import type { VariantCounts } from '../../../lib/contracts/events.ts';

export interface ExperimentCounts {
  readonly experiment: string;
  readonly variants: readonly VariantCounts[];
  /** Number of outcomes folded in (rewards, drops, late labels); orders snapshots. */
  readonly version: number;
}

export function emptyCounts(experiment: string): ExperimentCounts {
  return { experiment, variants: [], version: 0 };
}

const ZERO = { successes: 0, failures: 0, count: 0, implicit: 0, dropped: 0, late: 0 };

/** What happened to one prediction of a variant. */
export type CountedOutcome =
  | { readonly kind: 'reward'; readonly reward: number; readonly implicit: boolean }
  | { readonly kind: 'dropped' }
  | { readonly kind: 'late' };

/**
 * Folds one outcome into the variant's counts: a reward r adds α += r, β += 1 − r (the Beta
 * update for rewards in [0, 1]); drops and late labels are only counted, never folded into α/β.
 */
export function foldOutcome(
  counts: ExperimentCounts,
  variant: string,
  outcome: CountedOutcome,
): ExperimentCounts {
  const apply = (v: VariantCounts): VariantCounts => {
    switch (outcome.kind) {
      case 'reward':
        return {
          ...v,
          successes: v.successes + outcome.reward,
          failures: v.failures + (1 - outcome.reward),
          count: v.count + 1,
          implicit: v.implicit + (outcome.implicit ? 1 : 0),
        };
      case 'dropped':
        return { ...v, dropped: v.dropped + 1 };
      case 'late':
        return { ...v, late: v.late + 1 };
    }
  };
  const known = counts.variants.some((v) => v.variant === variant);
  const variants = known
    ? counts.variants.map((v) => (v.variant === variant ? apply(v) : v))
    : [...counts.variants, apply({ variant, ...ZERO })];
  return { experiment: counts.experiment, variants, version: counts.version + 1 };
}

/** α += r, β += 1 − r for the credited variant (a reward resolved by a label). */
export function foldReward(
  counts: ExperimentCounts,
  variant: string,
  reward: number,
): ExperimentCounts {
  return foldOutcome(counts, variant, { kind: 'reward', reward, implicit: false });
}
