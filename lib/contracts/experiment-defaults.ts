// One place for the defaults of an experiment definition, used by the CLI, the demo, the
// benchmarks and the chaos run, so they cannot drift apart.
import type { ExperimentDefined } from './events.ts';

export const EXPERIMENT_DEFAULTS = {
  policy: 'thompson-sampling',
  priorAlpha: 1,
  priorBeta: 1,
  warmUpRewards: 20,
  attributionWindowMs: 24 * 60 * 60 * 1000,
  graceMs: 60_000,
  implicitReward: null,
  state: 'running',
} as const satisfies Partial<ExperimentDefined>;

type Required = Pick<ExperimentDefined, 'experiment' | 'variants' | 'updatedAt'>;

/** A complete experiment definition from its name, variants and time, plus any overrides. */
export function defineExperiment(
  required: Required & Partial<ExperimentDefined>,
): ExperimentDefined {
  return { ...EXPERIMENT_DEFAULTS, ...required };
}

/** The champion/challenger pair of the demo and the benchmarks, split 50/50 until the bandit learns. */
export const CHAMPION_CHALLENGER = [
  { name: 'champion', weight: 0.5 },
  { name: 'challenger', weight: 0.5 },
] as const;
