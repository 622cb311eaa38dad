import { describe, expect, it } from 'vitest';
import type { LabelReceived, PredictionMade } from '../../../../lib/contracts/events.ts';
import { DynabError } from '../../../../lib/errors/catalogue.ts';
import {
  applyJoinEvent,
  EMPTY_SLOT,
  expireSlot,
  labelExpiry,
  MAX_HELD_LABELS,
  predictionExpiry,
  purgeTime,
  windowEnd,
  type ExpiryOutcome,
  type JoinEvent,
  type JoinOutcome,
  type JoinSlot,
  type WindowRule,
} from '../../../../services/aggregator/core/join.ts';
import { labelReceived, predictionMade } from '../../../support/fixtures.ts';

const NOW = 1_700_000_999_999;
const WINDOW_MS = 60_000;
const GRACE_MS = 5_000;
const ORPHAN_AFTER_MS = 3_600_000;
/** The fixture prediction's request time; its window is [REQUEST_TIME, WINDOW_END]. */
const REQUEST_TIME = predictionMade().requestTime;
const WINDOW_END = REQUEST_TIME + WINDOW_MS;
const EXPIRY = WINDOW_END + GRACE_MS;

const rule = (overrides: Partial<WindowRule> = {}): WindowRule => ({
  attributionWindowMs: WINDOW_MS,
  graceMs: GRACE_MS,
  implicitReward: null,
  ...overrides,
});
const RULE = rule();

const P = (prediction: PredictionMade): JoinEvent => ({ kind: 'prediction', prediction });
const L = (label: LabelReceived): JoinEvent => ({ kind: 'label', label });

function expectKind<K extends JoinOutcome['kind']>(
  outcome: JoinOutcome,
  kind: K,
): Extract<JoinOutcome, { kind: K }> {
  expect(outcome.kind).toBe(kind);
  if (outcome.kind !== kind) throw new Error(`expected ${kind}, got ${outcome.kind}`);
  return outcome as Extract<JoinOutcome, { kind: K }>;
}

function expectExpiry<K extends ExpiryOutcome['kind']>(
  outcome: ExpiryOutcome,
  kind: K,
): Extract<ExpiryOutcome, { kind: K }> {
  expect(outcome.kind).toBe(kind);
  if (outcome.kind !== kind) throw new Error(`expected ${kind}, got ${outcome.kind}`);
  return outcome as Extract<ExpiryOutcome, { kind: K }>;
}

const slot = (overrides: Partial<JoinSlot>): JoinSlot => ({ ...EMPTY_SLOT, ...overrides });
const withPrediction = (prediction = predictionMade()): JoinSlot =>
  expectKind(applyJoinEvent(EMPTY_SLOT, P(prediction), RULE, NOW), 'pending').slot;
const withLabel = (label = labelReceived()): JoinSlot =>
  expectKind(applyJoinEvent(EMPTY_SLOT, L(label), null, NOW), 'pending').slot;
const JOINED: JoinSlot = { state: 'joined', prediction: null, label: null, lateSeen: false };
const ORPHANED: JoinSlot = { state: 'orphaned', prediction: null, label: null, lateSeen: false };
const closed = (prediction = predictionMade(), lateSeen = false): JoinSlot => ({
  state: 'closed',
  prediction,
  label: null,
  lateSeen,
});

/** A label at `offset` ms after the fixture request's window end (0 = exactly at the end). */
const labelAt = (offset: number, overrides: Partial<LabelReceived> = {}): LabelReceived =>
  labelReceived({ eventTime: WINDOW_END + offset, ...overrides });

describe('window arithmetic', () => {
  it('runs the window from the request time (not the prediction event time)', () => {
    const prediction = predictionMade({ requestTime: 1_000, eventTime: 50_000 });
    expect(windowEnd(prediction, rule({ attributionWindowMs: 10_000 }))).toBe(11_000);
    expect(predictionExpiry(prediction, rule({ attributionWindowMs: 10_000, graceMs: 500 }))).toBe(
      11_500,
    );
    expect(predictionExpiry(prediction, rule({ attributionWindowMs: 10_000, graceMs: 0 }))).toBe(
      11_000,
    );
  });

  it('expires a waiting label orphanAfterMs after its event time', () => {
    expect(labelExpiry(labelReceived({ eventTime: 2_000 }), 300)).toBe(2_300);
  });
});

describe('applyJoinEvent: joining in either order', () => {
  it('keeps a prediction that arrives first in an open slot', () => {
    const prediction = predictionMade();
    expect(applyJoinEvent(EMPTY_SLOT, P(prediction), RULE, NOW)).toEqual({
      kind: 'pending',
      slot: { state: 'open', prediction, label: null, lateSeen: false },
    });
  });

  it('keeps a label that arrives first in an open slot (no rule needed)', () => {
    const label = labelReceived();
    expect(applyJoinEvent(EMPTY_SLOT, L(label), null, NOW)).toEqual({
      kind: 'pending',
      slot: { state: 'open', prediction: null, label, lateSeen: false },
    });
  });

  it('resolves prediction then label into a label reward and a joined slot', () => {
    const prediction = predictionMade({
      requestId: 'req-42',
      experiment: 'spam-filter',
      invokedVariant: 'model-b',
      requestedVariant: 'model-a',
      propensity: 0.4,
      requestTime: 1_000,
      eventTime: 1_500,
      predictedLabel: 'spam',
    });
    const label = labelReceived({ requestId: 'req-42', label: 'spam', eventTime: 2_000 });
    const pending = expectKind(applyJoinEvent(EMPTY_SLOT, P(prediction), RULE, NOW), 'pending');
    expect(applyJoinEvent(pending.slot, L(label), RULE, NOW)).toEqual({
      kind: 'resolved',
      slot: JOINED,
      reward: {
        requestId: 'req-42',
        experiment: 'spam-filter',
        variant: 'model-b',
        reward: 1,
        propensity: 0.4,
        resolution: 'label',
        predictionTime: 1_000,
        labelTime: 2_000,
        labelSource: 'mail-client',
        resolvedAt: NOW,
        policy: prediction.policy,
        snapshotVersion: prediction.snapshotVersion,
        experimentRevision: 1,
      },
    });
  });

  it('resolves label then prediction the same way', () => {
    const prediction = predictionMade({
      predictedLabel: 'ham',
      requestTime: 1_000,
      eventTime: 1_200,
      propensity: 0.6,
    });
    const label = labelReceived({ label: 'spam', eventTime: 900 });
    const outcome = expectKind(
      applyJoinEvent(withLabel(label), P(prediction), RULE, NOW),
      'resolved',
    );
    expect(outcome).toEqual({
      kind: 'resolved',
      slot: JOINED,
      reward: {
        requestId: 'req-1',
        experiment: 'spam-filter',
        variant: 'model-a',
        reward: 0,
        propensity: 0.6,
        resolution: 'label',
        predictionTime: 1_000,
        labelTime: 900,
        labelSource: 'mail-client',
        resolvedAt: NOW,
        policy: prediction.policy,
        snapshotVersion: prediction.snapshotVersion,
        experimentRevision: 1,
      },
    });
  });

  it('uses an explicit fractional reward', () => {
    const outcome = applyJoinEvent(
      withPrediction(),
      L(labelReceived({ reward: 0.3, label: 'ham' })),
      RULE,
      NOW,
    );
    expect(expectKind(outcome, 'resolved').reward.reward).toBe(0.3);
  });

  it('credits the requested variant when the endpoint did not say which answered (explicit reward)', () => {
    const prediction = predictionMade({
      requestedVariant: 'model-c',
      invokedVariant: null,
      predictedLabel: null,
    });
    const outcome = applyJoinEvent(
      withPrediction(prediction),
      L(labelReceived({ reward: 0 })),
      RULE,
      NOW,
    );
    expect(expectKind(outcome, 'resolved').reward.variant).toBe('model-c');
  });

  it('waits in the slot when the prediction has no rule (its experiment is unknown)', () => {
    const prediction = predictionMade();
    expect(applyJoinEvent(EMPTY_SLOT, P(prediction), null, NOW)).toEqual({
      kind: 'pending',
      slot: { state: 'open', prediction, label: null, lateSeen: false },
    });
  });
});

describe('applyJoinEvent: attribution window', () => {
  it('counts a label exactly at the window end', () => {
    const outcome = applyJoinEvent(withPrediction(), L(labelAt(0)), RULE, NOW);
    const resolved = expectKind(outcome, 'resolved');
    expect(resolved.reward.labelTime).toBe(WINDOW_END);
    expect(resolved.reward.resolution).toBe('label');
  });

  it('counts a label inside the grace period as late (grace delays closing, not the window)', () => {
    expect(applyJoinEvent(withPrediction(), L(labelAt(1)), RULE, NOW).kind).toBe('late');
    expect(applyJoinEvent(withPrediction(), L(labelAt(GRACE_MS)), RULE, NOW).kind).toBe('late');
  });

  it('reports a label 1 ms after the window end as late and keeps the prediction waiting', () => {
    const prediction = predictionMade({ invokedVariant: 'model-b', propensity: 0.7 });
    const label = labelAt(1, { label: 'spam' });
    expect(applyJoinEvent(withPrediction(prediction), L(label), RULE, NOW)).toEqual({
      kind: 'late',
      slot: { state: 'open', prediction, label: null, lateSeen: true },
      late: {
        requestId: 'req-1',
        experiment: 'spam-filter',
        variant: 'model-b',
        reward: 1,
        propensity: 0.7,
        resolution: 'late',
        predictionTime: REQUEST_TIME,
        labelTime: WINDOW_END + 1,
        labelSource: 'mail-client',
        resolvedAt: NOW,
        policy: prediction.policy,
        snapshotVersion: prediction.snapshotVersion,
        experimentRevision: 1,
      },
    });
  });

  it('uses the rule it is given for the window', () => {
    const label = labelAt(1);
    expect(applyJoinEvent(withPrediction(), L(label), RULE, NOW).kind).toBe('late');
    const wider = rule({ attributionWindowMs: WINDOW_MS + 1 });
    expect(applyJoinEvent(withPrediction(), L(label), wider, NOW).kind).toBe('resolved');
  });

  it('still resolves with an in-window (reordered) label after a late one', () => {
    const late = expectKind(applyJoinEvent(withPrediction(), L(labelAt(10)), RULE, NOW), 'late');
    const outcome = applyJoinEvent(late.slot, L(labelAt(-10, { reward: 0.25 })), RULE, NOW);
    expect(outcome).toEqual({
      kind: 'resolved',
      slot: { ...JOINED, lateSeen: true },
      reward: expect.objectContaining({
        resolution: 'label',
        reward: 0.25,
        labelTime: WINDOW_END - 10,
        labelSource: 'mail-client',
      }) as unknown,
    });
  });

  it('reports a late label only once: a second late label is a duplicate', () => {
    const late = expectKind(applyJoinEvent(withPrediction(), L(labelAt(10)), RULE, NOW), 'late');
    expect(applyJoinEvent(late.slot, L(labelAt(20)), RULE, NOW)).toEqual({ kind: 'duplicate' });
    expect(applyJoinEvent(late.slot, L(labelAt(10)), RULE, NOW)).toEqual({ kind: 'duplicate' });
  });

  it('reports a waiting label as late when the prediction that arrives does not cover it', () => {
    const prediction = predictionMade();
    const label = labelAt(1);
    const outcome = applyJoinEvent(withLabel(label), P(prediction), RULE, NOW);
    const late = expectKind(outcome, 'late');
    // The prediction now waits for an in-window label or for its window to close.
    expect(late.slot).toEqual({ state: 'open', prediction, label: null, lateSeen: true });
    expect(late.late).toEqual(
      expect.objectContaining({ resolution: 'late', labelTime: WINDOW_END + 1, reward: 1 }),
    );
    expect(applyJoinEvent(late.slot, L(labelAt(0)), RULE, NOW).kind).toBe('resolved');
  });

  it('keeps lateSeen through resolution, so the joined slot remembers it', () => {
    const open = slot({ prediction: predictionMade(), lateSeen: true });
    const resolved = expectKind(applyJoinEvent(open, L(labelAt(0)), RULE, NOW), 'resolved');
    expect(resolved.slot.lateSeen).toBe(true);
    const fresh = expectKind(
      applyJoinEvent(withPrediction(), L(labelAt(0)), RULE, NOW),
      'resolved',
    );
    expect(fresh.slot.lateSeen).toBe(false);
  });
});

describe('applyJoinEvent: duplicates in every state', () => {
  it('open with a prediction: a second prediction is a duplicate', () => {
    const outcome = applyJoinEvent(
      withPrediction(),
      P(predictionMade({ predictedLabel: 'ham' })),
      RULE,
      NOW,
    );
    expect(outcome).toEqual({ kind: 'duplicate' });
  });

  it('open with a label: a second label is a duplicate', () => {
    expect(applyJoinEvent(withLabel(), L(labelReceived({ label: 'ham' })), null, NOW)).toEqual({
      kind: 'duplicate',
    });
  });

  it('open after a late label: a second prediction is a duplicate', () => {
    const late = expectKind(applyJoinEvent(withPrediction(), L(labelAt(1)), RULE, NOW), 'late');
    expect(applyJoinEvent(late.slot, P(predictionMade()), RULE, NOW)).toEqual({
      kind: 'duplicate',
    });
  });

  it('joined: every later prediction or label is a duplicate', () => {
    const resolved = expectKind(
      applyJoinEvent(withPrediction(), L(labelReceived()), RULE, NOW),
      'resolved',
    );
    for (const event of [
      P(predictionMade()),
      L(labelReceived()),
      L(labelReceived({ reward: 1 })),
      L(labelAt(1)),
    ]) {
      expect(applyJoinEvent(resolved.slot, event, RULE, NOW)).toEqual({ kind: 'duplicate' });
      expect(applyJoinEvent(resolved.slot, event, null, NOW)).toEqual({ kind: 'duplicate' });
    }
  });

  it('closed: a prediction is a duplicate', () => {
    expect(applyJoinEvent(closed(), P(predictionMade()), RULE, NOW)).toEqual({
      kind: 'duplicate',
    });
  });

  it('closed with a late label seen: any label is a duplicate', () => {
    expect(applyJoinEvent(closed(predictionMade(), true), L(labelAt(0)), RULE, NOW)).toEqual({
      kind: 'duplicate',
    });
  });

  it('orphaned: a label is a duplicate', () => {
    expect(applyJoinEvent(ORPHANED, L(labelReceived()), null, NOW)).toEqual({ kind: 'duplicate' });
    expect(applyJoinEvent(ORPHANED, L(labelReceived()), RULE, NOW)).toEqual({ kind: 'duplicate' });
  });
});

describe('applyJoinEvent: closed and orphaned slots', () => {
  it('reports a label after the window closed as late, once, keeping the prediction', () => {
    const prediction = predictionMade({ invokedVariant: 'model-b' });
    const outcome = applyJoinEvent(closed(prediction), L(labelAt(100, { reward: 0.5 })), RULE, NOW);
    expect(outcome).toEqual({
      kind: 'late',
      slot: { state: 'closed', prediction, label: null, lateSeen: true },
      late: {
        requestId: 'req-1',
        experiment: 'spam-filter',
        variant: 'model-b',
        reward: 0.5,
        propensity: prediction.propensity,
        resolution: 'late',
        predictionTime: REQUEST_TIME,
        labelTime: WINDOW_END + 100,
        labelSource: 'mail-client',
        resolvedAt: NOW,
        policy: prediction.policy,
        snapshotVersion: prediction.snapshotVersion,
        experimentRevision: 1,
      },
    });
    const late = expectKind(outcome, 'late');
    expect(applyJoinEvent(late.slot, L(labelAt(200)), RULE, NOW)).toEqual({ kind: 'duplicate' });
  });

  it('reports even an in-window label as late once the window has closed', () => {
    const late = expectKind(applyJoinEvent(closed(), L(labelAt(-1)), RULE, NOW), 'late');
    expect(late.late.resolution).toBe('late');
    expect(late.late.labelTime).toBe(WINDOW_END - 1);
  });

  it('rejects a prediction for an orphaned slot with ORPHAN_LABEL', () => {
    const outcome = applyJoinEvent(ORPHANED, P(predictionMade({ requestId: 'req-9' })), RULE, NOW);
    const rejected = expectKind(outcome, 'rejected');
    expect(Object.keys(rejected).sort()).toEqual(['error', 'kind']);
    expect(rejected.error).toBeInstanceOf(DynabError);
    expect(rejected.error.code).toBe('ORPHAN_LABEL');
    expect(rejected.error.retriable).toBe(false);
    expect(rejected.error.message).toContain('req-9');
  });
});

describe('applyJoinEvent: unscorable pairs', () => {
  it('marks a failed prediction with a truth label unscorable, with the reason, and leaves the slot open', () => {
    const prediction = predictionMade({
      invokedVariant: null,
      predictedLabel: null,
      error: { code: 'ENDPOINT_THROTTLED', message: 'slow down' },
    });
    const outcome = applyJoinEvent(
      withPrediction(prediction),
      L(labelReceived({ label: 'spam' })),
      RULE,
      NOW,
    );
    const unscorable = expectKind(outcome, 'unscorable');
    expect(unscorable.slot).toEqual(withPrediction(prediction));
    expect(unscorable.error.code).toBe('INVALID_FIELD');
    expect(unscorable.error.message).toContain('ENDPOINT_THROTTLED');
    expect(unscorable.error.message).toContain('slow down');
  });

  it('marks a prediction without a predicted label unscorable (label first)', () => {
    const outcome = applyJoinEvent(
      withLabel(labelReceived({ label: 'spam' })),
      P(predictionMade({ predictedLabel: null })),
      RULE,
      NOW,
    );
    const unscorable = expectKind(outcome, 'unscorable');
    expect(unscorable.error.code).toBe('INVALID_FIELD');
    expect(unscorable.error.message).toContain('no predicted label');
    // The prediction waits for a label that can be scored (an explicit reward).
    expect(unscorable.slot).toEqual(withPrediction(predictionMade({ predictedLabel: null })));
  });

  it('marks an out-of-range explicit reward unscorable with INVALID_FIELD', () => {
    const outcome = applyJoinEvent(withPrediction(), L(labelReceived({ reward: 1.5 })), RULE, NOW);
    expect(expectKind(outcome, 'unscorable').error.code).toBe('INVALID_FIELD');
  });

  it('marks an unscorable late label unscorable and leaves the slot as it was (a valid late label is still reported)', () => {
    const prediction = predictionMade();
    const outcome = applyJoinEvent(
      withPrediction(prediction),
      L(labelAt(1, { reward: -0.5 })),
      RULE,
      NOW,
    );
    const unscorable = expectKind(outcome, 'unscorable');
    expect(unscorable.error.code).toBe('INVALID_FIELD');
    expect(unscorable.slot).toEqual({ state: 'open', prediction, label: null, lateSeen: false });
  });

  it('marks an unscorable label after closing unscorable and leaves the slot as it was', () => {
    const prediction = predictionMade();
    const outcome = applyJoinEvent(
      closed(prediction),
      L(labelAt(1, { reward: null, label: null })),
      RULE,
      NOW,
    );
    const unscorable = expectKind(outcome, 'unscorable');
    expect(unscorable.error.code).toBe('INVALID_FIELD');
    expect(unscorable.slot).toEqual(closed(prediction, false));
  });
});

describe('expireSlot', () => {
  it('is not due while the watermark has not passed window end + grace', () => {
    const open = withPrediction();
    expect(predictionExpiry(predictionMade(), RULE)).toBe(EXPIRY);
    expect(expireSlot(open, RULE, EXPIRY, ORPHAN_AFTER_MS, NOW)).toEqual({ kind: 'not-due' });
    expect(expireSlot(open, RULE, WINDOW_END + 1, ORPHAN_AFTER_MS, NOW)).toEqual({
      kind: 'not-due',
    });
    expect(expireSlot(open, RULE, Number.NEGATIVE_INFINITY, ORPHAN_AFTER_MS, NOW)).toEqual({
      kind: 'not-due',
    });
  });

  it('closes the window with an implicit reward once the watermark passes expiry by 1 ms', () => {
    const prediction = predictionMade({ invokedVariant: 'model-b', propensity: 0.3 });
    const outcome = expireSlot(
      withPrediction(prediction),
      rule({ implicitReward: 0.2 }),
      EXPIRY + 1,
      ORPHAN_AFTER_MS,
      NOW,
    );
    expect(outcome).toEqual({
      kind: 'implicit',
      slot: { state: 'closed', prediction, label: null, lateSeen: false },
      reward: {
        requestId: 'req-1',
        experiment: 'spam-filter',
        variant: 'model-b',
        reward: 0.2,
        propensity: 0.3,
        resolution: 'implicit',
        predictionTime: REQUEST_TIME,
        labelTime: null,
        labelSource: null,
        resolvedAt: NOW,
        policy: prediction.policy,
        snapshotVersion: prediction.snapshotVersion,
        experimentRevision: 1,
      },
    });
  });

  it('credits an implicit reward of 0 (not a drop)', () => {
    const outcome = expireSlot(
      withPrediction(),
      rule({ implicitReward: 0 }),
      EXPIRY + 1,
      ORPHAN_AFTER_MS,
      NOW,
    );
    expect(expectExpiry(outcome, 'implicit').reward.reward).toBe(0);
  });

  it('honours the grace of the rule it is given', () => {
    const open = withPrediction();
    expect(expireSlot(open, rule({ graceMs: 0 }), WINDOW_END, ORPHAN_AFTER_MS, NOW).kind).toBe(
      'not-due',
    );
    expect(expireSlot(open, rule({ graceMs: 0 }), WINDOW_END + 1, ORPHAN_AFTER_MS, NOW).kind).toBe(
      'dropped',
    );
  });

  it('drops the prediction when the experiment has no implicit reward', () => {
    const prediction = predictionMade();
    expect(expireSlot(withPrediction(prediction), RULE, EXPIRY + 1, ORPHAN_AFTER_MS, NOW)).toEqual({
      kind: 'dropped',
      slot: { state: 'closed', prediction, label: null, lateSeen: false },
      prediction,
    });
  });

  it('drops a failed prediction even when the experiment has an implicit reward', () => {
    const prediction = predictionMade({
      invokedVariant: null,
      predictedLabel: null,
      error: { code: 'MODEL_ERROR', message: 'boom' },
    });
    const outcome = expireSlot(
      withPrediction(prediction),
      rule({ implicitReward: 1 }),
      EXPIRY + 1,
      ORPHAN_AFTER_MS,
      NOW,
    );
    expect(outcome).toEqual({ kind: 'dropped', slot: closed(prediction), prediction });
  });

  it('drops the prediction at any watermark when its rule is gone', () => {
    const prediction = predictionMade();
    for (const watermark of [0, REQUEST_TIME, EXPIRY + 1]) {
      expect(expireSlot(withPrediction(prediction), null, watermark, ORPHAN_AFTER_MS, NOW)).toEqual(
        { kind: 'dropped', slot: closed(prediction), prediction },
      );
    }
  });

  it('keeps lateSeen when closing, so a later late label is a duplicate', () => {
    const late = expectKind(applyJoinEvent(withPrediction(), L(labelAt(1)), RULE, NOW), 'late');
    const expired = expectExpiry(
      expireSlot(late.slot, rule({ implicitReward: 0 }), EXPIRY + 1, ORPHAN_AFTER_MS, NOW),
      'implicit',
    );
    expect(expired.slot).toEqual(closed(predictionMade(), true));
    expect(applyJoinEvent(expired.slot, L(labelAt(2)), RULE, NOW)).toEqual({ kind: 'duplicate' });
  });

  it('lets a closed slot report one late label', () => {
    const dropped = expectExpiry(
      expireSlot(withPrediction(), RULE, EXPIRY + 1, ORPHAN_AFTER_MS, NOW),
      'dropped',
    );
    const late = expectKind(
      applyJoinEvent(dropped.slot, L(labelAt(GRACE_MS + 2)), RULE, NOW),
      'late',
    );
    expect(late.slot).toEqual(closed(predictionMade(), true));
    expect(applyJoinEvent(late.slot, L(labelAt(GRACE_MS + 3)), RULE, NOW)).toEqual({
      kind: 'duplicate',
    });
  });

  it('orphans a label still without a prediction once the watermark passes orphanAfterMs', () => {
    const label = labelReceived({ requestId: 'req-7', eventTime: 10_000 });
    const waiting = withLabel(label);
    const due = 10_000 + ORPHAN_AFTER_MS;
    expect(expireSlot(waiting, null, due, ORPHAN_AFTER_MS, NOW)).toEqual({ kind: 'not-due' });
    expect(expireSlot(waiting, RULE, due, ORPHAN_AFTER_MS, NOW)).toEqual({ kind: 'not-due' });
    const outcome = expectExpiry(
      expireSlot(waiting, null, due + 1, ORPHAN_AFTER_MS, NOW),
      'orphaned',
    );
    expect(outcome.slot).toEqual(ORPHANED);
    expect(outcome.label).toEqual(label);
    expect(outcome.error).toBeInstanceOf(DynabError);
    expect(outcome.error.code).toBe('ORPHAN_LABEL');
    expect(outcome.error.message).toContain('req-7');
    // The orphan window is the one it is given, not the experiment's.
    expect(expireSlot(waiting, null, 10_001, 0, NOW).kind).toBe('orphaned');
    expect(expireSlot(waiting, null, 10_000, 0, NOW).kind).toBe('not-due');
  });

  it('keeps lateSeen when orphaning', () => {
    const waiting = slot({ label: labelReceived({ eventTime: 0 }), lateSeen: true });
    const outcome = expectExpiry(expireSlot(waiting, null, 2, 1, NOW), 'orphaned');
    expect(outcome.slot).toEqual({ ...ORPHANED, lateSeen: true });
  });

  it('rejects the prediction that arrives after its label was orphaned', () => {
    const orphaned = expectExpiry(
      expireSlot(withLabel(labelReceived({ eventTime: 0 })), null, 2, 1, NOW),
      'orphaned',
    );
    const outcome = applyJoinEvent(orphaned.slot, P(predictionMade()), RULE, NOW);
    expect(expectKind(outcome, 'rejected').error.code).toBe('ORPHAN_LABEL');
  });

  it('is never due for an empty open slot', () => {
    expect(expireSlot(EMPTY_SLOT, RULE, Number.MAX_SAFE_INTEGER, 0, NOW)).toEqual({
      kind: 'not-due',
    });
    expect(expireSlot(EMPTY_SLOT, null, Number.MAX_SAFE_INTEGER, 0, NOW)).toEqual({
      kind: 'not-due',
    });
  });

  it('is never due for joined, closed or orphaned slots', () => {
    const label = labelReceived({ eventTime: 0 });
    for (const done of [
      JOINED,
      { ...JOINED, lateSeen: true },
      closed(),
      closed(predictionMade(), true),
      ORPHANED,
      // Even if a finished slot still referenced a half, it is finished.
      { ...ORPHANED, label },
      { ...JOINED, prediction: predictionMade() },
    ]) {
      for (const r of [rule({ implicitReward: 1 }), null]) {
        expect(expireSlot(done, r, Number.MAX_SAFE_INTEGER, 0, NOW)).toEqual({ kind: 'not-due' });
      }
    }
  });
});

describe('immutability', () => {
  it('does not mutate the slot it is given', () => {
    const frozen = <T extends object>(value: T): T => Object.freeze(value);
    const open = frozen(withPrediction());
    const before = structuredClone(open);
    applyJoinEvent(open, L(labelReceived()), RULE, NOW);
    applyJoinEvent(open, L(labelAt(1)), RULE, NOW);
    expireSlot(open, rule({ implicitReward: 1 }), EXPIRY + 1, 0, NOW);
    expect(open).toEqual(before);
    const waiting = frozen(withLabel(labelAt(1)));
    const waitingBefore = structuredClone(waiting);
    applyJoinEvent(waiting, P(predictionMade()), RULE, NOW);
    expireSlot(waiting, null, Number.MAX_SAFE_INTEGER, 0, NOW);
    expect(waiting).toEqual(waitingBefore);
    const done = frozen(closed());
    applyJoinEvent(done, L(labelAt(1)), RULE, NOW);
    expect(done.lateSeen).toBe(false);
    expect(EMPTY_SLOT).toEqual({ state: 'open', prediction: null, label: null, lateSeen: false });
  });
});

describe('purgeTime', () => {
  it('forgets a resolved slot the orphan horizon after its window closed', () => {
    const joined = slot({ state: 'joined', prediction: predictionMade() });
    expect(purgeTime(joined, RULE, ORPHAN_AFTER_MS)).toBe(EXPIRY + ORPHAN_AFTER_MS);
    const closed = slot({ state: 'closed', prediction: predictionMade(), lateSeen: true });
    expect(purgeTime(closed, RULE, ORPHAN_AFTER_MS)).toBe(EXPIRY + ORPHAN_AFTER_MS);
  });

  it('counts from the request when no rule applies (a fallback request)', () => {
    const joined = slot({ state: 'joined', prediction: predictionMade() });
    expect(purgeTime(joined, null, ORPHAN_AFTER_MS)).toBe(REQUEST_TIME + ORPHAN_AFTER_MS);
  });

  it('never forgets an open slot, and leaves a slot without prediction to its caller', () => {
    expect(purgeTime(withPrediction(), RULE, ORPHAN_AFTER_MS)).toBeNull();
    expect(purgeTime(slot({ state: 'orphaned' }), RULE, ORPHAN_AFTER_MS)).toBeNull();
  });
});

/** Runs the events through the join in order; returns what each resolved or reported late. */
function runEvents(events: readonly JoinEvent[]): {
  readonly rewards: number[];
  readonly late: number[];
  readonly unscorable: number;
  readonly slot: JoinSlot;
} {
  let current = EMPTY_SLOT;
  const rewards: number[] = [];
  const late: number[] = [];
  let unscorable = 0;
  const apply = (outcome: JoinOutcome): void => {
    switch (outcome.kind) {
      case 'resolved':
        rewards.push(outcome.reward.reward);
        current = outcome.slot;
        return;
      case 'late':
        late.push(outcome.late.reward);
        current = outcome.slot;
        return;
      case 'unscorable':
        unscorable++;
        current = outcome.slot;
        return;
      case 'pending':
        current = outcome.slot;
        return;
      case 'replayed':
        for (const step of outcome.steps) apply(step.outcome);
        current = outcome.slot;
        return;
      case 'duplicate':
      case 'rejected':
        return;
    }
  };
  for (const event of events) {
    const rule = event.kind === 'prediction' || current.prediction !== null ? RULE : null;
    apply(applyJoinEvent(current, event, rule, NOW));
  }
  return { rewards, late, unscorable, slot: current };
}

/** Every order of the events that keeps the given ones in their relative order. */
function orders<T>(items: readonly T[]): T[][] {
  if (items.length <= 1) return [[...items]];
  return items.flatMap((item, i) =>
    orders([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]),
  );
}

describe('applyJoinEvent: the prediction may come anywhere among its labels', () => {
  it('counts an in-window label after a late one, whether the prediction came first or last', () => {
    // The labels in the order they came: late (reward 0 by truth mismatch), then in window.
    const lateLabel = L(labelAt(1_000, { label: 'ham' }));
    const inWindow = L(labelAt(-1_000, { label: 'spam' }));
    const prediction = P(predictionMade());
    for (const events of [
      [prediction, lateLabel, inWindow],
      [lateLabel, prediction, inWindow],
      [lateLabel, inWindow, prediction],
    ]) {
      const result = runEvents(events);
      expect(result.rewards).toEqual([1]);
      expect(result.late).toEqual([0]);
      expect(result.slot.state).toBe('joined');
    }
  });

  it('gives the same rewards and late reports for every position of the prediction', () => {
    const labels = [
      L(labelAt(2_000, { reward: 0.25 })),
      L(labelAt(-5, { reward: 2 })),
      L(labelAt(3_000, { reward: 0.5 })),
      L(labelAt(-10, { reward: 0.75 })),
      L(labelAt(-20, { reward: 1 })),
    ];
    const outcomes = new Set<string>();
    for (let at = 0; at <= labels.length; at++) {
      const events = [...labels.slice(0, at), P(predictionMade()), ...labels.slice(at)];
      const { rewards, late, unscorable } = runEvents(events);
      outcomes.add(JSON.stringify({ rewards, late, unscorable }));
    }
    // With the prediction first: 0.25 is late, 2 is refused, 0.75 resolves.
    expect([...outcomes]).toEqual([
      JSON.stringify({ rewards: [0.75], late: [0.25], unscorable: 1 }),
    ]);
  });

  it('keeps a label with an earlier event time than the one held, and drops a later one', () => {
    const held = withLabel(labelAt(1_000, { reward: 1 }));
    const earlier = labelAt(-1_000, { reward: 0 });
    const pending = expectKind(applyJoinEvent(held, L(earlier), null, NOW), 'pending');
    expect(pending.slot.heldLabels).toEqual([earlier]);
    expect(applyJoinEvent(held, L(labelAt(2_000, { reward: 0 })), null, NOW)).toEqual({
      kind: 'duplicate',
    });
  });

  it('refuses a label beyond MAX_HELD_LABELS for a request without a prediction', () => {
    let current = EMPTY_SLOT;
    for (let i = 0; i < MAX_HELD_LABELS; i++) {
      current = expectKind(
        applyJoinEvent(current, L(labelAt(-i, { reward: 5 })), null, NOW),
        'pending',
      ).slot;
    }
    const outcome = applyJoinEvent(current, L(labelAt(-100, { reward: 1 })), null, NOW);
    expect(expectKind(outcome, 'rejected').error.code).toBe('INVALID_FIELD');
  });
});

describe('applyJoinEvent: an invalid label never takes the place of a valid one', () => {
  it('resolves with the valid label after an out-of-range reward, in every order', () => {
    const invalid = L(labelReceived({ reward: 1.7 }));
    const valid = L(labelReceived({ reward: 1 }));
    for (const order of orders([invalid, valid, P(predictionMade())])) {
      // Only the orders in which the invalid label comes before the valid one are of interest.
      if (order.indexOf(invalid) > order.indexOf(valid)) continue;
      const result = runEvents(order);
      expect(result.rewards).toEqual([1]);
      expect(result.unscorable).toBe(1);
    }
  });

  it('still reports a valid late label after an invalid late one', () => {
    const result = runEvents([
      P(predictionMade()),
      L(labelAt(1, { reward: -1 })),
      L(labelAt(2, { reward: 0.5 })),
    ]);
    expect(result.late).toEqual([0.5]);
  });
});
