// Per-experiment sufficient statistics of one input partition, and how a reward folds in.
// Counts carry no prior: the router adds the prior once after summing the partitions. Pure.
import type { VariantCounts } from '../../../lib/contracts/events.ts';

export interface ExperimentCounts {
  readonly experiment: string;
  readonly variants: readonly VariantCounts[];
  /** Number of rewards folded in; grows by one per reward, so it orders snapshots. */
  readonly version: number;
}

export function emptyCounts(experiment: string): ExperimentCounts {
  return { experiment, variants: [], version: 0 };
}

/** α += r, β += 1 − r for the credited variant. */
export function foldReward(
  counts: ExperimentCounts,
  variant: string,
  reward: number,
): ExperimentCounts {
  const found = counts.variants.some((v) => v.variant === variant);
  const variants = counts.variants.map((v) => {
    if (v.variant !== variant) return v;
    return {
      variant,
      successes: v.successes + reward,
      failures: v.failures + (1 - reward),
      count: v.count + 1,
    };
  });
  if (!found) variants.push({ variant, successes: reward, failures: 1 - reward, count: 1 });
  return { experiment: counts.experiment, variants, version: counts.version + 1 };
}
