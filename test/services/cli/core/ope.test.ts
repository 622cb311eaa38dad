import { describe, expect, it } from 'vitest';
import { parseTargetPolicy } from '../../../../services/cli/core/ope.ts';

const VARIANTS = ['a', 'b', 'c'];

describe('target policies on the command line', () => {
  it('reads variant:, uniform and normalised weights:', () => {
    expect(parseTargetPolicy('variant:b', VARIANTS)).toEqual(new Map([['b', 1]]));
    expect([...parseTargetPolicy('uniform', VARIANTS).values()]).toEqual([1 / 3, 1 / 3, 1 / 3]);
    expect(parseTargetPolicy('weights:a=1,c=3', VARIANTS)).toEqual(
      new Map([
        ['a', 0.25],
        ['c', 0.75],
      ]),
    );
  });

  it('refuses unknown variants and malformed weights', () => {
    expect(() => parseTargetPolicy('variant:z', VARIANTS)).toThrow(/not a variant/);
    expect(() => parseTargetPolicy('weights:a=-1', VARIANTS)).toThrow(/share ≥ 0/);
    expect(() => parseTargetPolicy('weights:a=0', VARIANTS)).toThrow(/sum to 0/);
    expect(() => parseTargetPolicy('greedy', VARIANTS)).toThrow(/not a policy/);
  });
});
