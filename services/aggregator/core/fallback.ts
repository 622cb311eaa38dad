// Requests served by the endpoint's own weights because the router did not know their
// experiment (policy `fallback-weights`). They are not part of any experiment: no policy chose
// their variant and nobody knows the probability it had, so their outcomes would bias a
// posterior's evidence with traffic the bandit never allocated. They are counted instead, and
// their labels too, so they are visible; nothing of them is folded, published as a reward or
// dead-lettered.
//
// Which predictions are fallbacks is read from the prediction itself, not from the experiments
// the aggregator knows at the time, so replaying the same records always gives the same state.
//
// A fallback request's join slot is `joined` and keeps its prediction (without the model output)
// and the first label that came for it. The join treats every later event of a joined slot as a
// duplicate, so the slot needs no new state, and the label can be recognised as a fallback's
// instead of waiting for a prediction until it is dead-lettered as an orphan. Pure.
import type { PredictionMade } from '../../../lib/contracts/events.ts';
import type { JoinEvent, JoinSlot } from './join.ts';

/** Whether the prediction answered a request the router left to the endpoint's weights. */
export function isFallbackPrediction(prediction: PredictionMade): boolean {
  return prediction.policy === 'fallback-weights';
}

/** Whether the slot is that of a fallback request (see the file comment). */
export function isFallbackSlot(slot: JoinSlot): boolean {
  return (
    slot.state === 'joined' && slot.prediction !== null && isFallbackPrediction(slot.prediction)
  );
}

/** What an event of a fallback request changes. */
export interface FallbackStep {
  /** The slot to store; null when the event changes nothing (a duplicate). */
  readonly slot: JoinSlot | null;
  /** 1 when this is the first arrival of a fallback prediction. */
  readonly served: 0 | 1;
  /** 1 when a fallback request got its first label (with this event, or waiting in the slot). */
  readonly labelled: 0 | 1;
}

const DUPLICATE: FallbackStep = { slot: null, served: 0, labelled: 0 };

/**
 * Applies an event that belongs to a fallback request; null when it does not, and the join
 * handles it as usual. A fallback prediction for a request that already has a prediction, or
 * was resolved, is a duplicate: the first one stands, as in the join.
 */
export function applyFallbackEvent(slot: JoinSlot, event: JoinEvent): FallbackStep | null {
  if (event.kind === 'label') {
    if (!isFallbackSlot(slot)) return null;
    if (slot.label !== null) return DUPLICATE;
    return { slot: { ...slot, label: event.label }, served: 0, labelled: 1 };
  }
  if (!isFallbackPrediction(event.prediction)) return null;
  if (slot.state === 'joined' || slot.state === 'closed' || slot.prediction !== null) {
    return DUPLICATE;
  }
  // A label that waited for this prediction is the request's first. An orphaned slot's label
  // was dead-lettered before its prediction came to say whose it was; the prediction is still
  // counted, never dead-lettered as the join would.
  const waiting = slot.state === 'open' ? slot.label : null;
  return {
    slot: {
      state: 'joined',
      prediction: { ...event.prediction, output: new Uint8Array(0) },
      label: waiting,
      lateSeen: false,
    },
    served: 1,
    labelled: waiting === null ? 0 : 1,
  };
}
