import { describe, expect, it } from 'vitest';
import {
  emptyCounts,
  foldReward,
  type ExperimentCounts,
} from '../../../../services/aggregator/core/variant-counts.ts';

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

describe('emptyCounts', () => {
  it('starts with no variants at version 0', () => {
    expect(emptyCounts('spam-filter')).toEqual({
      experiment: 'spam-filter',
      variants: [],
      version: 0,
    });
  });
});

describe('foldReward', () => {
  it('adds a new variant with α = r, β = 1 − r, count 1 and bumps the version', () => {
    expect(foldReward(emptyCounts('e'), 'model-a', 1)).toEqual({
      experiment: 'e',
      variants: [{ variant: 'model-a', successes: 1, failures: 0, count: 1 }],
      version: 1,
    });
    expect(foldReward(emptyCounts('e'), 'model-a', 0).variants).toEqual([
      { variant: 'model-a', successes: 0, failures: 1, count: 1 },
    ]);
  });

  it('adds r to successes and 1 − r to failures of an existing variant', () => {
    const start: ExperimentCounts = {
      experiment: 'e',
      variants: [
        { variant: 'model-a', successes: 2, failures: 3, count: 5 },
        { variant: 'model-b', successes: 1, failures: 1, count: 2 },
      ],
      version: 7,
    };
    const next = foldReward(start, 'model-b', 0.25);
    expect(next.version).toBe(8);
    expect(next.experiment).toBe('e');
    expect(next.variants[0]).toEqual({ variant: 'model-a', successes: 2, failures: 3, count: 5 });
    expect(next.variants[1]?.variant).toBe('model-b');
    expect(next.variants[1]?.successes).toBeCloseTo(1.25, 12);
    expect(next.variants[1]?.failures).toBeCloseTo(1.75, 12);
    expect(next.variants[1]?.count).toBe(3);
  });

  it('appends new variants after the existing ones, in arrival order', () => {
    let counts = emptyCounts('e');
    counts = foldReward(counts, 'model-b', 1);
    counts = foldReward(counts, 'model-a', 0);
    counts = foldReward(counts, 'model-c', 1);
    counts = foldReward(counts, 'model-a', 1);
    expect(counts.variants.map((v) => v.variant)).toEqual(['model-b', 'model-a', 'model-c']);
    expect(counts.variants[1]).toEqual({ variant: 'model-a', successes: 1, failures: 1, count: 2 });
    expect(counts.version).toBe(4);
  });

  it('keeps successes + failures equal to count over many fractional rewards', () => {
    let counts = emptyCounts('e');
    const rewards = [0, 1, 0.3, 0.7, 0.5, 1, 0.1, 0, 0.9];
    for (const r of rewards) counts = foldReward(counts, 'model-a', r);
    const [arm] = counts.variants;
    expect(arm?.count).toBe(rewards.length);
    expect(arm?.successes).toBeCloseTo(
      rewards.reduce((a, b) => a + b, 0),
      12,
    );
    expect((arm?.successes ?? 0) + (arm?.failures ?? 0)).toBeCloseTo(rewards.length, 12);
    expect(counts.version).toBe(rewards.length);
  });

  it('does not mutate its input (existing or new variant)', () => {
    const start = deepFreeze<ExperimentCounts>({
      experiment: 'e',
      variants: [{ variant: 'model-a', successes: 2, failures: 3, count: 5 }],
      version: 5,
    });
    const snapshot = structuredClone(start);
    const updated = foldReward(start, 'model-a', 1);
    const added = foldReward(start, 'model-b', 0);
    expect(start).toEqual(snapshot);
    expect(updated.variants).not.toBe(start.variants);
    expect(added.variants).not.toBe(start.variants);
    expect(added.variants).toHaveLength(2);
    expect(start.variants).toHaveLength(1);
  });
});
