import { describe, expect, it } from 'vitest';
import {
  ENDPOINT_CHOOSES,
  type LabelReceived,
  type PredictionMade,
} from '../../../../lib/contracts/events.ts';
import {
  applyFallbackEvent,
  isFallbackPrediction,
  isFallbackSlot,
  type FallbackStep,
} from '../../../../services/aggregator/core/fallback.ts';
import {
  applyJoinEvent,
  EMPTY_SLOT,
  expireSlot,
  type JoinEvent,
  type JoinSlot,
} from '../../../../services/aggregator/core/join.ts';
import { labelReceived, predictionMade } from '../../../support/fixtures.ts';

const FALLBACK = predictionMade({
  experiment: 'unknown-endpoint',
  requestedVariant: ENDPOINT_CHOOSES,
  invokedVariant: 'model-b',
  policy: 'fallback-weights',
  propensity: 1,
  snapshotVersion: -1,
  allocation: [],
});
const STORED = { ...FALLBACK, output: new Uint8Array(0) };
const LABEL = labelReceived();

const P = (prediction: PredictionMade): JoinEvent => ({ kind: 'prediction', prediction });
const L = (label: LabelReceived): JoinEvent => ({ kind: 'label', label });

/** Applies the events in order as the aggregator does, returning each step and the last slot. */
function run(events: readonly JoinEvent[], from: JoinSlot = EMPTY_SLOT) {
  let slot = from;
  const steps: (FallbackStep | null)[] = [];
  for (const event of events) {
    const step = applyFallbackEvent(slot, event);
    steps.push(step);
    if (step?.slot != null) slot = step.slot;
  }
  return { steps, slot };
}

describe('isFallbackPrediction', () => {
  it('is told by the policy alone', () => {
    expect(isFallbackPrediction(FALLBACK)).toBe(true);
    expect(isFallbackPrediction(predictionMade())).toBe(false);
    expect(isFallbackPrediction(predictionMade({ policy: 'target-variant' }))).toBe(false);
  });
});

describe('applyFallbackEvent', () => {
  it('counts the prediction, then its first label; a second label is a duplicate', () => {
    const { steps, slot } = run([P(FALLBACK), L(LABEL), L({ ...LABEL, label: 'ham' })]);
    expect(steps).toEqual([
      {
        slot: { state: 'joined', prediction: STORED, label: null, lateSeen: false },
        served: 1,
        labelled: 0,
      },
      {
        slot: { state: 'joined', prediction: STORED, label: LABEL, lateSeen: false },
        served: 0,
        labelled: 1,
      },
      { slot: null, served: 0, labelled: 0 },
    ]);
    expect(isFallbackSlot(slot)).toBe(true);
  });

  it('counts a label that waited for its prediction when the prediction comes', () => {
    const waiting: JoinSlot = { ...EMPTY_SLOT, label: LABEL };
    expect(run([P(FALLBACK)], waiting).steps).toEqual([
      {
        slot: { state: 'joined', prediction: STORED, label: LABEL, lateSeen: false },
        served: 1,
        labelled: 1,
      },
    ]);
  });

  it('makes a redelivered fallback prediction a duplicate', () => {
    const { steps } = run([P(FALLBACK), P(FALLBACK)]);
    expect(steps[1]).toEqual({ slot: null, served: 0, labelled: 0 });
  });

  it('keeps the model output out of the stored slot', () => {
    const [step] = run([P(FALLBACK)]).steps;
    expect(step?.slot?.prediction?.output).toEqual(new Uint8Array(0));
    expect(step?.slot?.prediction?.invokedVariant).toBe('model-b');
  });

  it('counts a fallback prediction whose label was orphaned, without dead-lettering it', () => {
    const orphaned: JoinSlot = {
      state: 'orphaned',
      prediction: null,
      label: null,
      lateSeen: false,
    };
    expect(run([P(FALLBACK)], orphaned).steps).toEqual([
      {
        slot: { state: 'joined', prediction: STORED, label: null, lateSeen: false },
        served: 1,
        labelled: 0,
      },
    ]);
  });

  it('lets the first prediction of a request stand, as the join does', () => {
    const pending: JoinSlot = { ...EMPTY_SLOT, prediction: predictionMade() };
    const resolved: JoinSlot = { state: 'joined', prediction: null, label: null, lateSeen: false };
    const closed: JoinSlot = { ...pending, state: 'closed' };
    for (const slot of [pending, resolved, closed]) {
      expect(applyFallbackEvent(slot, P(FALLBACK))).toEqual({
        slot: null,
        served: 0,
        labelled: 0,
      });
    }
  });

  it('leaves every event of other requests to the join', () => {
    const pending: JoinSlot = { ...EMPTY_SLOT, prediction: predictionMade() };
    const resolved: JoinSlot = { state: 'joined', prediction: null, label: null, lateSeen: false };
    expect(applyFallbackEvent(EMPTY_SLOT, P(predictionMade()))).toBeNull();
    expect(applyFallbackEvent(EMPTY_SLOT, L(LABEL))).toBeNull();
    expect(applyFallbackEvent(pending, L(LABEL))).toBeNull();
    expect(applyFallbackEvent(resolved, L(LABEL))).toBeNull();
    const waiting: JoinSlot = { ...EMPTY_SLOT, label: LABEL };
    expect(applyFallbackEvent(waiting, L(LABEL))).toBeNull();
  });

  it('leaves a slot the join sees as resolved, whose window closing changes nothing', () => {
    const { slot } = run([P(FALLBACK), L(LABEL)]);
    // Should the fallback step ever be skipped, the join takes any later event as a duplicate
    // and never folds or dead-letters it.
    expect(applyJoinEvent(slot, L(LABEL), null, 0)).toEqual({ kind: 'duplicate' });
    expect(applyJoinEvent(slot, P(FALLBACK), null, 0)).toEqual({ kind: 'duplicate' });
    expect(expireSlot(slot, null, Number.MAX_SAFE_INTEGER, 1, 0)).toEqual({ kind: 'not-due' });
  });
});
