import { describe, expect, it } from 'vitest';
import {
  buildAliasTable,
  sampleAliasTable,
  type AliasTable,
} from '../../../lib/bandit/alias-table.ts';
import { createSeededRandom, type RandomSource } from '../../../lib/bandit/random.ts';

/** Critical values of the chi-square distribution at p = 0.001, by degrees of freedom. */
const CHI_SQUARE_CRITICAL_0_001: Readonly<Record<number, number>> = {
  3: 16.266,
  5: 20.515,
  9: 27.877,
};

function countDraws(table: AliasTable, draws: number, random: RandomSource): number[] {
  const counts = new Array<number>(table.size).fill(0);
  for (let i = 0; i < draws; i += 1) {
    const index = sampleAliasTable(table, random);
    counts[index] = (counts[index] ?? 0) + 1;
  }
  return counts;
}

/** Pearson's statistic over the outcomes with positive expected count. */
function chiSquareStatistic(counts: readonly number[], weights: readonly number[]): number {
  const total = weights.reduce((sum, weight) => sum + weight, 0);
  const draws = counts.reduce((sum, count) => sum + count, 0);
  let statistic = 0;
  weights.forEach((weight, i) => {
    if (weight === 0) return;
    const expected = (draws * weight) / total;
    statistic += ((counts[i] ?? 0) - expected) ** 2 / expected;
  });
  return statistic;
}

/** The distribution a table encodes: (own share of column i + alias shares pointing at i) / n. */
function impliedProbabilities(table: AliasTable): number[] {
  const mass = new Array<number>(table.size).fill(0);
  for (let column = 0; column < table.size; column += 1) {
    const keep = table.threshold[column] ?? 0;
    const other = table.alias[column] ?? column;
    mass[column] = (mass[column] ?? 0) + keep;
    mass[other] = (mass[other] ?? 0) + (1 - keep);
  }
  return mass.map((value) => value / table.size);
}

describe('buildAliasTable', () => {
  it('encodes exactly the normalised weights', () => {
    const weights = [5, 1, 0, 3, 0.5, 10, 2.5];
    const total = weights.reduce((sum, weight) => sum + weight, 0);
    const implied = impliedProbabilities(buildAliasTable(weights));
    weights.forEach((weight, i) => expect(implied[i]).toBeCloseTo(weight / total, 14));
  });

  it('rejects empty, negative, non-finite and all-zero weights', () => {
    expect(() => buildAliasTable([])).toThrow(RangeError);
    expect(() => buildAliasTable([1, -1])).toThrow(RangeError);
    expect(() => buildAliasTable([1, Number.NaN])).toThrow(RangeError);
    expect(() => buildAliasTable([1, Number.POSITIVE_INFINITY])).toThrow(RangeError);
    expect(() => buildAliasTable([0, 0, 0])).toThrow(RangeError);
    expect(() => buildAliasTable([Number.MAX_VALUE, Number.MAX_VALUE])).toThrow(RangeError);
  });
});

describe('sampleAliasTable', () => {
  it('passes a chi-square goodness-of-fit test and never draws zero weights', () => {
    const weights = [5, 1, 0, 3, 0.5, 10, 2.5, 0];
    const counts = countDraws(buildAliasTable(weights), 200_000, createSeededRandom(31));
    expect(counts[2]).toBe(0);
    expect(counts[7]).toBe(0);
    // 6 outcomes with positive weight: 5 degrees of freedom.
    expect(chiSquareStatistic(counts, weights)).toBeLessThan(CHI_SQUARE_CRITICAL_0_001[5] ?? 0);
  });

  it('fits unnormalised, widely spread weights (10 outcomes)', () => {
    const weights = [1e9, 3e9, 2.5e8, 7e9, 1e8, 4.2e9, 9e8, 6e9, 2e9, 5e7];
    const counts = countDraws(buildAliasTable(weights), 200_000, createSeededRandom(32));
    expect(chiSquareStatistic(counts, weights)).toBeLessThan(CHI_SQUARE_CRITICAL_0_001[9] ?? 0);
  });

  it('fits uniform weights', () => {
    const weights = [1, 1, 1, 1];
    const counts = countDraws(buildAliasTable(weights), 100_000, createSeededRandom(33));
    expect(chiSquareStatistic(counts, weights)).toBeLessThan(CHI_SQUARE_CRITICAL_0_001[3] ?? 0);
  });

  it('detects a wrong distribution (the test can fail)', () => {
    const counts = countDraws(buildAliasTable([1, 1, 1, 1]), 100_000, createSeededRandom(34));
    expect(chiSquareStatistic(counts, [1, 1, 1, 1.1])).toBeGreaterThan(
      CHI_SQUARE_CRITICAL_0_001[3] ?? 0,
    );
  });

  it('always returns the only outcome, and stays in range for uniforms just below 1', () => {
    const single = buildAliasTable([0.2]);
    expect(countDraws(single, 1000, createSeededRandom(35))).toEqual([1000]);
    const table = buildAliasTable([1, 2, 3]);
    const almostOne = 1 - 2 ** -53;
    expect(sampleAliasTable(table, () => almostOne)).toBeLessThan(3);
    expect(sampleAliasTable(table, () => 0)).toBeGreaterThanOrEqual(0);
  });
});
