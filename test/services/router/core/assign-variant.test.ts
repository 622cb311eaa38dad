import { describe, expect, it } from 'vitest';
import { createSeededRandom } from '../../../../lib/bandit/random.ts';
import { ENDPOINT_CHOOSES } from '../../../../lib/contracts/events.ts';
import { DynabError, type ErrorCode } from '../../../../lib/errors/catalogue.ts';
import {
  assignVariant,
  type AssignOptions,
} from '../../../../services/router/core/assign-variant.ts';
import {
  buildExperimentRoute,
  type ExperimentRoute,
} from '../../../../services/router/core/routing-table.ts';
import {
  experimentDefined,
  inferenceRequested,
  posteriorPublished,
  variantCounts,
} from '../../../support/fixtures.ts';

const OPTIONS: AssignOptions = { maxPayloadBytes: 1024, unknownExperiment: 'fallback' };
const DEAD_LETTER: AssignOptions = { ...OPTIONS, unknownExperiment: 'dead-letter' };
const NOW = 1_700_000_123_456;

const thompsonRoute: ExperimentRoute = buildExperimentRoute(
  experimentDefined({
    variants: [
      { name: 'model-a', weight: 1 },
      { name: 'model-b', weight: 1 },
      { name: 'model-c', weight: 1 },
    ],
    warmUpRewards: 5,
  }),
  [
    posteriorPublished({
      partition: 0,
      version: 60,
      variants: [
        variantCounts('model-a', 10, 10),
        variantCounts('model-b', 12, 8),
        variantCounts('model-c', 9, 11),
      ],
    }),
    posteriorPublished({
      partition: 1,
      version: 15,
      variants: [variantCounts('model-a', 3, 2), variantCounts('model-c', 1, 4)],
    }),
  ],
);

const staticRoute: ExperimentRoute = buildExperimentRoute(
  experimentDefined({ policy: 'static-weights' }),
  [],
);

function expectDynabError(run: () => unknown, code: ErrorCode): DynabError {
  let caught: unknown;
  try {
    run();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(DynabError);
  const error = caught as DynabError;
  expect(error.code).toBe(code);
  expect(error.retriable).toBe(false);
  return error;
}

describe('assignVariant', () => {
  it('sanity: the thompson route used below is past warm-up and non-degenerate', () => {
    expect(thompsonRoute.policy).toBe('thompson-sampling');
    expect(thompsonRoute.snapshotVersion).toBe(75);
    for (const p of thompsonRoute.plan.probabilities) {
      expect(p).toBeGreaterThan(0.02);
      expect(p).toBeLessThan(0.9);
    }
  });

  it('copies the request, route policy, reason, snapshot version and decision time', () => {
    const request = inferenceRequested();
    const assigned = assignVariant(request, thompsonRoute, OPTIONS, createSeededRandom(1), NOW);
    expect(assigned.request).toBe(request);
    expect(assigned.policy).toBe('thompson-sampling');
    expect(assigned.reason).toBe('posterior');
    expect(assigned.snapshotVersion).toBe(75);
    expect(assigned.decisionTime).toBe(NOW);
    expect(thompsonRoute.plan.variants).toContain(assigned.variant);
  });

  it('routes a static-weights route with its weight as the propensity', () => {
    const random = createSeededRandom(2);
    for (let i = 0; i < 50; i++) {
      const assigned = assignVariant(inferenceRequested(), staticRoute, OPTIONS, random, NOW);
      expect(assigned.policy).toBe('static-weights');
      expect(assigned.snapshotVersion).toBe(-1);
      expect(assigned.propensity).toBe(assigned.variant === 'model-a' ? 0.25 : 0.75);
    }
  });

  it('honours a target variant with propensity 1 and policy target-variant', () => {
    const request = inferenceRequested({ targetVariant: 'model-c' });
    const assigned = assignVariant(request, thompsonRoute, OPTIONS, createSeededRandom(3), NOW);
    expect(assigned).toEqual({
      request,
      variant: 'model-c',
      policy: 'target-variant',
      snapshotVersion: 75,
      propensity: 1,
      reason: 'target variant requested by the caller',
      decisionTime: NOW,
      allocation: [{ variant: 'model-c', probability: 1 }],
      shadowVariants: [],
      experimentRevision: 1,
    });
  });

  it('does not consume randomness for a target variant', () => {
    let calls = 0;
    const counting = () => {
      calls++;
      return 0.5;
    };
    assignVariant(
      inferenceRequested({ targetVariant: 'model-a' }),
      thompsonRoute,
      OPTIONS,
      counting,
      NOW,
    );
    expect(calls).toBe(0);
  });

  it('rejects an unknown target variant with UNKNOWN_VARIANT', () => {
    const error = expectDynabError(
      () =>
        assignVariant(
          inferenceRequested({ requestId: 'r-9', targetVariant: 'model-z' }),
          thompsonRoute,
          OPTIONS,
          createSeededRandom(4),
          NOW,
        ),
      'UNKNOWN_VARIANT',
    );
    expect(error.message).toContain('model-z');
    expect(error.message).toContain('r-9');
  });

  it('leaves an unknown experiment (no route) to the endpoint weights in fallback mode', () => {
    let calls = 0;
    const counting = () => {
      calls++;
      return 0.5;
    };
    const request = inferenceRequested({ requestId: 'r-f', experiment: 'nope' });
    expect(assignVariant(request, undefined, OPTIONS, counting, NOW)).toEqual({
      request,
      variant: ENDPOINT_CHOOSES,
      policy: 'fallback-weights',
      snapshotVersion: -1,
      propensity: 1,
      reason: 'unknown experiment: the endpoint chooses by its production-variant weights',
      decisionTime: NOW,
      allocation: [],
      shadowVariants: [],
      experimentRevision: null,
    });
    expect(calls).toBe(0);
  });

  it('passes a target variant of an unknown experiment on for the endpoint to judge', () => {
    const assigned = assignVariant(
      inferenceRequested({ experiment: 'nope', targetVariant: 'model-z' }),
      undefined,
      OPTIONS,
      createSeededRandom(5),
      NOW,
    );
    expect(assigned).toMatchObject({
      variant: 'model-z',
      policy: 'fallback-weights',
      propensity: 1,
      reason: 'unknown experiment: target variant model-z requested by the caller',
    });
  });

  it('rejects an unknown experiment with UNKNOWN_EXPERIMENT in dead-letter mode, even with a target', () => {
    for (const targetVariant of [null, 'model-a']) {
      const error = expectDynabError(
        () =>
          assignVariant(
            inferenceRequested({ experiment: 'nope', targetVariant }),
            undefined,
            DEAD_LETTER,
            createSeededRandom(5),
            NOW,
          ),
        'UNKNOWN_EXPERIMENT',
      );
      expect(error.message).toContain('nope');
    }
  });

  it('rejects a payload over the limit with PAYLOAD_TOO_LARGE and accepts one at the limit', () => {
    const atLimit = inferenceRequested({ payload: new Uint8Array(OPTIONS.maxPayloadBytes) });
    expect(
      assignVariant(atLimit, staticRoute, OPTIONS, createSeededRandom(6), NOW).variant,
    ).toMatch(/^model-[ab]$/);
    const over = inferenceRequested({ payload: new Uint8Array(OPTIONS.maxPayloadBytes + 1) });
    const error = expectDynabError(
      () => assignVariant(over, staticRoute, OPTIONS, createSeededRandom(6), NOW),
      'PAYLOAD_TOO_LARGE',
    );
    expect(error.message).toContain(String(OPTIONS.maxPayloadBytes + 1));
    // The size check comes first: even an unknown experiment reports the payload size.
    for (const options of [OPTIONS, DEAD_LETTER]) {
      expectDynabError(
        () => assignVariant(over, undefined, options, createSeededRandom(6), NOW),
        'PAYLOAD_TOO_LARGE',
      );
    }
  });

  it('is reproducible for the same seed', () => {
    const run = (seed: number) => {
      const random = createSeededRandom(seed);
      return Array.from(
        { length: 200 },
        () => assignVariant(inferenceRequested(), thompsonRoute, OPTIONS, random, NOW).variant,
      );
    };
    expect(run(42)).toEqual(run(42));
    expect(run(42)).not.toEqual(run(43));
  });

  it('picks variants with the plan probabilities; each propensity is its variant’s probability', () => {
    const { variants, probabilities } = thompsonRoute.plan;
    const draws = 100_000;
    const counts = new Map<string, number>(variants.map((v) => [v, 0]));
    const random = createSeededRandom(20240601);
    const request = inferenceRequested();
    for (let i = 0; i < draws; i++) {
      const assigned = assignVariant(request, thompsonRoute, OPTIONS, random, NOW);
      const index = variants.indexOf(assigned.variant);
      if (index < 0 || assigned.propensity !== probabilities[index]) {
        expect.fail(
          `propensity ${assigned.propensity} of ${assigned.variant} is not ${probabilities[index]}`,
        );
      }
      counts.set(assigned.variant, (counts.get(assigned.variant) ?? 0) + 1);
    }
    variants.forEach((variant, i) => {
      const p = probabilities[i] ?? NaN;
      const sigma = Math.sqrt((p * (1 - p)) / draws);
      const frequency = (counts.get(variant) ?? 0) / draws;
      expect(Math.abs(frequency - p)).toBeLessThan(5 * sigma);
    });
  });
});

describe('assignVariant: allocation, shadows and sticky users', () => {
  it('logs the whole allocation the decision was drawn from', () => {
    const assigned = assignVariant(
      inferenceRequested(),
      thompsonRoute,
      OPTIONS,
      createSeededRandom(5),
      NOW,
    );
    expect(assigned.allocation.map((a) => a.variant)).toEqual(['model-a', 'model-b', 'model-c']);
    expect(assigned.allocation.map((a) => a.probability)).toEqual(thompsonRoute.plan.probabilities);
    const chosen = assigned.allocation.find((a) => a.variant === assigned.variant);
    expect(chosen?.probability).toBe(assigned.propensity);
  });

  it('asks for the shadow variants while the experiment runs or is paused, not once it ended', () => {
    const shadowed = (state: 'running' | 'paused' | 'stopped' | 'promoted') =>
      buildExperimentRoute(
        experimentDefined({ shadowVariants: ['model-z'], state, winner: 'model-a' }),
        [],
      );
    const random = createSeededRandom(1);
    for (const state of ['running', 'paused'] as const) {
      const assigned = assignVariant(inferenceRequested(), shadowed(state), OPTIONS, random, NOW);
      expect(assigned.shadowVariants).toEqual(['model-z']);
      expect(assigned.variant).not.toBe('model-z');
    }
    for (const state of ['stopped', 'promoted'] as const) {
      const assigned = assignVariant(inferenceRequested(), shadowed(state), OPTIONS, random, NOW);
      expect(assigned.shadowVariants).toEqual([]);
    }
  });

  it('keeps a user on one variant whatever the random source, when the experiment is sticky', () => {
    const sticky = buildExperimentRoute(
      experimentDefined({ sticky: true, policy: 'static-weights' }),
      [],
    );
    const request = inferenceRequested({ userId: 'user-42' });
    const seen = new Set<string>();
    for (let seed = 1; seed <= 50; seed++) {
      const assigned = assignVariant(request, sticky, OPTIONS, createSeededRandom(seed), NOW);
      seen.add(assigned.variant);
      expect(assigned.reason).toBe('static-weights; sticky by user');
      expect(assigned.propensity).toBe(assigned.variant === 'model-a' ? 0.25 : 0.75);
    }
    expect(seen.size).toBe(1);
    // Without a user id the decision is a fresh draw.
    const anonymous = new Set<string>();
    for (let seed = 1; seed <= 50; seed++) {
      anonymous.add(
        assignVariant(inferenceRequested(), sticky, OPTIONS, createSeededRandom(seed), NOW).variant,
      );
    }
    expect(anonymous.size).toBe(2);
  });
});
