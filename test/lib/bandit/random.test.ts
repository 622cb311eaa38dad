import { describe, expect, it } from 'vitest';
import {
  createSeededRandom,
  sampleBeta,
  sampleGamma,
  sampleStandardNormal,
  type RandomSource,
} from '../../../lib/bandit/random.ts';

const DRAWS = 200_000;

interface Moments {
  readonly mean: number;
  readonly variance: number;
}

function measureMoments(draw: () => number, count: number): Moments {
  // Welford's update keeps the variance accurate even for means far from 0.
  let mean = 0;
  let sumOfSquares = 0;
  for (let i = 1; i <= count; i += 1) {
    const value = draw();
    const delta = value - mean;
    mean += delta / i;
    sumOfSquares += delta * (value - mean);
  }
  return { mean, variance: sumOfSquares / (count - 1) };
}

/**
 * Asserts sample mean and variance against the true values within 5 standard errors:
 * se(mean) = sd / sqrt(n), se(s²) = σ² sqrt((2 + excess kurtosis) / n).
 */
function expectMoments(
  measured: Moments,
  truth: { mean: number; variance: number; excessKurtosis: number },
  count: number,
): void {
  const meanError = 5 * Math.sqrt(truth.variance / count);
  const varianceError = 5 * truth.variance * Math.sqrt((2 + truth.excessKurtosis) / count);
  expect(Math.abs(measured.mean - truth.mean)).toBeLessThan(meanError);
  expect(Math.abs(measured.variance - truth.variance)).toBeLessThan(varianceError);
}

describe('createSeededRandom', () => {
  it('is deterministic per seed and differs between seeds', () => {
    const first = createSeededRandom(12345);
    const again = createSeededRandom(12345);
    const other = createSeededRandom(12346);
    const a = Array.from({ length: 50 }, () => first());
    const b = Array.from({ length: 50 }, () => again());
    const c = Array.from({ length: 50 }, () => other());
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    expect(new Set(a).size).toBe(50);
  });

  it('distinguishes seeds that differ only above 32 bits, and negative seeds', () => {
    const low = createSeededRandom(7)();
    expect(createSeededRandom(7 + 2 ** 32)()).not.toBe(low);
    expect(createSeededRandom(-7)()).not.toBe(low);
  });

  it(
    'returns values in [0, 1) that are uniform (chi-square over 20 bins)',
    { timeout: 60_000 },
    () => {
      const random = createSeededRandom(2024);
      const bins = new Array<number>(20).fill(0);
      let outside = 0;
      for (let i = 0; i < DRAWS; i += 1) {
        const u = random();
        if (!(u >= 0 && u < 1)) outside += 1;
        const bin = Math.floor(u * 20);
        bins[bin] = (bins[bin] ?? 0) + 1;
      }
      expect(outside).toBe(0);
      const expected = DRAWS / 20;
      const chiSquare = bins.reduce(
        (sum, observed) => sum + (observed - expected) ** 2 / expected,
        0,
      );
      // Critical value of chi-square with 19 degrees of freedom at p = 0.001.
      expect(chiSquare).toBeLessThan(43.82);
      expectMoments(
        measureMoments(createSeededRandom(99), DRAWS),
        { mean: 0.5, variance: 1 / 12, excessKurtosis: -1.2 },
        DRAWS,
      );
    },
  );

  it('rejects seeds that are not safe integers', () => {
    expect(() => createSeededRandom(1.5)).toThrow(RangeError);
    expect(() => createSeededRandom(Number.NaN)).toThrow(RangeError);
    expect(() => createSeededRandom(2 ** 60)).toThrow(RangeError);
  });
});

describe('sampleStandardNormal', () => {
  it('has mean 0, variance 1 and the normal 2.5% tail', () => {
    const random = createSeededRandom(1);
    const values = Array.from({ length: DRAWS }, () => sampleStandardNormal(random));
    let index = 0;
    expectMoments(
      measureMoments(() => values[index++] ?? Number.NaN, DRAWS),
      { mean: 0, variance: 1, excessKurtosis: 0 },
      DRAWS,
    );
    const tail = values.filter((z) => z < -1.959964).length / DRAWS;
    expect(Math.abs(tail - 0.025)).toBeLessThan(5 * Math.sqrt((0.025 * 0.975) / DRAWS));
  });
});

describe('sampleGamma', () => {
  it.each([0.3, 1, 2.5, 50])('matches mean = variance = shape for shape %s', (shape) => {
    const random = createSeededRandom(Math.round(shape * 1000));
    const moments = measureMoments(() => sampleGamma(shape, random), DRAWS);
    expectMoments(moments, { mean: shape, variance: shape, excessKurtosis: 6 / shape }, DRAWS);
  });

  it('returns positive values for small shapes', () => {
    const random = createSeededRandom(5);
    const draws = Array.from({ length: 10_000 }, () => sampleGamma(0.3, random));
    expect(draws.every((value) => value >= 0 && Number.isFinite(value))).toBe(true);
  });

  it('rejects invalid shapes', () => {
    const random = createSeededRandom(1);
    for (const shape of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => sampleGamma(shape, random)).toThrow(RangeError);
    }
  });
});

describe('sampleBeta', () => {
  /** Excess kurtosis of Beta(a, b). */
  function betaExcessKurtosis(a: number, b: number): number {
    return (
      (6 * ((a - b) ** 2 * (a + b + 1) - a * b * (a + b + 2))) / (a * b * (a + b + 2) * (a + b + 3))
    );
  }

  it.each([
    [0.5, 0.5],
    [1, 1],
    [2, 5],
    [0.2, 3],
    [50_001, 950_001],
  ])('matches the mean and variance of Beta(%s, %s)', (a, b) => {
    const random: RandomSource = createSeededRandom(Math.round(a * 31 + b * 7));
    const moments = measureMoments(() => sampleBeta(a, b, random), DRAWS);
    expectMoments(
      moments,
      {
        mean: a / (a + b),
        variance: (a * b) / ((a + b) ** 2 * (a + b + 1)),
        excessKurtosis: betaExcessKurtosis(a, b),
      },
      DRAWS,
    );
  });

  it('stays inside [0, 1] for tiny shapes, where gamma draws underflow', () => {
    const random = createSeededRandom(3);
    const draws = Array.from({ length: 10_000 }, () => sampleBeta(0.01, 0.01, random));
    expect(draws.every((value) => value >= 0 && value <= 1)).toBe(true);
    // Beta(0.01, 0.01) puts almost all mass next to 0 and 1, about half on each side.
    const belowHalf = draws.filter((value) => value < 0.5).length / draws.length;
    expect(Math.abs(belowHalf - 0.5)).toBeLessThan(5 * Math.sqrt(0.25 / draws.length));
  });

  it('rejects invalid parameters', () => {
    const random = createSeededRandom(1);
    expect(() => sampleBeta(0, 1, random)).toThrow(RangeError);
    expect(() => sampleBeta(1, -2, random)).toThrow(RangeError);
  });
});
