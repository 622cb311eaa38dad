import { describe, expect, it } from 'vitest';
import {
  checkSnapshots,
  comparePartials,
  formatProgress,
  nextInput,
  positionOf,
} from '../../../../services/cli/core/posterior-diff.ts';
import { posteriorPublished, variantCounts } from '../../../support/fixtures.ts';

const snapshot = (successes: number, version: number, expectedAssigned = 0.3) =>
  posteriorPublished({
    version,
    variants: [{ ...variantCounts('a', successes, 4), expectedAssigned }, variantCounts('b', 2, 2)],
  });

describe('comparing replayed and published partials', () => {
  it('finds exact differences in counts and tolerates rounding in float sums', () => {
    expect(comparePartials(snapshot(3, 9), snapshot(3, 9, 0.3 + 1e-15))).toEqual([]);
    expect(comparePartials(snapshot(4, 9), snapshot(3, 9))).toEqual([
      {
        experiment: 'spam-filter',
        partition: 0,
        version: 9,
        field: 'variant a successes',
        published: 4,
        replayed: 3,
      },
      {
        experiment: 'spam-filter',
        partition: 0,
        version: 9,
        field: 'variant a count',
        published: 8,
        replayed: 7,
      },
      {
        experiment: 'spam-filter',
        partition: 0,
        version: 9,
        field: 'variant a rewardSum',
        published: 4,
        replayed: 3,
      },
      {
        experiment: 'spam-filter',
        partition: 0,
        version: 9,
        field: 'variant a rewardSumSquares',
        published: 4,
        replayed: 3,
      },
      {
        experiment: 'spam-filter',
        partition: 0,
        version: 9,
        field: 'variant a decayed.weight',
        published: 8,
        replayed: 7,
      },
      {
        experiment: 'spam-filter',
        partition: 0,
        version: 9,
        field: 'variant a decayed.rewardSum',
        published: 4,
        replayed: 3,
      },
      {
        experiment: 'spam-filter',
        partition: 0,
        version: 9,
        field: 'variant a decayed.rewardSumSquares',
        published: 4,
        replayed: 3,
      },
    ]);
    const missing = posteriorPublished({ version: 9, variants: [snapshot(3, 9).variants[0]!] });
    expect(comparePartials(snapshot(3, 9), missing).map((d) => d.field)).toEqual(['variant b']);
  });

  it('sorts each published snapshot into match, diverged, unaligned or beyond the range', () => {
    const replayed = new Map([[5, snapshot(3, 5)]]);
    const checks = checkSnapshots(
      [snapshot(3, 5), snapshot(2, 5), snapshot(3, 6), snapshot(3, 12)],
      (_p, v) => replayed.get(v),
      () => 10,
    );
    expect(checks.map((c) => c.kind)).toEqual(['match', 'diverged', 'unaligned', 'beyond-range']);
  });

  it('walks predictions to the decisions, then labels to the other outcomes of a published partial', () => {
    const partial = posteriorPublished({
      version: 12,
      variants: [
        { ...variantCounts('a', 1, 1), assigned: 4 },
        { ...variantCounts('b', 1, 0), assigned: 3 },
      ],
    });
    const target = positionOf(partial);
    expect(target).toEqual({ version: 12, decisions: 7, resolutions: 5 });
    const more = { predictions: true, labels: true };
    expect(nextInput({ version: 6, decisions: 5, resolutions: 1 }, target, more)).toBe(
      'prediction',
    );
    expect(nextInput({ version: 9, decisions: 7, resolutions: 2 }, target, more)).toBe('label');
    expect(nextInput(target, target, more)).toBe('stop');
    expect(
      nextInput({ version: 6, decisions: 5, resolutions: 1 }, target, {
        ...more,
        predictions: false,
      }),
    ).toBe('stop');
    // Past it (a prediction resolved held labels beyond the target): stop, unaligned.
    expect(nextInput({ version: 13, decisions: 7, resolutions: 6 }, target, more)).toBe('stop');
  });

  it('formats progress with rate and ETA', () => {
    expect(formatProgress(250, 1000, 500)).toBe(
      '[######..................] 250/1000 records (25.0%), 500 records/s, ETA 2s',
    );
    expect(formatProgress(0, 10, 0)).toContain('ETA ?');
  });
});
