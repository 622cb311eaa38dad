import { describe, expect, it } from 'vitest';

import { ENDPOINT_CHOOSES, type VariantAssigned } from '../../../../lib/contracts/events.ts';
import { invocationsOf } from '../../../../services/inference/core/plan-calls.ts';
import { predictionOf } from '../../../../services/inference/core/prediction.ts';
import { inferenceRequested } from '../../../support/fixtures.ts';

const ASSIGNMENT: VariantAssigned = {
  request: inferenceRequested({ requestId: 'r1', eventTime: 1_000 }),
  variant: 'A',
  policy: 'thompson-sampling',
  snapshotVersion: 9,
  propensity: 0.3,
  reason: 'posterior',
  decisionTime: 1_100,
  allocation: [
    { variant: 'A', probability: 0.3 },
    { variant: 'B', probability: 0.7 },
  ],
  shadowVariants: ['S'],
  experimentRevision: 4,
};
const OUTPUT = {
  body: new TextEncoder().encode('{"label":"spam"}'),
  contentType: 'application/json',
  invokedVariant: 'A',
};

describe('predictionOf', () => {
  const [served, shadow] = invocationsOf(ASSIGNMENT, 0);

  it('records the served variant with the decision it came from', () => {
    if (served === undefined) throw new Error('no served invocation');
    expect(
      predictionOf(
        served,
        { output: OUTPUT, failure: null, latencyMs: 7, inferenceId: 'r1' },
        2_000,
        'label',
      ),
    ).toEqual({
      requestId: 'r1',
      experiment: 'spam-filter',
      requestedVariant: 'A',
      invokedVariant: 'A',
      output: OUTPUT.body,
      outputContentType: 'application/json',
      predictedLabel: 'spam',
      latencyMs: 7,
      error: null,
      propensity: 0.3,
      snapshotVersion: 9,
      policy: 'thompson-sampling',
      requestTime: 1_000,
      eventTime: 2_000,
      allocation: ASSIGNMENT.allocation,
      shadowVariants: ['S'],
      shadowOf: null,
      inferenceId: 'r1',
      experimentRevision: 4,
    });
  });

  it('records the variant the endpoint chose when none was asked for', () => {
    const [fallback] = invocationsOf(
      {
        ...ASSIGNMENT,
        variant: ENDPOINT_CHOOSES,
        policy: 'fallback-weights',
        snapshotVersion: -1,
        propensity: 1,
        allocation: [],
        shadowVariants: [],
      },
      0,
    );
    if (fallback === undefined) throw new Error('no invocation');
    const answer = { ...OUTPUT, invokedVariant: 'B' };
    expect(
      predictionOf(fallback, { output: answer, failure: null, latencyMs: 4 }, 2_000, 'label'),
    ).toMatchObject({
      requestId: 'r1',
      requestedVariant: ENDPOINT_CHOOSES,
      invokedVariant: 'B',
      policy: 'fallback-weights',
      propensity: 1,
      allocation: [],
    });
  });

  it('records a shadow copy under its own id, with propensity 1 and a failure when it failed', () => {
    if (shadow === undefined) throw new Error('no shadow invocation');
    const failure = { code: 'MODEL_ERROR', message: 'boom' };
    expect(
      predictionOf(shadow, { output: null, failure, latencyMs: 3 }, 2_000, 'label'),
    ).toMatchObject({
      requestId: 'r1#shadow:S',
      requestedVariant: 'S',
      invokedVariant: null,
      output: new Uint8Array(0),
      outputContentType: '',
      predictedLabel: null,
      error: failure,
      propensity: 1,
      allocation: [],
      shadowVariants: [],
      shadowOf: 'r1',
    });
  });
});
