import { describe, expect, it } from 'vitest';
import {
  experimentFromJson,
  parseExperimentJson,
} from '../../../../services/cli/core/experiment-json.ts';

describe('parseExperimentJson', () => {
  it('reads every field, durations as numbers or text, and keeps lifecycle fields apart', () => {
    const file = parseExperimentJson({
      experiment: 'spam',
      variants: [{ name: 'a', weight: 1 }],
      policy: 'ucb1',
      priorAlpha: 2,
      priorBeta: 2,
      warmUpRewards: 5,
      attributionWindowMs: '15m',
      graceMs: 1000,
      implicitReward: null,
      state: 'paused',
      updatedAt: 17,
      revision: 4,
      stateReason: 'held',
      champion: 'a',
      winner: null,
      rewardKind: 'unit-interval',
      epsilon: 0.3,
      ucbExploration: 2,
      probabilityFloor: 0.1,
      halfLifeMs: '1d',
      priorMean: 0,
      priorVariance: 1,
      priorStrength: 1,
      shadowVariants: ['s'],
      sticky: true,
      canary: { challenger: 'b', share: 0.1 },
      stopping: { rule: 'probability-best', autoPromote: true },
    });
    expect(file.name).toBe('spam');
    expect(file.lifecycle).toEqual({ state: 'paused', stateReason: 'held', winner: null });
    expect(file.patch).toMatchObject({
      attributionWindowMs: 900_000,
      graceMs: 1000,
      halfLifeMs: 86_400_000,
      implicitReward: null,
      canary: { challenger: 'b', share: 0.1, margin: 0.02, confidence: 0.95, minRewards: 200 },
      stopping: { rule: 'probability-best', autoPromote: true },
    });
    expect(file.patch.stopping).not.toHaveProperty('threshold');
    expect(file.patch).not.toHaveProperty('revision');
    expect(file.patch).not.toHaveProperty('state');
  });

  it('treats null as "not given" for fields that cannot be null', () => {
    const file = parseExperimentJson({ experiment: 'x', priorAlpha: null, halfLifeMs: null });
    expect(file.patch).toEqual({ halfLifeMs: null });
  });

  it('lists every problem at once', () => {
    let message = '';
    try {
      parseExperimentJson({
        experiment: 3,
        variants: [{ name: 'a' }, { name: 'b', weight: 'x', colour: 1 }],
        policy: 'greedy',
        warmUpRewards: 1.5,
        attributionWindowMs: 'soon',
        sticky: 'yes',
        probabilityFlor: 0.1,
        canary: { share: 0.1 },
        stopping: { rule: 'never' },
      });
    } catch (error) {
      message = (error as Error).message;
    }
    for (const expected of [
      'experiment: expected a string, got 3',
      'variants[0].weight: required',
      'variants[1].weight: expected a finite number, got "x"',
      'variants[1].colour: unknown field',
      'policy: expected thompson-sampling | ',
      'warmUpRewards: expected a whole number, got 1.5',
      'attributionWindowMs: expected milliseconds or a duration',
      'sticky: expected true or false',
      'probabilityFlor: unknown field',
      'canary.challenger: required',
      'stopping.rule: expected none | expected-loss | glr | probability-best, got "never"',
    ]) {
      expect(message).toContain(expected);
    }
  });

  it('refuses what is not an object', () => {
    expect(() => parseExperimentJson([])).toThrow(/JSON object/);
    expect(() => parseExperimentJson('spam')).toThrow(/JSON object/);
  });
});

describe('experimentFromJson (put)', () => {
  it('fills the defaults and applies the lifecycle fields as given', () => {
    const e = experimentFromJson(
      {
        experiment: 'x',
        variants: [{ name: 'a', weight: 1 }],
        state: 'paused',
        stopping: { rule: 'glr' },
      },
      5,
      3,
    );
    expect(e).toMatchObject({
      experiment: 'x',
      state: 'paused',
      revision: 3,
      updatedAt: 5,
      priorAlpha: 1,
      stopping: { rule: 'glr', threshold: 0.95, minRewards: 100, autoPromote: false },
    });
  });

  it('needs a name and variants', () => {
    expect(() => experimentFromJson({ variants: [{ name: 'a', weight: 1 }] }, 0)).toThrow(
      /experiment/,
    );
    expect(() => experimentFromJson({ experiment: 'x', variants: [] }, 0)).toThrow(/variants/);
  });
});
