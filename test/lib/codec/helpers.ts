// Shared test helpers for the codec tests: sample events of every stream and error assertions.

import { expect } from 'vitest';
import type { StreamName, StreamTypes } from '../../../lib/codec/avro-codec.ts';
import { DynabError, type ErrorCode } from '../../../lib/errors/catalogue.ts';

const request: StreamTypes['request'] = {
  requestId: 'req-1',
  experiment: 'spam-classifier',
  payload: new TextEncoder().encode('win a free cruise'),
  contentType: 'text/plain',
  userId: 'user-7',
  targetVariant: null,
  eventTime: 1_700_000_000_123,
};

/** One realistic value per stream, with a mix of set and null optional fields. */
export const SAMPLES: { readonly [S in StreamName]: StreamTypes[S] } = {
  request,
  assignment: {
    request,
    variant: 'variant-b',
    policy: 'thompson-sampling',
    snapshotVersion: 42,
    propensity: 0.6180339887,
    reason: 'posterior',
    decisionTime: 1_700_000_000_200,
    allocation: [
      { variant: 'variant-a', probability: 0.3819660113 },
      { variant: 'variant-b', probability: 0.6180339887 },
    ],
    shadowVariants: ['variant-c'],
    experimentRevision: 3,
  },
  prediction: {
    requestId: 'req-1',
    experiment: 'spam-classifier',
    requestedVariant: 'variant-b',
    invokedVariant: 'variant-b',
    output: Uint8Array.of(0x7b, 0x7d, 0x00, 0xff),
    outputContentType: 'application/json',
    predictedLabel: 'spam',
    latencyMs: 12.75,
    error: null,
    propensity: 0.5,
    snapshotVersion: -1,
    policy: 'fallback-weights',
    requestTime: 1_700_000_000_123,
    eventTime: 1_700_000_000_300,
    allocation: [{ variant: 'variant-b', probability: 1 }],
    shadowVariants: [],
    shadowOf: null,
    inferenceId: 'req-1',
    experimentRevision: null,
  },
  label: {
    requestId: 'req-1',
    reward: 1,
    label: null,
    eventTime: 1_700_000_100_000,
    source: 'mail-client',
  },
  reward: {
    requestId: 'req-1',
    experiment: 'spam-classifier',
    variant: 'variant-b',
    reward: 0.25,
    propensity: 0.5,
    resolution: 'implicit',
    predictionTime: 1_700_000_000_300,
    labelTime: null,
    labelSource: null,
    resolvedAt: 1_700_000_900_000,
    policy: 'thompson-sampling',
    snapshotVersion: 42,
    experimentRevision: 3,
  },
  posterior: {
    experiment: 'spam-classifier',
    partition: 3,
    variants: [
      {
        variant: 'variant-a',
        successes: 10.5,
        failures: 4.5,
        count: 15,
        implicit: 6,
        dropped: 2,
        late: 1,
        rewardSum: 10.5,
        rewardSumSquares: 8.25,
        assigned: 20,
        expectedAssigned: 18.5,
        decayed: { weight: 7.5, rewardSum: 5.25, rewardSumSquares: 4.125 },
      },
      {
        variant: 'variant-b',
        successes: 0,
        failures: 0,
        count: 0,
        implicit: 0,
        dropped: 0,
        late: 0,
        rewardSum: 0,
        rewardSumSquares: 0,
        assigned: 0,
        expectedAssigned: 1.5,
        decayed: { weight: 0, rewardSum: 0, rewardSumSquares: 0 },
      },
    ],
    version: 15,
    publishedAt: 1_700_000_950_000,
    decayedAt: 1_700_000_940_000,
    shadowVariants: [],
  },
  experiment: {
    experiment: 'spam-classifier',
    variants: [
      { name: 'variant-a', weight: 0.5 },
      { name: 'variant-b', weight: 0.5 },
    ],
    policy: 'static-weights',
    priorAlpha: 1,
    priorBeta: 1,
    warmUpRewards: 20,
    attributionWindowMs: 3_600_000,
    graceMs: 0,
    implicitReward: null,
    state: 'running',
    updatedAt: 1_699_999_000_000,
    revision: 3,
    stateReason: null,
    champion: null,
    winner: null,
    rewardKind: 'unit-interval',
    epsilon: 0.1,
    ucbExploration: 1,
    probabilityFloor: 0.05,
    halfLifeMs: null,
    priorMean: 0,
    priorVariance: 1,
    priorStrength: 1,
    shadowVariants: [],
    sticky: false,
    canary: null,
    stopping: {
      rule: 'glr',
      goal: 'decide',
      threshold: 0.95,
      tolerance: 0.001,
      minRewards: 100,
      autoPromote: true,
      minimumDetectableEffect: 0.02,
    },
  },
  'experiment-stats': {
    experiment: 'spam-classifier',
    revision: 3,
    state: 'running',
    variants: [
      {
        variant: 'variant-a',
        shadow: false,
        rewards: 15,
        mean: 0.68,
        lower95: 0.45,
        upper95: 0.86,
        probabilityBest: 0.91,
        expectedLoss: 0.004,
        zScore: null,
        pValue: null,
        assigned: 20,
        expectedAssigned: 18.5,
        anytimeLower95: 0.31,
        anytimeUpper95: 0.99,
        differenceLower95: null,
        differenceUpper95: null,
        anytimePValue: null,
      },
      {
        variant: 'shadow-c',
        shadow: true,
        rewards: 12,
        mean: 0.5,
        lower95: 0.25,
        upper95: 0.75,
        probabilityBest: 0,
        expectedLoss: 0,
        zScore: -1.2,
        pValue: 0.23,
        assigned: 0,
        expectedAssigned: 0,
        anytimeLower95: 0.1,
        anytimeUpper95: 0.9,
        differenceLower95: -0.6,
        differenceUpper95: 0.3,
        anytimePValue: 1,
      },
    ],
    sampleRatio: { chiSquare: 0.4, degreesOfFreedom: 1, pValue: 0.53, mismatch: false },
    stopping: {
      rule: 'probability-best',
      leader: 'variant-a',
      statistic: 0.91,
      threshold: 0.95,
      satisfied: false,
      detail: 'P(variant-a best) = 0.91 < 0.95',
    },
    caveats: ['z and p are fixed-horizon tests'],
    computedAt: 1_700_000_960_000,
  },
  decision: {
    experiment: 'spam-classifier',
    kind: 'winner',
    variant: 'variant-a',
    revision: 3,
    applied: true,
    rule: 'probability-best',
    reason: 'P(variant-a best) = 0.96 ≥ 0.95',
    decidedAt: 1_700_000_970_000,
  },
  'dead-letter': {
    sourceTopic: 'labels',
    sourcePartition: 0,
    sourceOffset: '9007199254740993',
    key: null,
    value: Uint8Array.of(1, 2, 3),
    errorCode: 'MALFORMED_MESSAGE',
    reason: 'label: truncated body',
    service: 'aggregator',
    failedAt: 1_700_000_000_999,
  },
  'experiment-history': {
    experiment: 'spam-classifier',
    kind: 'posterior',
    at: 1_700_000_001_000,
    revision: 2,
    state: 'running',
    posteriorVersion: 120,
    policy: 'thompson-sampling',
    variants: [
      { variant: 'variant-a', rewards: 60, mean: 0.8, probabilityBest: 0.25 },
      { variant: 'variant-b', rewards: 60, mean: 0.9, probabilityBest: 0.75 },
    ],
    allocation: [],
    detail: 'posterior version 120',
  },
};

/** Variants of the samples with the other side of every nullable field. */
export const ALTERNATE_SAMPLES: { readonly [S in StreamName]?: StreamTypes[S] } = {
  request: { ...request, payload: new Uint8Array(0), userId: null, targetVariant: 'variant-a' },
  prediction: {
    ...SAMPLES.prediction,
    invokedVariant: null,
    output: new Uint8Array(0),
    predictedLabel: null,
    error: { code: 'ENDPOINT_THROTTLED', message: 'rate exceeded' },
  },
  label: { ...SAMPLES.label, reward: null, label: 'ham' },
  reward: { ...SAMPLES.reward, resolution: 'label', labelTime: 1_700_000_100_000 },
  posterior: { ...SAMPLES.posterior, variants: [] },
  experiment: {
    ...SAMPLES.experiment,
    graceMs: 30_000,
    implicitReward: 0,
    stateReason: 'paused from the CLI',
    champion: 'variant-a',
    winner: 'variant-b',
    halfLifeMs: 3_600_000,
    canary: {
      challenger: 'variant-b',
      share: 0.05,
      margin: 0.02,
      confidence: 0.95,
      minRewards: 200,
      rolledBackAt: 1_700_000_000_000,
    },
  },
  'experiment-stats': { ...SAMPLES['experiment-stats'], sampleRatio: null },
  'dead-letter': { ...SAMPLES['dead-letter'], key: Uint8Array.of(0x6b), value: null },
};

/** Runs `fn` and asserts it throws a DynabError with `code` (and `messagePart`, if given). */
export function expectDynabError(
  fn: () => unknown,
  code: ErrorCode,
  messagePart?: string | RegExp,
) {
  let thrown: unknown;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  expect(thrown, 'expected a DynabError to be thrown').toBeInstanceOf(DynabError);
  const error = thrown as DynabError;
  expect(error.code, error.message).toBe(code);
  if (messagePart !== undefined) expect(error.message).toMatch(messagePart);
  return error;
}

/** Deterministic PRNG (mulberry32), so fuzz-style tests are reproducible. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomBytes(random: () => number, length: number): Uint8Array {
  return Uint8Array.from({ length }, () => Math.floor(random() * 256));
}
