import { describe, expect, it } from 'vitest';
import { DynabError } from '../../../../lib/errors/catalogue.ts';
import {
  computeReward,
  creditedVariant,
} from '../../../../services/aggregator/core/reward-rule.ts';
import { labelReceived, predictionMade } from '../../../support/fixtures.ts';

function invalidField(run: () => unknown): DynabError {
  let caught: unknown;
  try {
    run();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(DynabError);
  expect((caught as DynabError).code).toBe('INVALID_FIELD');
  return caught as DynabError;
}

describe('computeReward', () => {
  it('scores 1 when the predicted label equals the ground truth and 0 otherwise', () => {
    const prediction = predictionMade({ predictedLabel: 'spam' });
    expect(computeReward(prediction, labelReceived({ label: 'spam' }))).toBe(1);
    expect(computeReward(prediction, labelReceived({ label: 'ham' }))).toBe(0);
    // The comparison is exact (no case folding).
    expect(computeReward(prediction, labelReceived({ label: 'Spam' }))).toBe(0);
  });

  it.each([1, 0, 0.3])('uses an explicit reward %s over the label comparison', (reward) => {
    const prediction = predictionMade({ predictedLabel: 'spam' });
    expect(computeReward(prediction, labelReceived({ reward, label: 'spam' }))).toBe(reward);
    expect(computeReward(prediction, labelReceived({ reward, label: 'ham' }))).toBe(reward);
    expect(computeReward(prediction, labelReceived({ reward, label: null }))).toBe(reward);
  });

  it('refuses an explicit reward for a failed prediction, as an implicit one is refused', () => {
    const failed = predictionMade({
      invokedVariant: null,
      predictedLabel: null,
      error: { code: 'MODEL_ERROR', message: 'boom' },
    });
    expect(
      invalidField(() => computeReward(failed, labelReceived({ reward: 0 }))).message,
    ).toContain('MODEL_ERROR');
  });

  it('uses an explicit reward when the prediction has no predicted label', () => {
    expect(
      computeReward(predictionMade({ predictedLabel: null }), labelReceived({ reward: 0.7 })),
    ).toBe(0.7);
  });

  it.each([-0.01, 1.01, 2, -1, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY])(
    'rejects the explicit reward %s with INVALID_FIELD',
    (reward) => {
      const error = invalidField(() =>
        computeReward(predictionMade(), labelReceived({ requestId: 'r-77', reward })),
      );
      expect(error.message).toContain('r-77');
    },
  );

  it('rejects a label with neither a reward nor a label', () => {
    const error = invalidField(() =>
      computeReward(
        predictionMade(),
        labelReceived({ requestId: 'r-5', reward: null, label: null }),
      ),
    );
    expect(error.message).toContain('neither a reward nor a label');
  });

  it('cannot score a failed prediction against a truth label, and says why', () => {
    const failed = predictionMade({
      invokedVariant: null,
      predictedLabel: null,
      error: { code: 'ENDPOINT_UNAVAILABLE', message: 'timed out after 10000 ms' },
    });
    const error = invalidField(() => computeReward(failed, labelReceived({ label: 'spam' })));
    expect(error.message).toContain('ENDPOINT_UNAVAILABLE');
    expect(error.message).toContain('timed out after 10000 ms');
  });

  it('cannot score a prediction without a predicted label against a truth label', () => {
    const error = invalidField(() =>
      computeReward(predictionMade({ predictedLabel: null }), labelReceived({ label: 'spam' })),
    );
    expect(error.message).toContain('no predicted label');
  });
});

describe('creditedVariant', () => {
  it('credits the invoked variant over the requested one', () => {
    expect(
      creditedVariant(predictionMade({ requestedVariant: 'model-a', invokedVariant: 'model-b' })),
    ).toBe('model-b');
  });

  it('falls back to the requested variant when none was invoked', () => {
    expect(
      creditedVariant(predictionMade({ requestedVariant: 'model-a', invokedVariant: null })),
    ).toBe('model-a');
  });
});
