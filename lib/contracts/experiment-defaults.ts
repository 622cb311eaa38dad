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
  revision: 1,
  stateReason: null,
  champion: null,
  winner: null,
  rewardKind: 'unit-interval',
  epsilon: 0.1,
  ucbExploration: 1,
  probabilityFloor: 0,
  halfLifeMs: null,
  priorMean: 0,
  priorVariance: 1,
  priorStrength: 1,
  shadowVariants: [],
  sticky: false,
  canary: null,
  stopping: {
    rule: 'none',
    goal: 'earn',
    threshold: 0.95,
    tolerance: 0.001,
    minRewards: 100,
    autoPromote: false,
    minimumDetectableEffect: null,
  },
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

/** The champion of an experiment: the configured one, else the first variant. */
export function championOf(experiment: Pick<ExperimentDefined, 'champion' | 'variants'>): string {
  const champion = experiment.champion ?? experiment.variants[0]?.name;
  if (champion === undefined) throw new RangeError('an experiment needs at least one variant');
  return champion;
}

/**
 * Goal decide with the glr rule, two variants, rewards in [0, 1] and no canary: the router splits
 * traffic 50/50 from the first request (top-two Thompson sampling with β = 1/2 is exactly that
 * for two variants, so no posterior is needed to route), and the decider tests the pair with the
 * exact balanced-pair mixture test (lib/stats/balanced-pair-test.ts), whose guarantee needs that
 * even split. Any other decide experiment keeps the posterior-driven allocation and the GLR test.
 */
export function isBalancedPair(
  experiment: Pick<ExperimentDefined, 'stopping' | 'variants' | 'rewardKind' | 'canary'>,
): boolean {
  return (
    experiment.stopping.goal === 'decide' &&
    experiment.stopping.rule === 'glr' &&
    experiment.variants.length === 2 &&
    experiment.rewardKind === 'unit-interval' &&
    experiment.canary === null
  );
}

/**
 * Request id of the shadow copy of a request for one variant. The shadow prediction keeps the
 * original request id as its Kafka key, so it lands on the same partition as the original.
 */
export function shadowRequestId(requestId: string, variant: string): string {
  return `${requestId}${SHADOW_MARK}${variant}`;
}

const SHADOW_MARK = '#shadow:';

/**
 * The ids of the served request that `requestId` may be a shadow copy of: the text before each
 * shadow mark in it (none when it has no mark). Request ids and variant names may both hold the
 * mark, so every split is a candidate.
 */
export function servedRequestIdsOf(requestId: string): string[] {
  const ids: string[] = [];
  for (
    let at = requestId.indexOf(SHADOW_MARK);
    at >= 0;
    at = requestId.indexOf(SHADOW_MARK, at + 1)
  )
    ids.push(requestId.slice(0, at));
  return ids;
}
