// The join of predictions and labels by request id, in either order and in event time, as pure
// state transitions. Whatever arrives first waits in the slot; the second half resolves the
// request once; anything after that is a duplicate and changes nothing.
//
// Windows are in event time. A prediction's attribution window runs from its request's event
// time for the experiment's `attributionWindowMs`; a label counts only if its own event time
// falls inside that window, otherwise it is late (published, counted, never folded in). A window
// closes when the partition's watermark (the latest label event time seen) passes its end plus
// the experiment's grace: the prediction then resolves implicitly (or is dropped), and a label
// still waiting for a prediction `orphanAfterMs` after its event time is an orphan.
//
// Until the window closes, the outcome does not depend on the order in which the prediction and
// the labels arrive: labels that come before their prediction are held (in arrival order) and
// replayed against it when it comes, exactly as if they had come after it. A label that cannot be
// scored (an out-of-range reward, say) is refused without touching the slot, so a valid label
// after it still resolves the request.
import type {
  ExperimentDefined,
  LabelReceived,
  PredictionMade,
  RewardResolved,
} from '../../../lib/contracts/events.ts';
import { DynabError, toDynabError } from '../../../lib/errors/catalogue.ts';
import { computeReward, creditedVariant } from './reward-rule.ts';

/**
 * open: waiting for the other half (or for its window to close);
 * joined: resolved by a label, everything later is a duplicate;
 * closed: the window closed without a label, the prediction is kept to attribute late labels;
 * orphaned: the label's prediction never came in time, the label was dead-lettered.
 */
export type SlotState = 'open' | 'joined' | 'closed' | 'orphaned';

export interface JoinSlot {
  readonly state: SlotState;
  readonly prediction: PredictionMade | null;
  /** A label waiting for its prediction (only while open): the first one that came. */
  readonly label: LabelReceived | null;
  /**
   * Labels that came after `label`, still without a prediction, that could change the outcome
   * (see holdLabel); absent or empty for most slots.
   */
  readonly heldLabels?: readonly LabelReceived[];
  /** A late label was already reported for this request: another one is a duplicate. */
  readonly lateSeen: boolean;
}

export const EMPTY_SLOT: JoinSlot = {
  state: 'open',
  prediction: null,
  label: null,
  lateSeen: false,
};

export type WindowRule = Pick<
  ExperimentDefined,
  'attributionWindowMs' | 'graceMs' | 'implicitReward'
> &
  Partial<Pick<ExperimentDefined, 'rewardKind'>>;

export type JoinEvent =
  | { readonly kind: 'prediction'; readonly prediction: PredictionMade }
  | { readonly kind: 'label'; readonly label: LabelReceived };

export type JoinOutcome =
  | { readonly kind: 'pending'; readonly slot: JoinSlot }
  | { readonly kind: 'duplicate' }
  | { readonly kind: 'resolved'; readonly slot: JoinSlot; readonly reward: RewardResolved }
  /** Both halves met but no reward can be computed; the label is dead-lettered with the reason. */
  | { readonly kind: 'unscorable'; readonly slot: JoinSlot; readonly error: DynabError }
  /** A label outside its window: reported on late-labels with the reward it would have earned. */
  | { readonly kind: 'late'; readonly slot: JoinSlot; readonly late: RewardResolved }
  /**
   * A prediction that arrived after its label was dead-lettered as an orphan, or a label beyond
   * MAX_HELD_LABELS for a request without a prediction.
   */
  | { readonly kind: 'rejected'; readonly error: DynabError }
  /**
   * A prediction met several held labels: each label's outcome, in the order the labels came,
   * as if they had come after the prediction; `slot` is the slot after the last one.
   */
  | { readonly kind: 'replayed'; readonly slot: JoinSlot; readonly steps: readonly ReplayStep[] };

/** One held label's outcome when its prediction came. */
export interface ReplayStep {
  readonly label: LabelReceived;
  readonly outcome: Extract<
    JoinOutcome,
    { kind: 'resolved' | 'late' | 'unscorable' | 'duplicate' }
  >;
}

/**
 * How many labels a request without a prediction holds. Real producers send one, or a late and a
 * corrected one; more than this for one request is refused (dead-lettered), so a flood of labels
 * for one id cannot grow its slot without bound.
 */
export const MAX_HELD_LABELS = 8;

export type ExpiryOutcome =
  | { readonly kind: 'not-due' }
  | { readonly kind: 'implicit'; readonly slot: JoinSlot; readonly reward: RewardResolved }
  | { readonly kind: 'dropped'; readonly slot: JoinSlot; readonly prediction: PredictionMade }
  | {
      readonly kind: 'orphaned';
      readonly slot: JoinSlot;
      readonly label: LabelReceived;
      /** The labels held after `label`, orphaned with it (each is dead-lettered). */
      readonly heldLabels: readonly LabelReceived[];
      readonly error: DynabError;
    };

/** End of a prediction's attribution window (event time, inclusive). */
export function windowEnd(prediction: PredictionMade, rule: WindowRule): number {
  return prediction.requestTime + rule.attributionWindowMs;
}

/** Watermark beyond which a pending prediction's window is closed. */
export function predictionExpiry(prediction: PredictionMade, rule: WindowRule): number {
  return windowEnd(prediction, rule) + rule.graceMs;
}

/**
 * Watermark beyond which a resolved slot that holds a prediction is forgotten: the orphan horizon
 * after its window closed (or after its request, when no rule applies). Until then a late label
 * is reported as late and a redelivered event is recognised as a duplicate; afterwards the slot
 * is deleted, so the store holds only what can still change. Null for an open slot or one
 * without a prediction (an orphaned label's slot is forgotten at its own horizon).
 */
export function purgeTime(
  slot: JoinSlot,
  rule: WindowRule | null,
  orphanAfterMs: number,
): number | null {
  if (slot.state === 'open' || slot.prediction === null) return null;
  const closes =
    rule === null ? slot.prediction.requestTime : predictionExpiry(slot.prediction, rule);
  return closes + orphanAfterMs;
}

/** Watermark beyond which a label still without a prediction is an orphan. */
export function labelExpiry(label: LabelReceived, orphanAfterMs: number): number {
  return label.eventTime + orphanAfterMs;
}

function outcomeRecord(
  prediction: PredictionMade,
  label: LabelReceived | null,
  reward: number,
  resolution: RewardResolved['resolution'],
  now: number,
): RewardResolved {
  return {
    requestId: prediction.requestId,
    experiment: prediction.experiment,
    variant: creditedVariant(prediction),
    reward,
    propensity: prediction.propensity,
    resolution,
    predictionTime: prediction.requestTime,
    labelTime: label?.eventTime ?? null,
    labelSource: label?.source ?? null,
    resolvedAt: now,
    policy: prediction.policy,
    snapshotVersion: prediction.snapshotVersion,
    experimentRevision: prediction.experimentRevision ?? null,
  };
}

type LabelOutcome = ReplayStep['outcome'];

/** A label meets the open slot's prediction. An unscorable label leaves the slot as it was. */
function join(
  prediction: PredictionMade,
  label: LabelReceived,
  lateSeen: boolean,
  rule: WindowRule,
  now: number,
): LabelOutcome {
  const before: JoinSlot = { state: 'open', prediction, label: null, lateSeen };
  if (label.eventTime > windowEnd(prediction, rule)) {
    if (lateSeen) return { kind: 'duplicate' };
    // The prediction keeps waiting: an in-window label (reordered) may still come.
    const slot: JoinSlot = { ...before, lateSeen: true };
    return lateOutcome(prediction, label, before, slot, rule, now);
  }
  const joined: JoinSlot = { state: 'joined', prediction: null, label: null, lateSeen };
  try {
    return {
      kind: 'resolved',
      slot: joined,
      reward: outcomeRecord(
        prediction,
        label,
        computeReward(prediction, label, rule.rewardKind),
        'label',
        now,
      ),
    };
  } catch (error) {
    return { kind: 'unscorable', slot: before, error: toDynabError(error, 'INVALID_FIELD') };
  }
}

function lateOutcome(
  prediction: PredictionMade,
  label: LabelReceived,
  before: JoinSlot,
  slot: JoinSlot,
  rule: WindowRule | null,
  now: number,
): LabelOutcome {
  try {
    const reward = computeReward(prediction, label, rule?.rewardKind);
    return {
      kind: 'late',
      slot,
      late: outcomeRecord(prediction, label, reward, 'late', now),
    };
  } catch (error) {
    return { kind: 'unscorable', slot: before, error: toDynabError(error, 'INVALID_FIELD') };
  }
}

/** The labels a slot without a prediction holds, in the order they came. */
export function heldLabelsOf(slot: JoinSlot): readonly LabelReceived[] {
  return slot.label === null ? [] : [slot.label, ...(slot.heldLabels ?? [])];
}

/**
 * A label whose explicit reward lies in [0, 1] scores under every reward kind, against every
 * prediction that any label scores against (a failed prediction may refuse every label alike),
 * so it resolves any window that contains its event time wherever another label could.
 */
function scoresAlways(label: LabelReceived): boolean {
  return label.reward !== null && label.reward >= 0 && label.reward <= 1;
}

/** A ground-truth label (no explicit reward): it scores exactly when every other such label does. */
const isTruth = (label: LabelReceived): boolean => label.reward === null && label.label !== null;

/**
 * Whether held label `h` makes `label` irrelevant: it is no later in event time, so it lies in
 * every window that contains `label` (windows are bounded above only) and comes first, and it
 * scores whenever `label` does.
 */
const dominates = (h: LabelReceived, label: LabelReceived): boolean =>
  h.eventTime <= label.eventTime && (scoresAlways(h) || (isTruth(h) && isTruth(label)));

/**
 * A label for a request whose prediction has not come. It is a duplicate when a held label
 * dominates it (whatever the prediction, the held one resolves the request or is reported late
 * first). Anything else (an earlier event time, a label that may not score where the held one
 * does) is held, because with the prediction first it could resolve the request or be reported
 * late.
 */
function holdLabel(slot: JoinSlot, label: LabelReceived): JoinOutcome {
  const held = heldLabelsOf(slot);
  if (held.some((h) => dominates(h, label))) return { kind: 'duplicate' };
  if (held.length >= MAX_HELD_LABELS) {
    return {
      kind: 'rejected',
      error: new DynabError(
        'INVALID_FIELD',
        `request ${label.requestId} already holds ${MAX_HELD_LABELS} labels waiting for its prediction`,
      ),
    };
  }
  const rest = held.slice(1);
  if (held.length > 0) rest.push(label);
  return {
    kind: 'pending',
    slot: { ...slot, label: held[0] ?? label, ...(rest.length > 0 ? { heldLabels: rest } : {}) },
  };
}

/**
 * The prediction meets the labels that came before it: each is applied in the order it came, as
 * if it had come after the prediction, so the outcome is the same as in that order.
 */
function replayHeld(
  prediction: PredictionMade,
  held: readonly LabelReceived[],
  lateSeen: boolean,
  rule: WindowRule,
  now: number,
): JoinOutcome {
  let slot: JoinSlot = { state: 'open', prediction, label: null, lateSeen };
  const steps: ReplayStep[] = [];
  for (const label of held) {
    const outcome: LabelOutcome =
      slot.state === 'open'
        ? join(prediction, label, slot.lateSeen, rule, now)
        : { kind: 'duplicate' };
    steps.push({ label, outcome });
    if (outcome.kind === 'resolved' || outcome.kind === 'late') slot = outcome.slot;
  }
  const [only] = steps;
  // One held label (the common case) gives its outcome directly.
  if (steps.length === 1 && only !== undefined) return only.outcome;
  return { kind: 'replayed', slot, steps };
}

/**
 * Applies one event to the request's slot. `rule` is the window rule of the prediction's
 * experiment (of the incoming prediction, or of the one already in the slot); null when the
 * slot holds no prediction and the event is a label.
 */
export function applyJoinEvent(
  slot: JoinSlot,
  event: JoinEvent,
  rule: WindowRule | null,
  now: number,
): JoinOutcome {
  switch (slot.state) {
    case 'joined':
      return { kind: 'duplicate' };
    case 'orphaned':
      if (event.kind === 'label') return { kind: 'duplicate' };
      return {
        kind: 'rejected',
        error: new DynabError(
          'ORPHAN_LABEL',
          `prediction ${event.prediction.requestId} arrived after its label was dead-lettered as an orphan`,
        ),
      };
    case 'closed':
      if (event.kind === 'prediction' || slot.lateSeen || slot.prediction === null)
        return { kind: 'duplicate' };
      return lateOutcome(
        slot.prediction,
        event.label,
        slot,
        { ...slot, lateSeen: true },
        rule,
        now,
      );
    case 'open':
      break;
  }
  if (event.kind === 'prediction') {
    if (slot.prediction !== null) return { kind: 'duplicate' };
    if (slot.label !== null && rule !== null)
      return replayHeld(event.prediction, heldLabelsOf(slot), slot.lateSeen, rule, now);
    return { kind: 'pending', slot: { ...slot, prediction: event.prediction } };
  }
  if (slot.prediction !== null && rule !== null)
    return join(slot.prediction, event.label, slot.lateSeen, rule, now);
  return holdLabel(slot, event.label);
}

/**
 * Closes the slot's window if the watermark has passed it. `rule` is the window rule of the
 * slot's prediction (null if its experiment is gone: the prediction is dropped).
 */
export function expireSlot(
  slot: JoinSlot,
  rule: WindowRule | null,
  watermark: number,
  orphanAfterMs: number,
  now: number,
): ExpiryOutcome {
  if (slot.state !== 'open') return { kind: 'not-due' };
  const { prediction, label } = slot;
  if (prediction !== null) {
    const expiry = rule === null ? Number.NEGATIVE_INFINITY : predictionExpiry(prediction, rule);
    if (watermark <= expiry) return { kind: 'not-due' };
    const closed: JoinSlot = { state: 'closed', prediction, label: null, lateSeen: slot.lateSeen };
    // A failed prediction served nothing, so no implicit reward can be credited to it.
    const implicitReward = rule?.implicitReward ?? null;
    if (implicitReward === null || prediction.error !== null) {
      return { kind: 'dropped', slot: closed, prediction };
    }
    return {
      kind: 'implicit',
      slot: closed,
      reward: outcomeRecord(prediction, null, implicitReward, 'implicit', now),
    };
  }
  if (label !== null && watermark > labelExpiry(label, orphanAfterMs)) {
    return {
      kind: 'orphaned',
      slot: { state: 'orphaned', prediction: null, label: null, lateSeen: slot.lateSeen },
      label,
      heldLabels: slot.heldLabels ?? [],
      error: new DynabError(
        'ORPHAN_LABEL',
        `no prediction for request ${label.requestId} arrived within ${orphanAfterMs} ms of its label's event time`,
      ),
    };
  }
  return { kind: 'not-due' };
}
