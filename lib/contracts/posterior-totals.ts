// What the router sees of an experiment: the latest partial posterior of every aggregator
// partition, summed per variant. Shared by checks that compare published posteriors with what
// they expect (tests, the chaos run). Pure.
import type { PosteriorPublished, VariantCounts } from './events.ts';

export type VariantTotals = Omit<VariantCounts, 'variant'>;

export const emptyTotals = (): VariantTotals => ({
  successes: 0,
  failures: 0,
  count: 0,
  implicit: 0,
  dropped: 0,
  late: 0,
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

/** Sums the latest partials of an experiment per variant. */
export function sumPartials(
  partials: Iterable<PosteriorPublished>,
  experiment: string,
): Map<string, VariantTotals> {
  const sums = new Map<string, VariantTotals>();
  for (const partial of latestPartials(partials, experiment)) {
    for (const v of partial.variants) {
      const s = sums.get(v.variant) ?? emptyTotals();
      sums.set(v.variant, {
        successes: s.successes + v.successes,
        failures: s.failures + v.failures,
        count: s.count + v.count,
        implicit: s.implicit + v.implicit,
        dropped: s.dropped + v.dropped,
        late: s.late + v.late,
      });
    }
  }
  return sums;
}
