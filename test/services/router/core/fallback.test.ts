import { describe, expect, it } from 'vitest';
import { ENDPOINT_CHOOSES } from '../../../../lib/contracts/events.ts';
import { fallbackAssignment, FallbackReporter } from '../../../../services/router/core/fallback.ts';
import { inferenceRequested } from '../../../support/fixtures.ts';

describe('fallbackAssignment', () => {
  it('asks for no variant, says why, and carries no allocation or shadow copies', () => {
    const request = inferenceRequested({ experiment: 'unknown-endpoint' });
    const assigned = fallbackAssignment(request, 42);
    expect(assigned).toMatchObject({
      request,
      variant: ENDPOINT_CHOOSES,
      policy: 'fallback-weights',
      snapshotVersion: -1,
      propensity: 1,
      decisionTime: 42,
      allocation: [],
      shadowVariants: [],
    });
    expect(assigned.reason).toContain('production-variant weights');
  });

  it('keeps a target variant the caller named', () => {
    const assigned = fallbackAssignment(inferenceRequested({ targetVariant: 'blue' }), 42);
    expect(assigned.variant).toBe('blue');
    expect(assigned.policy).toBe('fallback-weights');
    expect(assigned.reason).toContain('target variant blue');
  });
});

describe('FallbackReporter', () => {
  it('reports the first fallback of an experiment, then at most one line per interval with the count', () => {
    const reporter = new FallbackReporter({ intervalMs: 1_000, maxExperiments: 10 });
    expect(reporter.note('a', 0)).toEqual({ experiment: 'a', fallbacks: 1, first: true });
    expect(reporter.note('a', 10)).toBeNull();
    expect(reporter.note('a', 999)).toBeNull();
    // Another experiment has its own first line.
    expect(reporter.note('b', 500)).toEqual({ experiment: 'b', fallbacks: 1, first: true });
    expect(reporter.note('a', 1_000)).toEqual({ experiment: 'a', fallbacks: 3, first: false });
    expect(reporter.note('a', 1_500)).toBeNull();
    expect(reporter.note('a', 5_000)).toEqual({ experiment: 'a', fallbacks: 2, first: false });
  });

  it('remembers a bounded number of experiments, forgetting the one reported longest ago', () => {
    const reporter = new FallbackReporter({ intervalMs: 1_000, maxExperiments: 2 });
    reporter.note('a', 0);
    reporter.note('b', 1);
    reporter.note('c', 2);
    // `a` was forgotten to make room for `c`, so it starts over; `c` is still remembered.
    expect(reporter.note('c', 3)).toBeNull();
    expect(reporter.note('a', 4)).toEqual({ experiment: 'a', fallbacks: 1, first: true });
    // Remembering `a` again pushed out `b`, now the stalest.
    expect(reporter.note('b', 5)).toEqual({ experiment: 'b', fallbacks: 1, first: true });
  });
});
