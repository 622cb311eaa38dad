// How a joined prediction and label become a reward. Pure.
//
// The rule of the SageMaker dynamic A/B workshop: an explicit reward wins; otherwise the
// prediction earns 1 when its predicted label equals the ground truth and 0 when it does not.
// Rewards live in [0, 1] so they fold into a Beta posterior as α += r, β += 1 − r (the
// "fractional Bernoulli" update of Agrawal & Goyal 2012 for Thompson sampling with [0,1] rewards).
// Experiments with real-valued rewards (revenue, ratings; `rewardKind: 'real'`) accept any finite
// explicit reward instead.
import type { LabelReceived, PredictionMade, RewardKind } from '../../../lib/contracts/events.ts';
import { DynabError } from '../../../lib/errors/catalogue.ts';

export function computeReward(
  prediction: PredictionMade,
  label: LabelReceived,
  kind: RewardKind = 'unit-interval',
): number {
  // A failed prediction served nothing: no reward, explicit or compared, is credited for it,
  // just as no implicit reward is when its window closes (join.ts, expireSlot).
  if (prediction.error !== null) {
    throw new DynabError(
      'INVALID_FIELD',
      `request ${label.requestId} has no prediction to score (${prediction.error.code}: ${prediction.error.message})`,
    );
  }
  if (label.reward !== null) {
    if (!Number.isFinite(label.reward)) {
      throw new DynabError(
        'INVALID_FIELD',
        `reward ${label.reward} of request ${label.requestId} is not a finite number`,
      );
    }
    if (kind === 'unit-interval' && (label.reward < 0 || label.reward > 1)) {
      throw new DynabError(
        'INVALID_FIELD',
        `reward ${label.reward} of request ${label.requestId} is outside [0, 1]`,
      );
    }
    return label.reward;
  }
  if (label.label === null) {
    throw new DynabError(
      'INVALID_FIELD',
      `label for request ${label.requestId} has neither a reward nor a label`,
    );
  }
  if (prediction.predictedLabel === null) {
    throw new DynabError(
      'INVALID_FIELD',
      `the prediction of request ${label.requestId} carries no predicted label to compare`,
    );
  }
  return prediction.predictedLabel === label.label ? 1 : 0;
}

/** The variant to credit: the one that answered, which may differ from the one asked for. */
export function creditedVariant(prediction: PredictionMade): string {
  return prediction.invokedVariant ?? prediction.requestedVariant;
}
