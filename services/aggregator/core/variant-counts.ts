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
  let served = counts.variants;
  let shadowed = counts.shadowVariants;
  if (outcome.kind === 'reward' && outcome.eventTime > decayedAt) {
    // A newer reward moves the valuation time of every variant's discounted sums. Without a
    // half-life the sums do not change (rebaseDecayed returns them as they are), and neither do
    // the lists: this runs for nearly every reward, so it copies nothing it does not change.
    const from = decayedAt;
    const to = outcome.eventTime;
    served = rebaseAll(served, from, to, options.halfLifeMs);
    shadowed = rebaseAll(shadowed, from, to, options.halfLifeMs);
    decayedAt = to;
  }
  const list = withVariant(options.shadow ? shadowed : served, variant);
  const next = list.slice();
  for (let i = 0; i < next.length; i++) {
    const v = next[i];
    if (v === undefined) continue;
    if (outcome.kind === 'assigned') {
      // Every variant's expected assignments grow by the probability the allocation gave it.
      const p = probabilityOf(outcome.allocation, v.variant);
      if (v.variant === variant) {
        next[i] = { ...v, assigned: v.assigned + 1, expectedAssigned: v.expectedAssigned + p };
      } else if (p !== 0) {
        next[i] = { ...v, expectedAssigned: v.expectedAssigned + p };
      }
    } else if (v.variant === variant) {
      next[i] = applyOutcome(v, outcome, decayedAt, options.halfLifeMs);
    }
  }
  if (outcome.kind === 'assigned') {
    // Variants the allocation gives traffic that have no counts yet are added, with their share.
    for (const { variant: name, probability } of outcome.allocation) {
      if (probability > 0 && !next.some((v) => v.variant === name)) {
        next.push({ variant: name, ...emptyTotals(), expectedAssigned: probability });
      }
    }
  }
  return {
    experiment: counts.experiment,
    variants: options.shadow ? served : next,
    shadowVariants: options.shadow ? next : shadowed,
    version: counts.version + 1,
    decayedAt,
  };
}

/** The outcome folded into one variant's counts (every kind but `assigned`). */
function applyOutcome(
  v: VariantCounts,
  outcome: Exclude<CountedOutcome, { kind: 'assigned' }>,
  decayedAt: number,
  halfLifeMs: number | null,
): VariantCounts {
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
        decayed: foldDecayed(v.decayed, decayedAt, r, outcome.eventTime, halfLifeMs).sums,
      };
    }
    case 'dropped':
      return { ...v, dropped: v.dropped + 1 };
    case 'late':
      return { ...v, late: v.late + 1 };
  }
}

/** The list with every variant's decayed sums rebased from `from` to `to`; the same list if none moved. */
function rebaseAll(
  list: readonly VariantCounts[],
  from: number,
  to: number,
  halfLifeMs: number | null,
): readonly VariantCounts[] {
  let out: VariantCounts[] | null = null;
  for (let i = 0; i < list.length; i++) {
    const v = list[i];
    if (v === undefined) continue;
    const decayed = rebaseDecayed(v.decayed, from, to, halfLifeMs);
    if (decayed === v.decayed) continue;
    out ??= list.slice();
    out[i] = { ...v, decayed };
  }
  return out ?? list;
}

/** The allocation's probability for `variant` (0 when it has none). */
function probabilityOf(allocation: readonly VariantProbability[], variant: string): number {
  for (const a of allocation) if (a.variant === variant) return a.probability;
  return 0;
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
