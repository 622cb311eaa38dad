// Per-experiment sufficient statistics of one input partition, and how outcomes fold in.
// Counts carry no prior: the router adds the prior once after summing the partitions. Pure.
import { foldDecayed, rebaseDecayed } from '../../../lib/bandit/discount.ts';
import type { VariantCounts, VariantProbability } from '../../../lib/contracts/events.ts';
import { emptyTotals } from '../../../lib/contracts/posterior-totals.ts';

export interface ExperimentCounts {
  readonly experiment: string;
  readonly variants: readonly VariantCounts[];
  /** Shadow variants (invoked on copies, never served), kept apart from the served ones. */
  readonly shadowVariants: readonly VariantCounts[];
  /** Number of outcomes folded in (rewards, drops, late labels, decisions); orders snapshots. */
  readonly version: number;
  /** Event time every variant's decayed sums are valued at: the latest reward time folded in. */
  readonly decayedAt: number;
}

export function emptyCounts(experiment: string): ExperimentCounts {
  return { experiment, variants: [], shadowVariants: [], version: 0, decayedAt: 0 };
}

/** What happened to one prediction of a variant. */
export type CountedOutcome =
  | {
      readonly kind: 'reward';
      readonly reward: number;
      readonly implicit: boolean;
      /** Event time of the reward (the label's, or the window's end for an implicit one). */
      readonly eventTime: number;
    }
  | { readonly kind: 'dropped' }
  | { readonly kind: 'late' }
  /**
   * A decision served this variant, drawn from `allocation`: the variant's `assigned` grows by
   * one and every variant's `expectedAssigned` by the probability the allocation gave it.
   */
  | { readonly kind: 'assigned'; readonly allocation: readonly VariantProbability[] };

export interface FoldOptions {
  /** Fold into the shadow variants instead of the served ones. */
  readonly shadow: boolean;
  /** Half-life of the decayed sums (event-time ms); null: weights stay 1. */
  readonly halfLifeMs: number | null;
}

const SERVED: FoldOptions = { shadow: false, halfLifeMs: null };

/**
 * Folds one outcome into the variant's counts: a reward r adds α += r, β += 1 − r (the Beta
 * update for rewards in [0, 1]), Σr and Σr² (for real-valued rewards) and the discounted sums;
 * drops and late labels are only counted, never folded into the reward sums.
 */
export function foldOutcome(
  counts: ExperimentCounts,
  variant: string,
  outcome: CountedOutcome,
  options: FoldOptions = SERVED,
): ExperimentCounts {
  let decayedAt = counts.decayedAt;
  let list = options.shadow ? counts.shadowVariants : counts.variants;
  if (outcome.kind === 'reward' && outcome.eventTime > decayedAt) {
    // A newer reward moves the valuation time of every variant's discounted sums.
    const from = decayedAt;
    const to = outcome.eventTime;
    const rebase = (v: VariantCounts): VariantCounts => ({
      ...v,
      decayed: rebaseDecayed(v.decayed, from, to, options.halfLifeMs),
    });
    list = list.map(rebase);
    const other = (options.shadow ? counts.variants : counts.shadowVariants).map(rebase);
    counts = options.shadow
      ? { ...counts, variants: other, shadowVariants: list }
      : { ...counts, variants: list, shadowVariants: other };
    decayedAt = to;
  }
  const apply = (v: VariantCounts): VariantCounts => {
    switch (outcome.kind) {
      case 'reward': {
        const r = outcome.reward;
        return {
          ...v,
          successes: v.successes + r,
          failures: v.failures + (1 - r),
          count: v.count + 1,
          implicit: v.implicit + (outcome.implicit ? 1 : 0),
          rewardSum: v.rewardSum + r,
          rewardSumSquares: v.rewardSumSquares + r * r,
          decayed: foldDecayed(v.decayed, decayedAt, r, outcome.eventTime, options.halfLifeMs).sums,
        };
      }
      case 'dropped':
        return { ...v, dropped: v.dropped + 1 };
      case 'late':
        return { ...v, late: v.late + 1 };
      case 'assigned':
        return v.variant === variant ? { ...v, assigned: v.assigned + 1 } : v;
    }
  };
  let next = withVariant(list, variant);
  if (outcome.kind === 'assigned') {
    for (const { variant: name, probability } of outcome.allocation) {
      if (probability > 0) next = withVariant(next, name);
    }
    const share = new Map(outcome.allocation.map((a) => [a.variant, a.probability]));
    next = next.map((v) => {
      const assigned = apply(v);
      const p = share.get(v.variant) ?? 0;
      return p === 0 ? assigned : { ...assigned, expectedAssigned: v.expectedAssigned + p };
    });
  } else {
    next = next.map((v) => (v.variant === variant ? apply(v) : v));
  }
  return {
    experiment: counts.experiment,
    variants: options.shadow ? counts.variants : next,
    shadowVariants: options.shadow ? next : counts.shadowVariants,
    version: counts.version + 1,
    decayedAt,
  };
}

function withVariant(list: readonly VariantCounts[], variant: string): readonly VariantCounts[] {
  return list.some((v) => v.variant === variant) ? list : [...list, { variant, ...emptyTotals() }];
}

/** α += r, β += 1 − r for the credited variant (a reward resolved by a label). */
export function foldReward(
  counts: ExperimentCounts,
  variant: string,
  reward: number,
  eventTime = 0,
): ExperimentCounts {
  return foldOutcome(counts, variant, { kind: 'reward', reward, implicit: false, eventTime });
}
