// The error control of each stopping rule, pinned by seeded simulations of dynab's own router
// and decider code (bench/decision-simulation.ts): plans per snapshot, rewards one snapshot
// late, the rule evaluated at every snapshot. Seeds are fixed, so each count is exact and
// reproducible; the bounds are the rules' stated guarantees.
//
// Each simulation evaluates the decider at every snapshot (~0.3 ms each), so a test with ~2,000
// snapshots takes one to two seconds on a quiet machine. The explicit timeouts leave room for a
// loaded 2-core machine; nothing here measures speed.
import { describe, expect, it } from 'vitest';
import {
  simulateRuns,
  type RunOutcome,
  type SimulationCase,
} from '../../../../bench/decision-simulation.ts';
import type { StoppingConfig } from '../../../../lib/contracts/events.ts';
import {
  CHAMPION_CHALLENGER,
  defineExperiment,
  EXPERIMENT_DEFAULTS,
} from '../../../../lib/contracts/experiment-defaults.ts';

const TIMEOUT_MS = 30_000;

function experiment(stopping: Partial<StoppingConfig>) {
  return defineExperiment({
    experiment: 'simulated',
    variants: CHAMPION_CHALLENGER,
    updatedAt: 0,
    probabilityFloor: 0,
    stopping: { ...EXPERIMENT_DEFAULTS.stopping, autoPromote: true, ...stopping },
  });
}

const DECIDE = { goal: 'decide', rule: 'glr' } as const;
const EARN = { goal: 'earn', rule: 'expected-loss', tolerance: 0.002 } as const;

/** `runs` seeded runs, 500 requests per snapshot and rewards one snapshot late by default. */
function simulate(
  stopping: Partial<StoppingConfig>,
  rates: readonly number[],
  runs: number,
  firstSeed: number,
  shape: Partial<Omit<SimulationCase, 'experiment' | 'rates'>> = {},
): RunOutcome[] {
  const sim: SimulationCase = {
    experiment: experiment(stopping),
    rates,
    horizon: 10_000,
    snapshotEvery: 500,
    delaySnapshots: 1,
    ...shape,
  };
  return simulateRuns(sim, runs, firstSeed);
}

const share = (runs: readonly RunOutcome[], test: (run: RunOutcome) => boolean): number =>
  runs.filter(test).length / runs.length;

describe('goal decide: top-two Thompson sampling with the GLR rule', () => {
  it(
    'declares a winner between identical variants in at most δ of the runs, where P(best) ≥ 0.95 is reached in many',
    () => {
      const delta = 0.1;
      const runs = simulate(
        { ...DECIDE, threshold: 1 - delta, minRewards: 100 },
        [0.3, 0.3],
        80,
        9_001,
      );
      expect(share(runs, (r) => r.decision?.kind === 'winner')).toBeLessThanOrEqual(delta);
      // The same runs, read by the old rule: a reported P(best) ≥ 0.95 at some snapshot in a
      // large share of A/A runs. That is why P(best) no longer declares anything.
      expect(share(runs, (r) => r.probabilityBestCrossed95)).toBeGreaterThan(0.3);
    },
    TIMEOUT_MS,
  );

  it(
    'names the better variant in at least 1 − δ of the runs at a clear gap, and stops within the horizon',
    () => {
      const delta = 0.05;
      const runs = simulate(
        { ...DECIDE, threshold: 1 - delta, minRewards: 100 },
        [0.3, 0.4],
        100,
        19_001,
      );
      const decided = runs.filter((r) => r.decision !== null);
      expect(decided.length / runs.length).toBeGreaterThanOrEqual(0.95);
      expect(share(decided, (r) => r.chosen === 1)).toBeGreaterThanOrEqual(1 - delta);
      expect(decided.every((r) => r.decision?.kind === 'winner')).toBe(true);
    },
    TIMEOUT_MS,
  );
});

describe('goal decide between two variants: the balanced-pair test on an even split', () => {
  it(
    'declares a winner between identical variants at 5% and at 50% in at most δ of the runs, checking every 100 requests',
    () => {
      // 60 runs of 6,000 requests per rate, 60 looks each: every look is a chance to go wrong,
      // and the test's guarantee (Ville's inequality) covers them all at once.
      const delta = 0.1;
      for (const [rate, seed] of [
        [0.05, 59_001],
        [0.5, 69_001],
      ] as const) {
        const runs = simulate(
          { ...DECIDE, threshold: 1 - delta, minRewards: 100, minimumDetectableEffect: 0.02 },
          [rate, rate],
          60,
          seed,
          { horizon: 6_000, snapshotEvery: 100 },
        );
        expect(runs.every((r) => r.counts.every((n) => n > 0))).toBe(true);
        expect(share(runs, (r) => r.decision?.kind === 'winner')).toBeLessThanOrEqual(delta);
      }
    },
    TIMEOUT_MS,
  );

  it(
    'stops at 0.3 vs 0.4 within twice the Garivier–Kaufmann bound (481) in the median, and is right',
    () => {
      // The team states the gap it wants (0.1) and the champion's rate (prior Beta(6, 14)).
      const runs = simulateRuns(
        {
          experiment: {
            ...experiment({ ...DECIDE, minRewards: 100, minimumDetectableEffect: 0.1 }),
            priorAlpha: 6,
            priorBeta: 14,
          },
          rates: [0.3, 0.4],
          horizon: 10_000,
          snapshotEvery: 100,
          delaySnapshots: 1,
        },
        100,
        79_001,
      );
      const stops = runs.map((r) => r.requests).sort((x, y) => x - y);
      expect(runs.every((r) => r.decision?.kind === 'winner' && r.chosen === 1)).toBe(true);
      expect(stops[50]).toBeLessThanOrEqual(2 * 481);
      // Every decision came from the balanced-pair test, which the even split makes exact.
      expect(runs.every((r) => r.decision?.reason.startsWith('balanced-pair test'))).toBe(true);
    },
    TIMEOUT_MS,
  );
});

describe('goal earn: Thompson sampling with the expected-loss rule', () => {
  it(
    'ends identical variants as within tolerance in bounded time, never as a winner',
    () => {
      const runs = simulate({ ...EARN, minRewards: 100 }, [0.3, 0.3], 100, 29_001, {
        horizon: 20_000,
      });
      expect(runs.every((r) => r.decision?.kind === 'within-tolerance')).toBe(true);
    },
    TIMEOUT_MS,
  );

  it(
    'chooses the better variant at a clear gap, losing less than the tolerance on average',
    () => {
      const rates = [0.3, 0.35];
      const runs = simulate({ ...EARN, minRewards: 100 }, rates, 100, 39_001, { horizon: 20_000 });
      expect(runs.every((r) => r.decision?.kind === 'within-tolerance')).toBe(true);
      // The realised loss of the choice: 0.05 for each run that kept the worse variant.
      const loss = runs.reduce((sum, r) => sum + (0.35 - (rates[r.chosen ?? 0] ?? 0)), 0);
      expect(loss / runs.length).toBeLessThanOrEqual(EARN.tolerance);
    },
    TIMEOUT_MS,
  );
});

describe('the minimum sample gate', () => {
  it(
    'cannot starve: every variant reaches minRewards even when the policy abandons one',
    () => {
      // Thompson sampling with no floor moves almost all traffic off a clearly worse variant
      // within a few snapshots; the rule needs 400 rewards of each before it may fire.
      const runs = simulate({ ...EARN, minRewards: 400 }, [0.1, 0.3], 60, 49_001, {
        horizon: 20_000,
        snapshotEvery: 250,
        delaySnapshots: 2,
      });
      expect(runs.every((r) => r.decision !== null)).toBe(true);
      expect(runs.every((r) => Math.min(...r.counts) >= 400)).toBe(true);
    },
    TIMEOUT_MS,
  );
});
