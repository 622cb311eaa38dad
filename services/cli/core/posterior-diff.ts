// `dynab replay`: comparing the posteriors a replay rebuilt with the ones the aggregator
// published, and reporting progress. Pure.
//
// A partial posterior's `version` is the number of outcomes folded into its counts (see
// services/aggregator/core/variant-counts.ts); with its decisions (Σ assigned) it says how far
// into each input topic the aggregator was (see nextInput): a published snapshot is compared
// with the replayed counts at the same version, decisions and resolutions. Counts and sums of 0/1 rewards are compared exactly; the
// floating sums that depend on the order of additions (expected assignments, discounted sums) to
// a relative 1e-9.
import type { PosteriorPublished, VariantCounts } from '../../../lib/contracts/events.ts';

export interface Divergence {
  readonly experiment: string;
  readonly partition: number;
  readonly version: number;
  /** "variant champion successes", say. */
  readonly field: string;
  readonly published: number | string;
  readonly replayed: number | string;
}

const EXACT = [
  'successes',
  'failures',
  'count',
  'implicit',
  'dropped',
  'late',
  'rewardSum',
  'rewardSumSquares',
  'assigned',
] as const satisfies readonly (keyof VariantCounts)[];

const RELATIVE_TOLERANCE = 1e-9;

const close = (a: number, b: number): boolean =>
  a === b || Math.abs(a - b) <= RELATIVE_TOLERANCE * Math.max(1, Math.abs(a), Math.abs(b));

/** Every field where the replayed partial differs from the published one (same version). */
export function comparePartials(
  published: PosteriorPublished,
  replayed: PosteriorPublished,
): Divergence[] {
  const out: Divergence[] = [];
  const at = (field: string, p: number | string, r: number | string): void => {
    out.push({
      experiment: published.experiment,
      partition: published.partition,
      version: published.version,
      field,
      published: p,
      replayed: r,
    });
  };
  const compareList = (
    kind: string,
    a: readonly VariantCounts[],
    b: readonly VariantCounts[],
  ): void => {
    const names = [...new Set([...a, ...b].map((v) => v.variant))].sort();
    for (const name of names) {
      const p = a.find((v) => v.variant === name);
      const r = b.find((v) => v.variant === name);
      if (p === undefined || r === undefined) {
        at(
          `${kind} ${name}`,
          p === undefined ? 'absent' : 'present',
          r === undefined ? 'absent' : 'present',
        );
        continue;
      }
      for (const field of EXACT) {
        if (p[field] !== r[field]) at(`${kind} ${name} ${field}`, p[field], r[field]);
      }
      if (!close(p.expectedAssigned, r.expectedAssigned))
        at(`${kind} ${name} expectedAssigned`, p.expectedAssigned, r.expectedAssigned);
      for (const field of ['weight', 'rewardSum', 'rewardSumSquares'] as const) {
        if (!close(p.decayed[field], r.decayed[field]))
          at(`${kind} ${name} decayed.${field}`, p.decayed[field], r.decayed[field]);
      }
    }
  };
  compareList('variant', published.variants, replayed.variants);
  compareList('shadow', published.shadowVariants, replayed.shadowVariants);
  if (published.decayedAt !== replayed.decayedAt)
    at('decayedAt', published.decayedAt, replayed.decayedAt);
  return out;
}

/** What became of one published snapshot in the comparison. */
export type SnapshotCheck =
  | { readonly kind: 'match'; readonly snapshot: PosteriorPublished }
  | {
      readonly kind: 'diverged';
      readonly snapshot: PosteriorPublished;
      readonly divergences: readonly Divergence[];
    }
  /** The replay never stood at exactly this version (it lies inside one replayed step). */
  | { readonly kind: 'unaligned'; readonly snapshot: PosteriorPublished }
  /** Beyond what the replayed range folded in: published from records after the range. */
  | { readonly kind: 'beyond-range'; readonly snapshot: PosteriorPublished };

/**
 * Checks each published snapshot against the replayed states: `replayed(p)` holds the partial
 * of partition p at every version the replay stood at, `finalVersion(p)` the last one.
 */
export function checkSnapshots(
  published: readonly PosteriorPublished[],
  replayed: (partition: number, version: number) => PosteriorPublished | undefined,
  finalVersion: (partition: number) => number,
): SnapshotCheck[] {
  return published.map((snapshot) => {
    if (snapshot.version > finalVersion(snapshot.partition))
      return { kind: 'beyond-range', snapshot };
    const mine = replayed(snapshot.partition, snapshot.version);
    if (mine === undefined) return { kind: 'unaligned', snapshot };
    const divergences = comparePartials(snapshot, mine);
    return divergences.length === 0
      ? { kind: 'match', snapshot }
      : { kind: 'diverged', snapshot, divergences };
  });
}

/**
 * Where a partial stands: decisions folded (Σ assigned, served and shadow) and the other outcomes
 * (rewards, drops, late labels: version − decisions).
 */
export interface Position {
  readonly version: number;
  readonly decisions: number;
  readonly resolutions: number;
}

export function positionOf(partial: PosteriorPublished | undefined): Position {
  if (partial === undefined) return { version: 0, decisions: 0, resolutions: 0 };
  let decisions = 0;
  for (const v of partial.variants) decisions += v.assigned;
  for (const v of partial.shadowVariants) decisions += v.assigned;
  return { version: partial.version, decisions, resolutions: partial.version - decisions };
}

/**
 * Which input to replay next to reach a published partial. The live aggregator interleaves the
 * predictions and labels topics as its fetches come, so the state after V outcomes depends on
 * that interleaving; it is fixed instead by how many decisions and how many resolutions it holds.
 * Both grow monotonically with the prefix of each topic consumed, and until windows close the
 * join does not depend on the interleaving, so replaying predictions until the decisions match,
 * then labels until the resolutions match, reaches the state the aggregator published (the
 * resolved set at the shortest label prefix is a subset of the live one of the same size: the
 * same set).
 */
export function nextInput(
  at: Position,
  target: Position,
  more: { readonly predictions: boolean; readonly labels: boolean },
): 'prediction' | 'label' | 'stop' {
  if (at.decisions < target.decisions) return more.predictions ? 'prediction' : 'stop';
  if (at.decisions === target.decisions && at.resolutions < target.resolutions)
    return more.labels ? 'label' : 'stop';
  return 'stop';
}

/** One progress line: done/total, rate and ETA from the elapsed time. */
export function formatProgress(done: number, total: number, elapsedMs: number): string {
  const share = total === 0 ? 1 : Math.min(1, done / total);
  const rate = elapsedMs > 0 ? (done * 1000) / elapsedMs : 0;
  const remaining = Math.max(0, total - done);
  const eta = rate > 0 ? `${Math.ceil(remaining / rate)}s` : '?';
  const width = 24;
  const filled = Math.round(share * width);
  const bar = `${'#'.repeat(filled)}${'.'.repeat(width - filled)}`;
  return `[${bar}] ${done}/${total} records (${(share * 100).toFixed(1)}%), ${Math.round(rate)} records/s, ETA ${eta}`;
}
