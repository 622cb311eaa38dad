import { describe, expect, it } from 'vitest';
import { gaussLegendreRule } from '../../../lib/bandit/gauss-legendre.ts';

describe('gaussLegendreRule', () => {
  it('integrates polynomials up to degree 2n - 1 exactly on [-1, 1]', () => {
    const rule = gaussLegendreRule(8);
    for (let degree = 0; degree <= 15; degree += 1) {
      let sum = 0;
      for (let q = 0; q < rule.size; q += 1) {
        sum += (rule.weights[q] ?? 0) * (rule.nodes[q] ?? 0) ** degree;
      }
      const exact = degree % 2 === 1 ? 0 : 2 / (degree + 1);
      expect(Math.abs(sum - exact)).toBeLessThan(1e-14);
    }
    // ...but not degree 16 (the rule is not a tautology).
    let sum16 = 0;
    for (let q = 0; q < rule.size; q += 1)
      sum16 += (rule.weights[q] ?? 0) * (rule.nodes[q] ?? 0) ** 16;
    expect(Math.abs(sum16 - 2 / 17)).toBeGreaterThan(1e-6);
  });

  it('has ascending, symmetric nodes and the known 2-point rule', () => {
    const two = gaussLegendreRule(2);
    expect(two.nodes[0]).toBeCloseTo(-1 / Math.sqrt(3), 15);
    expect(two.nodes[1]).toBeCloseTo(1 / Math.sqrt(3), 15);
    expect(two.weights[0]).toBeCloseTo(1, 15);
    const rule = gaussLegendreRule(8);
    for (let q = 0; q < 8; q += 1) {
      expect((rule.nodes[q] ?? 0) + (rule.nodes[7 - q] ?? 0)).toBeCloseTo(0, 15);
      if (q > 0) expect(rule.nodes[q]).toBeGreaterThan(rule.nodes[q - 1] ?? 0);
    }
  });

  it('running matrix integrates polynomials of degree n - 1 from -1 to each node', () => {
    const rule = gaussLegendreRule(8);
    for (let degree = 0; degree <= 7; degree += 1) {
      for (let p = 0; p < 8; p += 1) {
        let sum = 0;
        for (let q = 0; q < 8; q += 1) {
          sum += (rule.running[p * 8 + q] ?? 0) * (rule.nodes[q] ?? 0) ** degree;
        }
        const g = rule.nodes[p] ?? 0;
        const exact = (g ** (degree + 1) - (-1) ** (degree + 1)) / (degree + 1);
        expect(Math.abs(sum - exact)).toBeLessThan(1e-14);
      }
    }
  });

  it('rejects sizes outside [1, 64]', () => {
    expect(() => gaussLegendreRule(0)).toThrow(RangeError);
    expect(() => gaussLegendreRule(2.5)).toThrow(RangeError);
  });
});
