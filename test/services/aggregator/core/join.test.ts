import { describe, expect, it } from 'vitest';
import type { LabelReceived, PredictionMade } from '../../../../lib/contracts/events.ts';
import {
  applyJoinEvent,
  EMPTY_SLOT,
  type JoinEvent,
  type JoinOutcome,
  type JoinSlot,
} from '../../../../services/aggregator/core/join.ts';
import { labelReceived, predictionMade } from '../../../support/fixtures.ts';

const NOW = 1_700_000_009_999;
const P = (prediction: PredictionMade): JoinEvent => ({ kind: 'prediction', prediction });
const L = (label: LabelReceived): JoinEvent => ({ kind: 'label', label });

function pendingSlot(outcome: JoinOutcome): JoinSlot {
  if (outcome.kind !== 'pending') throw new Error(`expected pending, got ${outcome.kind}`);
  return outcome.slot;
}

const RESOLVED_SLOT: JoinSlot = { prediction: null, label: null, resolved: true };

describe('applyJoinEvent', () => {
  it('stores a prediction that arrives first as pending', () => {
    const prediction = predictionMade();
    const outcome = applyJoinEvent(EMPTY_SLOT, P(prediction), NOW);
    expect(outcome).toEqual({
      kind: 'pending',
      slot: { prediction, label: null, resolved: false },
    });
  });

  it('stores a label that arrives first as pending', () => {
    const label = labelReceived();
    const outcome = applyJoinEvent(EMPTY_SLOT, L(label), NOW);
    expect(outcome).toEqual({
      kind: 'pending',
      slot: { prediction: null, label, resolved: false },
    });
  });

  it('resolves prediction then label into a reward and a resolved slot', () => {
    const prediction = predictionMade({
      requestId: 'req-42',
      experiment: 'spam-filter',
      invokedVariant: 'model-b',
      requestedVariant: 'model-a',
      propensity: 0.4,
      eventTime: 1000,
      predictedLabel: 'spam',
    });
    const label = labelReceived({ requestId: 'req-42', label: 'spam', eventTime: 2000 });
    const slot = pendingSlot(applyJoinEvent(EMPTY_SLOT, P(prediction), NOW));
    const outcome = applyJoinEvent(slot, L(label), NOW);
    expect(outcome).toEqual({
      kind: 'resolved',
      slot: RESOLVED_SLOT,
      reward: {
        requestId: 'req-42',
        experiment: 'spam-filter',
        variant: 'model-b',
        reward: 1,
        propensity: 0.4,
        resolution: 'label',
        predictionTime: 1000,
        labelTime: 2000,
        resolvedAt: NOW,
      },
    });
  });

  it('resolves label then prediction the same way', () => {
    const prediction = predictionMade({ predictedLabel: 'ham', eventTime: 1000 });
    const label = labelReceived({ label: 'spam', eventTime: 500 });
    const slot = pendingSlot(applyJoinEvent(EMPTY_SLOT, L(label), NOW));
    const outcome = applyJoinEvent(slot, P(prediction), NOW);
    expect(outcome.kind).toBe('resolved');
    if (outcome.kind !== 'resolved') return;
    expect(outcome.slot).toEqual(RESOLVED_SLOT);
    expect(outcome.reward.reward).toBe(0);
    expect(outcome.reward.predictionTime).toBe(1000);
    expect(outcome.reward.labelTime).toBe(500);
    expect(outcome.reward.variant).toBe('model-a');
  });

  it('uses an explicit fractional reward', () => {
    const slot = pendingSlot(applyJoinEvent(EMPTY_SLOT, P(predictionMade()), NOW));
    const outcome = applyJoinEvent(slot, L(labelReceived({ reward: 0.3, label: 'ham' })), NOW);
    expect(outcome.kind === 'resolved' && outcome.reward.reward).toBe(0.3);
  });

  it('credits the requested variant when no variant was invoked (explicit reward)', () => {
    const prediction = predictionMade({
      requestedVariant: 'model-c',
      invokedVariant: null,
      predictedLabel: null,
      error: { code: 'MODEL_ERROR', message: 'bad input' },
    });
    const slot = pendingSlot(applyJoinEvent(EMPTY_SLOT, P(prediction), NOW));
    const outcome = applyJoinEvent(slot, L(labelReceived({ reward: 0 })), NOW);
    expect(outcome.kind === 'resolved' && outcome.reward.variant).toBe('model-c');
  });

  it('treats a second prediction before resolution as a duplicate', () => {
    const slot = pendingSlot(applyJoinEvent(EMPTY_SLOT, P(predictionMade()), NOW));
    expect(applyJoinEvent(slot, P(predictionMade({ predictedLabel: 'ham' })), NOW)).toEqual({
      kind: 'duplicate',
    });
  });

  it('treats a second label before resolution as a duplicate', () => {
    const slot = pendingSlot(applyJoinEvent(EMPTY_SLOT, L(labelReceived()), NOW));
    expect(applyJoinEvent(slot, L(labelReceived({ label: 'ham' })), NOW)).toEqual({
      kind: 'duplicate',
    });
  });

  it('treats any event after resolution as a duplicate', () => {
    const slot = pendingSlot(applyJoinEvent(EMPTY_SLOT, P(predictionMade()), NOW));
    const resolved = applyJoinEvent(slot, L(labelReceived()), NOW);
    if (resolved.kind !== 'resolved') throw new Error('expected resolved');
    expect(applyJoinEvent(resolved.slot, P(predictionMade()), NOW)).toEqual({ kind: 'duplicate' });
    expect(applyJoinEvent(resolved.slot, L(labelReceived()), NOW)).toEqual({ kind: 'duplicate' });
    expect(applyJoinEvent(resolved.slot, L(labelReceived({ reward: 1 })), NOW)).toEqual({
      kind: 'duplicate',
    });
  });

  it('marks a failed prediction with a truth label unscorable, with the reason, and closes the slot', () => {
    const prediction = predictionMade({
      invokedVariant: null,
      predictedLabel: null,
      error: { code: 'ENDPOINT_THROTTLED', message: 'slow down' },
    });
    const slot = pendingSlot(applyJoinEvent(EMPTY_SLOT, P(prediction), NOW));
    const outcome = applyJoinEvent(slot, L(labelReceived({ label: 'spam' })), NOW);
    expect(outcome.kind).toBe('unscorable');
    if (outcome.kind !== 'unscorable') return;
    expect(outcome.slot).toEqual(RESOLVED_SLOT);
    expect(outcome.error.code).toBe('INVALID_FIELD');
    expect(outcome.error.message).toContain('ENDPOINT_THROTTLED');
    expect(outcome.error.message).toContain('slow down');
    // Closed: a retried label is a duplicate, not a second dead letter.
    expect(applyJoinEvent(outcome.slot, L(labelReceived()), NOW)).toEqual({ kind: 'duplicate' });
  });

  it('marks a prediction without a predicted label unscorable (label first)', () => {
    const slot = pendingSlot(applyJoinEvent(EMPTY_SLOT, L(labelReceived({ label: 'spam' })), NOW));
    const outcome = applyJoinEvent(slot, P(predictionMade({ predictedLabel: null })), NOW);
    expect(outcome.kind).toBe('unscorable');
    if (outcome.kind !== 'unscorable') return;
    expect(outcome.error.code).toBe('INVALID_FIELD');
    expect(outcome.error.message).toContain('no predicted label');
    expect(outcome.slot.resolved).toBe(true);
  });

  it('marks an out-of-range explicit reward unscorable with INVALID_FIELD', () => {
    const slot = pendingSlot(applyJoinEvent(EMPTY_SLOT, P(predictionMade()), NOW));
    const outcome = applyJoinEvent(slot, L(labelReceived({ reward: 1.5 })), NOW);
    expect(outcome.kind === 'unscorable' && outcome.error.code).toBe('INVALID_FIELD');
  });

  it('does not mutate the slot it is given', () => {
    const slot = Object.freeze(pendingSlot(applyJoinEvent(EMPTY_SLOT, P(predictionMade()), NOW)));
    const before = { ...slot };
    applyJoinEvent(slot, L(labelReceived()), NOW);
    expect(slot).toEqual(before);
    expect(EMPTY_SLOT).toEqual({ prediction: null, label: null, resolved: false });
  });
});
