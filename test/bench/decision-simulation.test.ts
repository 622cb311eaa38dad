import { describe, expect, it } from 'vitest';
import { simulateRun, type SimulationCase } from '../../bench/decision-simulation.ts';
import { defineExperiment, EXPERIMENT_DEFAULTS } from '../../lib/contracts/experiment-defaults.ts';

const CASE: SimulationCase = {
  experiment: defineExperiment({
    experiment: 'simulated',
    variants: [
      { name: 'a', weight: 1 },
      { name: 'b', weight: 1 },
    ],
    updatedAt: 0,
    stopping: { ...EXPERIMENT_DEFAULTS.stopping, rule: 'glr', goal: 'decide', minRewards: 50 },
  }),
  rates: [0.2, 0.5],
  horizon: 4_000,
  snapshotEvery: 200,
  delaySnapshots: 2,
};

describe('simulateRun', () => {
  it('is a function of the case and the seed', () => {
    expect(simulateRun(CASE, 7)).toEqual(simulateRun(CASE, 7));
    expect(simulateRun(CASE, 7)).not.toEqual(simulateRun(CASE, 8));
  });

  it('stops at the first decision, with the rewards of all but the last delayed snapshots', () => {
    const run = simulateRun(CASE, 11);
    expect(run.decision).toMatchObject({ kind: 'winner', variant: 'b' });
    expect(run.chosen).toBe(1);
    expect(run.requests % CASE.snapshotEvery).toBe(0);
    // Rewards lag requests by delaySnapshots − 1 folded snapshots.
    expect(run.rewards).toBe(run.requests - (CASE.delaySnapshots - 1) * CASE.snapshotEvery);
    expect(run.counts.reduce((a, b) => a + b, 0)).toBe(run.rewards);
    expect(run.regret).toBeGreaterThan(0);
    // One leader report per evaluated snapshot; the last is the stop's.
    expect(run.leaders).toHaveLength(run.requests / CASE.snapshotEvery);
    expect(run.leaders.at(-1)).toEqual({ leader: 1, probabilityBest: run.probabilityBestAtStop });
    for (const l of run.leaders) {
      expect(l.probabilityBest).toBeGreaterThanOrEqual(0.5);
      expect(l.probabilityBest).toBeLessThanOrEqual(1);
    }
  });

  it('runs to the horizon without a rule, and refuses inconsistent cases', () => {
    const none = {
      ...CASE,
      experiment: { ...CASE.experiment, stopping: EXPERIMENT_DEFAULTS.stopping },
    };
    const run = simulateRun(none, 3);
    expect(run.decision).toBeNull();
    expect(run.requests).toBe(CASE.horizon);
    expect(() => simulateRun({ ...CASE, rates: [0.1] }, 1)).toThrow(RangeError);
    expect(() => simulateRun({ ...CASE, delaySnapshots: 0 }, 1)).toThrow(RangeError);
  });
});
