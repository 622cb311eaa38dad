// What the router, the decider and the CLI see of an experiment: the latest partial posterior
// of every aggregator partition, summed per variant. Counts add up across partitions; the
// discounted sums are first valued at the latest partition's time. Pure.
import { mergeDecayed, NO_SUMS } from '../bandit/discount.ts';
import type { PosteriorPublished, VariantCounts } from './events.ts';

export type VariantTotals = Omit<VariantCounts, 'variant'>;

export const emptyTotals = (): VariantTotals => ({
  successes: 0,
  failures: 0,
  count: 0,
  implicit: 0,
  dropped: 0,
  late: 0,
  rewardSum: 0,
  rewardSumSquares: 0,
  assigned: 0,
  expectedAssigned: 0,
  decayed: NO_SUMS,
});

/** Keeps, per partition, the partial with the highest version (later wins on a tie). */
export function latestPartials(
  partials: Iterable<PosteriorPublished>,
  experiment: string,
): PosteriorPublished[] {
  const latest = new Map<number, PosteriorPublished>();
  for (const partial of partials) {
    if (partial.experiment !== experiment) continue;
    const known = latest.get(partial.partition);
    if (known === undefined || known.version <= partial.version)
      latest.set(partial.partition, partial);
  }
  return [...latest.values()];
}

/** The merged view of one experiment. */
export interface ExperimentTotals {
  readonly served: Map<string, VariantTotals>;
  readonly shadows: Map<string, VariantTotals>;
  /** Event time the merged decayed sums are valued at. */
  readonly decayedAt: number;
  /** Sum of the merged partials' versions; -1 when there are none. */
  readonly version: number;
}

/**
 * Sums the latest partial of every partition per variant. The decayed sums of each partition
 * are valued at that partition's latest reward time; they are rebased to the latest of those
 * times with `halfLifeMs` before they are added.
 */
export function mergeExperimentTotals(
  partials: Iterable<PosteriorPublished>,
  experiment: string,
  halfLifeMs: number | null,
): ExperimentTotals {
  const latest = latestPartials(partials, experiment);
  const decayedAt = latest.reduce((max, p) => Math.max(max, p.decayedAt), 0);
  const sum = (pick: (p: PosteriorPublished) => readonly VariantCounts[]) => {
    const sums = new Map<string, VariantTotals>();
    for (const partial of latest) {
      for (const v of pick(partial)) {
        const s = sums.get(v.variant) ?? emptyTotals();
        const decayed = mergeDecayed(
          [
            { sums: s.decayed, at: decayedAt },
            { sums: v.decayed, at: partial.decayedAt },
          ],
          halfLifeMs,
        ).sums;
        sums.set(v.variant, {
          successes: s.successes + v.successes,
          failures: s.failures + v.failures,
          count: s.count + v.count,
          implicit: s.implicit + v.implicit,
          dropped: s.dropped + v.dropped,
          late: s.late + v.late,
          rewardSum: s.rewardSum + v.rewardSum,
          rewardSumSquares: s.rewardSumSquares + v.rewardSumSquares,
          assigned: s.assigned + v.assigned,
          expectedAssigned: s.expectedAssigned + v.expectedAssigned,
          decayed,
        });
      }
    }
    return sums;
  };
  return {
    served: sum((p) => p.variants),
    shadows: sum((p) => p.shadowVariants),
    decayedAt,
    version: latest.length === 0 ? -1 : latest.reduce((total, p) => total + p.version, 0),
  };
}

/** Sums the latest partials of an experiment per served variant. */
export function sumPartials(
  partials: Iterable<PosteriorPublished>,
  experiment: string,
): Map<string, VariantTotals> {
  return mergeExperimentTotals(partials, experiment, null).served;
}
