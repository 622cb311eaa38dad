import { describe, expect, it } from 'vitest';
import { experimentProblems } from '../../../lib/contracts/validate-experiment.ts';
import {
  CHAMPION_CHALLENGER,
  defineExperiment,
  EXPERIMENT_DEFAULTS,
  isBalancedPair,
} from '../../../lib/contracts/experiment-defaults.ts';
import type { ExperimentDefined } from '../../../lib/contracts/events.ts';
import { parseExperimentFlags } from '../../../services/cli/core/experiment-args.ts';

function decide(overrides: Partial<ExperimentDefined> = {}, mde: number | null = null) {
  return defineExperiment({
    experiment: 'e',
    variants: CHAMPION_CHALLENGER,
    updatedAt: 0,
    ...overrides,
    stopping: {
      ...EXPERIMENT_DEFAULTS.stopping,
      goal: 'decide',
      rule: 'glr',
      minimumDetectableEffect: mde,
    },
  });
}

describe('stopping.minimumDetectableEffect', () => {
  it('is null by default, and accepted when positive (below 1 for rewards in [0, 1])', () => {
    expect(EXPERIMENT_DEFAULTS.stopping.minimumDetectableEffect).toBeNull();
    expect(experimentProblems(decide({}, null))).toEqual([]);
    expect(experimentProblems(decide({}, 0.01))).toEqual([]);
    expect(
      experimentProblems(decide({ rewardKind: 'real', policy: 'gaussian-thompson-sampling' }, 2)),
    ).toEqual([]);
    const problem =
      'stopping.minimumDetectableEffect: must be null or > 0 (below 1 for rewards in [0, 1])';
    for (const bad of [0, -0.1, 1, Number.NaN]) {
      expect(experimentProblems(decide({}, bad))).toEqual([problem]);
    }
  });

  it('is set from the CLI with --mde X or --mde none', () => {
    expect(parseExperimentFlags(['e', '--mde', '0.02']).patch.stopping).toMatchObject({
      minimumDetectableEffect: 0.02,
    });
    expect(parseExperimentFlags(['e', '--mde', 'none']).patch.stopping).toMatchObject({
      minimumDetectableEffect: null,
    });
  });
});

describe('isBalancedPair', () => {
  it('holds for goal decide with glr, two variants, rewards in [0, 1] and no canary only', () => {
    expect(isBalancedPair(decide())).toBe(true);
    expect(isBalancedPair(decide({ rewardKind: 'real' }))).toBe(false);
    expect(
      isBalancedPair(decide({ variants: [...CHAMPION_CHALLENGER, { name: 'third', weight: 0 }] })),
    ).toBe(false);
    expect(isBalancedPair({ ...decide(), stopping: { ...decide().stopping, goal: 'earn' } })).toBe(
      false,
    );
    expect(
      isBalancedPair({
        ...decide(),
        canary: {
          challenger: 'challenger',
          share: 0.05,
          margin: 0.02,
          confidence: 0.95,
          minRewards: 200,
          rolledBackAt: null,
        },
      }),
    ).toBe(false);
  });
});
