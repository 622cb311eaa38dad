// Vose's alias method: O(n) construction, O(1) sampling from a fixed discrete distribution.
//
// Walker (1977) showed that any distribution over n outcomes can be written as n equally
// likely columns, each holding at most two outcomes: the column's own index with probability
// `threshold[i]` and one "alias" otherwise. Vose (1991, "A linear algorithm for generating
// random numbers with a given distribution", IEEE TSE 17(9)) gave the numerically stable O(n)
// construction used here: scale the weights to mean 1, then repeatedly let one under-full
// column (< 1) be topped up by one over-full column (>= 1), which gives away exactly what was
// missing and is re-filed as under- or over-full.

import type { RandomSource } from './random.ts';

export interface AliasTable {
  /** Number of outcomes (columns). */
  readonly size: number;
  /** Probability of keeping column i's own outcome once column i is chosen. */
  readonly threshold: Float64Array;
  /** The other outcome of column i. */
  readonly alias: Uint32Array;
}

/**
 * Builds an alias table for outcome i having probability weights[i] / Σ weights.
 * Weights must be finite and >= 0 with a positive sum; otherwise throws RangeError.
 * Outcomes with weight 0 are never sampled.
 */
export function buildAliasTable(weights: readonly number[]): AliasTable {
  const size = weights.length;
  if (size === 0) throw new RangeError('alias table needs at least one weight');
  let total = 0;
  for (const weight of weights) {
    if (!(Number.isFinite(weight) && weight >= 0)) {
      throw new RangeError(`alias table weights must be finite and >= 0, got ${weight}`);
    }
    total += weight;
  }
  if (!(total > 0 && Number.isFinite(total))) {
    throw new RangeError('alias table weights must have a positive, finite sum');
  }

  const scaled = new Float64Array(size);
  const threshold = new Float64Array(size);
  const alias = new Uint32Array(size);
  const small: number[] = [];
  const large: number[] = [];
  const zeros: number[] = [];
  for (let i = 0; i < size; i += 1) {
    const value = ((weights[i] ?? 0) / total) * size;
    scaled[i] = value;
    alias[i] = i;
    if (value === 0) zeros.push(i);
    else if (value < 1) small.push(i);
    else large.push(i);
  }
  // Zero-weight columns go on top of the stack so they are paired first, while an over-full
  // column certainly exists (mass remaining = columns remaining, so a zero column can only be
  // left over if a whole unit of mass went missing). A leftover column is given threshold 1,
  // which must never happen to a zero-weight outcome.
  small.push(...zeros.reverse());

  while (small.length > 0 && large.length > 0) {
    const under = small.pop();
    const over = large.pop();
    if (under === undefined || over === undefined) break; // unreachable: both stacks were non-empty
    const underValue = scaled[under] ?? 0;
    threshold[under] = underValue;
    alias[under] = over;
    const remaining = (scaled[over] ?? 0) + underValue - 1;
    scaled[over] = remaining;
    if (remaining < 1) small.push(over);
    else large.push(over);
  }
  // What is left is full up to rounding error (Vose's fix for numerical drift).
  for (const i of large) threshold[i] = 1;
  for (const i of small) {
    if ((weights[i] ?? 0) > 0) {
      threshold[i] = 1;
    } else {
      // Defensive only (see above): send the column to a positive outcome, never to itself.
      threshold[i] = 0;
      alias[i] = weights.findIndex((weight) => weight > 0);
    }
  }

  return { size, threshold, alias };
}

/**
 * Draws one outcome index: a uniform column, then a biased coin between the column's own
 * outcome and its alias. Two uniforms, O(1).
 */
export function sampleAliasTable(table: AliasTable, random: RandomSource): number {
  const column = Math.min(table.size - 1, Math.floor(random() * table.size));
  return random() < (table.threshold[column] ?? 0) ? column : (table.alias[column] ?? column);
}
