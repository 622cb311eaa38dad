// The join of predictions and labels by request id, in either order, as a pure state
// transition: (what is stored for the request, one incoming event) → (what to store, what to
// emit). Whatever arrives first waits in the store; the second half resolves the request once;
// anything after that is a duplicate and changes nothing.
import type {
  LabelReceived,
  PredictionMade,
  RewardResolved,
} from '../../../lib/contracts/events.ts';
import { toDynabError, type DynabError } from '../../../lib/errors/catalogue.ts';
import { computeReward, creditedVariant } from './reward-rule.ts';

export interface JoinSlot {
  readonly prediction: PredictionMade | null;
  readonly label: LabelReceived | null;
  /** Set once the request has been resolved (or failed to resolve): later events are duplicates. */
  readonly resolved: boolean;
}

export const EMPTY_SLOT: JoinSlot = { prediction: null, label: null, resolved: false };

export type JoinEvent =
  | { readonly kind: 'prediction'; readonly prediction: PredictionMade }
  | { readonly kind: 'label'; readonly label: LabelReceived };

export type JoinOutcome =
  | { readonly kind: 'pending'; readonly slot: JoinSlot }
  | { readonly kind: 'duplicate' }
  | { readonly kind: 'resolved'; readonly slot: JoinSlot; readonly reward: RewardResolved }
  /** Both halves met but no reward can be computed; the label is dead-lettered with the reason. */
  | { readonly kind: 'unscorable'; readonly slot: JoinSlot; readonly error: DynabError };

export function applyJoinEvent(slot: JoinSlot, event: JoinEvent, now: number): JoinOutcome {
  if (slot.resolved) return { kind: 'duplicate' };
  const prediction = event.kind === 'prediction' ? event.prediction : slot.prediction;
  const label = event.kind === 'label' ? event.label : slot.label;
  if (event.kind === 'prediction' && slot.prediction !== null) return { kind: 'duplicate' };
  if (event.kind === 'label' && slot.label !== null) return { kind: 'duplicate' };
  if (prediction === null || label === null) {
    return { kind: 'pending', slot: { prediction, label, resolved: false } };
  }
  const done: JoinSlot = { prediction: null, label: null, resolved: true };
  let reward: number;
  try {
    reward = computeReward(prediction, label);
  } catch (error) {
    return { kind: 'unscorable', slot: done, error: toDynabError(error, 'INVALID_FIELD') };
  }
  return {
    kind: 'resolved',
    slot: done,
    reward: {
      requestId: prediction.requestId,
      experiment: prediction.experiment,
      variant: creditedVariant(prediction),
      reward,
      propensity: prediction.propensity,
      resolution: 'label',
      predictionTime: prediction.eventTime,
      labelTime: label.eventTime,
      resolvedAt: now,
    },
  };
}
