import { describe, expect, it } from 'vitest';
import { createSeededRandom } from '../../../lib/bandit/random.ts';
import {
  anytimePValue,
  confidenceRadius,
  differenceConfidenceSequence,
  meanConfidenceSequence,
  TIGHTEST_AT,
} from '../../../lib/stats/confidence-sequence.ts';

const BOUNDED = 0.25;

describe('meanConfidenceSequence', () => {
  it('is the normal-mixture boundary sqrt((V + ρ) ln((V + ρ)/(ρ α²))) / n', () => {
    const rho = BOUNDED * TIGHTEST_AT;
    const v = BOUNDED * 400 + rho;
    const radius = Math.sqrt(v * Math.log(v / (rho * 0.05 * 0.05))) / 400;
    expect(confidenceRadius({ n: 400, mean: 0.3, variance: BOUNDED }, 0.05)).toBeCloseTo(
      radius,
      14,
    );
    expect(meanConfidenceSequence({ n: 400, mean: 0.3, variance: BOUNDED }, 0.05)).toEqual({
      lower: 0.3 - radius,
      upper: 0.3 + radius,
    });
    expect(confidenceRadius({ n: 0, mean: 0, variance: BOUNDED }, 0.05)).toBe(Infinity);
    expect(() => confidenceRadius({ n: 1, mean: 0, variance: BOUNDED }, 1)).toThrow(RangeError);
  });

  it('covers the true mean at every sample size at once in ≥ 95% of seeded runs, where the fixed-n interval does not', () => {
    // 300 runs of 2,000 Bernoulli(0.3) rewards, checked after every reward (seed 7).
    const random = createSeededRandom(7);
    let anytimeMisses = 0;
    let fixedMisses = 0;
    for (let run = 0; run < 300; run++) {
      let sum = 0;
      let anytimeMissed = false;
      let fixedMissed = false;
      for (let n = 1; n <= 2_000; n++) {
        sum += random() < 0.3 ? 1 : 0;
        const mean = sum / n;
        const { lower, upper } = meanConfidenceSequence({ n, mean, variance: BOUNDED }, 0.05);
        if (lower > 0.3 || upper < 0.3) anytimeMissed = true;
        const fixed = 1.96 * Math.sqrt(0.21 / n);
        if (n >= 30 && Math.abs(mean - 0.3) > fixed) fixedMissed = true;
      }
      if (anytimeMissed) anytimeMisses++;
      if (fixedMissed) fixedMisses++;
    }
    expect(anytimeMisses / 300).toBeLessThanOrEqual(0.05);
    // The textbook 95% interval read after every reward misses in far more than 5% of runs.
    expect(fixedMisses / 300).toBeGreaterThan(0.15);
  });

  it('stays valid when a bandit decides which variant gets each reward', () => {
    // Greedy on the running means with 10% uniform exploration: the traffic depends on the
    // rewards seen. Both variants' sequences must still cover their means (seed 11, 200 runs).
    const random = createSeededRandom(11);
    const rates = [0.2, 0.25];
    let misses = 0;
    for (let run = 0; run < 200; run++) {
      const sums = [0, 0];
      const counts = [0, 0];
      let missed = false;
      for (let t = 0; t < 2_000; t++) {
        const means = counts.map((c, k) => (c === 0 ? 1 : (sums[k] ?? 0) / c));
        const k =
          random() < 0.1 ? (random() < 0.5 ? 0 : 1) : (means[0] ?? 0) >= (means[1] ?? 0) ? 0 : 1;
        sums[k] = (sums[k] ?? 0) + (random() < (rates[k] ?? 0) ? 1 : 0);
        counts[k] = (counts[k] ?? 0) + 1;
        const n = counts[k];
        const cs = meanConfidenceSequence({ n, mean: sums[k] / n, variance: BOUNDED }, 0.05);
        if (cs.lower > (rates[k] ?? 0) || cs.upper < (rates[k] ?? 0)) missed = true;
      }
      if (missed) misses++;
    }
    expect(misses / 200).toBeLessThanOrEqual(0.05);
  });
});

describe('differenceConfidenceSequence and anytimePValue', () => {
  const a = { n: 2_000, mean: 0.3, variance: BOUNDED };
  const b = { n: 2_000, mean: 0.4, variance: BOUNDED };

  it('spends α/2 on each variant', () => {
    const interval = differenceConfidenceSequence(a, b, 0.05);
    const radius = confidenceRadius(a, 0.025) + confidenceRadius(b, 0.025);
    expect(interval.lower).toBeCloseTo(0.1 - radius, 14);
    expect(interval.upper).toBeCloseTo(0.1 + radius, 14);
  });

  it('gives the smallest α whose interval excludes 0', () => {
    const p = anytimePValue(a, b);
    expect(p).toBeGreaterThan(0);
    expect(p).toBeLessThan(0.05);
    expect(differenceConfidenceSequence(a, b, p * 1.001).lower).toBeGreaterThan(0);
    expect(differenceConfidenceSequence(a, b, p * 0.999).lower).toBeLessThan(0);
    expect(anytimePValue(a, { ...b, mean: 0.3 })).toBe(1);
  });

  it('rejects equal means in at most 5% of seeded A/A runs checked after every 50 rewards', () => {
    const random = createSeededRandom(13);
    let rejections = 0;
    for (let run = 0; run < 200; run++) {
      const sums = [0, 0];
      for (let n = 1; n <= 3_000; n++) {
        sums[0] = (sums[0] ?? 0) + (random() < 0.3 ? 1 : 0);
        sums[1] = (sums[1] ?? 0) + (random() < 0.3 ? 1 : 0);
        if (n % 50 !== 0) continue;
        const p = anytimePValue(
          { n, mean: sums[0] / n, variance: BOUNDED },
          { n, mean: sums[1] / n, variance: BOUNDED },
        );
        if (p <= 0.05) {
          rejections++;
          break;
        }
      }
    }
    expect(rejections / 200).toBeLessThanOrEqual(0.05);
  });
});
