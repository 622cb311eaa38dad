// Small factories for contract events, shared by the unit tests. Each returns a complete,
// valid event; pass overrides for the fields a test cares about.
import { defineExperiment, EXPERIMENT_DEFAULTS } from '../../lib/contracts/experiment-defaults.ts';
import type {
  ExperimentDefined,
  InferenceRequested,
  LabelReceived,
  PosteriorPublished,
  PredictionMade,
  StoppingConfig,
  VariantCounts,
} from '../../lib/contracts/events.ts';

export function experimentDefined(overrides: Partial<ExperimentDefined> = {}): ExperimentDefined {
  return defineExperiment({
    experiment: 'spam-filter',
    variants: [
      { name: 'model-a', weight: 1 },
      { name: 'model-b', weight: 3 },
    ],
    policy: 'thompson-sampling',
    priorAlpha: 1,
    priorBeta: 1,
    warmUpRewards: 0,
    attributionWindowMs: 60_000,
    graceMs: 0,
    implicitReward: null,
    state: 'running',
    updatedAt: 1_700_000_000_000,
    ...overrides,
  });
}

export function inferenceRequested(
  overrides: Partial<InferenceRequested> = {},
): InferenceRequested {
  return {
    requestId: 'req-1',
    experiment: 'spam-filter',
    payload: new TextEncoder().encode('win a free cruise'),
    contentType: 'text/plain',
    userId: null,
    targetVariant: null,
    eventTime: 1_700_000_000_100,
    ...overrides,
  };
}

export function predictionMade(overrides: Partial<PredictionMade> = {}): PredictionMade {
  return {
    requestId: 'req-1',
    experiment: 'spam-filter',
    requestedVariant: 'model-a',
    invokedVariant: 'model-a',
    output: new TextEncoder().encode('{"label":"spam"}'),
    outputContentType: 'application/json',
    predictedLabel: 'spam',
    latencyMs: 12.5,
    error: null,
    propensity: 0.25,
    snapshotVersion: 7,
    policy: 'thompson-sampling',
    requestTime: 1_700_000_000_100,
    eventTime: 1_700_000_000_200,
    allocation: [
      { variant: 'model-a', probability: 0.25 },
      { variant: 'model-b', probability: 0.75 },
    ],
    shadowVariants: [],
    shadowOf: null,
    inferenceId: null,
    experimentRevision: 1,
    ...overrides,
  };
}

export function labelReceived(overrides: Partial<LabelReceived> = {}): LabelReceived {
  return {
    requestId: 'req-1',
    reward: null,
    label: 'spam',
    eventTime: 1_700_000_005_000,
    source: 'mail-client',
    ...overrides,
  };
}

export function variantCounts(
  variant: string,
  successes: number,
  failures: number,
  count = successes + failures,
  windows: Partial<Omit<VariantCounts, 'variant' | 'successes' | 'failures' | 'count'>> = {},
): VariantCounts {
  // Rewards in {0, 1}: Σr = successes = Σr²; weights 1 unless the test says otherwise.
  return {
    variant,
    successes,
    failures,
    count,
    implicit: 0,
    dropped: 0,
    late: 0,
    rewardSum: successes,
    rewardSumSquares: successes,
    assigned: 0,
    expectedAssigned: 0,
    decayed: { weight: count, rewardSum: successes, rewardSumSquares: successes },
    ...windows,
  };
}

export function posteriorPublished(
  overrides: Partial<PosteriorPublished> = {},
): PosteriorPublished {
  return {
    experiment: 'spam-filter',
    partition: 0,
    variants: [],
    version: 0,
    publishedAt: 1_700_000_000_000,
    decayedAt: 0,
    shadowVariants: [],
    ...overrides,
  };
}

/** A stopping configuration: the defaults with the given fields. */
export function stoppingRule(overrides: Partial<StoppingConfig>): StoppingConfig {
  return { ...EXPERIMENT_DEFAULTS.stopping, ...overrides };
}
