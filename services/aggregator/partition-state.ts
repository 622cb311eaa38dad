// The aggregator's state in the key-value store (RocksDB), laid out per input partition number
// p, so that everything belonging to one partition can be found, restored or handed over as a
// unit:
//   j/<p>/<requestId>          join slot: the pending half (prediction or label) or "resolved"
//   c/<p>/<experiment>         per-variant counts of the rewards resolved from partition p
//   w/<p>/<expiry>/<requestId> window index: the slot may close once the watermark passes expiry;
//                              derived from the slots (each stores its expiry), so kept locally
//                              only and rebuilt after a restore that read the changelog
//   m/<p>                      watermark: latest label event time seen on partition p
//   n/<p>                      pending joins: open slots holding a prediction or a label
// Every other write is also a record of the changelog (key = store key, changelog partition = p),
// so the local store is a cache of the changelog: see lib/stream/stateful-runner.ts.
import type {
  LabelReceived,
  PredictionMade,
  RewardKind,
  VariantCounts,
} from '../../lib/contracts/events.ts';
import type { JoinSlot, SlotState, WindowRule } from './core/join.ts';
import { emptyTotals } from '../../lib/contracts/posterior-totals.ts';
import type { ExperimentCounts } from './core/variant-counts.ts';

const pad = (p: number): string => String(p).padStart(5, '0');

/** Digits of the zero-padded expiry in a window key (epoch ms up to year 316,000). */
const EXPIRY_DIGITS = 16;

export const stateKeys = {
  slotPrefix: (p: number) => `j/${pad(p)}/`,
  slot: (p: number, requestId: string) => `j/${pad(p)}/${requestId}`,
  countsPrefix: (p: number) => `c/${pad(p)}/`,
  counts: (p: number, experiment: string) => `c/${pad(p)}/${experiment}`,
  windowPrefix: (p: number) => `w/${pad(p)}/`,
  /** Expiry is padded so keys sort by time; negative times (before 1970) clamp to 0. */
  window: (p: number, expiry: number, requestId: string) =>
    `w/${pad(p)}/${String(Math.max(0, Math.floor(expiry))).padStart(EXPIRY_DIGITS, '0')}/${requestId}`,
  /** Upper bound (exclusive) of the window keys whose expiry is below the watermark. */
  windowsBefore: (p: number, watermark: number) =>
    `w/${pad(p)}/${String(Math.max(0, Math.floor(watermark))).padStart(EXPIRY_DIGITS, '0')}`,
  /** The request id of a window key; ids may hold any character, `/` included. */
  requestIdOfWindow: (p: number, key: string) =>
    key.slice(`w/${pad(p)}/`.length + EXPIRY_DIGITS + 1),
  watermark: (p: number) => `m/${pad(p)}`,
  pendingJoins: (p: number) => `n/${pad(p)}`,
};

export interface SlotCodec {
  encodePrediction(p: PredictionMade): Buffer;
  decodePrediction(bytes: Uint8Array): PredictionMade;
  encodeLabel(l: LabelReceived): Buffer;
  decodeLabel(bytes: Uint8Array): LabelReceived;
}

/** Slot states as one letter, to keep the many stored slots small. */
const STATE_CODES = {
  open: 'o',
  joined: 'j',
  closed: 'c',
  orphaned: 'x',
} as const satisfies Record<SlotState, string>;
const STATES_BY_CODE = new Map<string, SlotState>(
  Object.entries(STATE_CODES).map(([state, code]) => [code, state as SlotState]),
);

/** The experiment's window and reward rule in force when the slot's prediction arrived. */
interface StoredRule {
  readonly w: number;
  readonly g: number;
  readonly i: number | null;
  readonly k?: RewardKind;
}

interface StoredSlot {
  /** When its window index entry falls due (absent: the slot has none). First, to read fast. */
  readonly x?: number;
  readonly s: string;
  readonly p?: string;
  readonly l?: string;
  /** Labels held after `l` (JoinSlot.heldLabels); absent when there are none. */
  readonly hl?: readonly string[];
  readonly late?: 1;
  readonly r?: StoredRule;
}

/**
 * Encodes a slot with the rule it was created under (if any): a restore or a later label then
 * judges it by the definition in force when its prediction arrived, not by today's.
 */
export function encodeSlot(
  slot: JoinSlot,
  codec: SlotCodec,
  rule: WindowRule | null = null,
  expiry: number | null = null,
): Buffer {
  const stored: StoredSlot = {
    ...(expiry !== null ? { x: expiry } : {}),
    s: STATE_CODES[slot.state],
    ...(slot.prediction !== null
      ? { p: codec.encodePrediction(slot.prediction).toString('base64') }
      : {}),
    ...(slot.label !== null ? { l: codec.encodeLabel(slot.label).toString('base64') } : {}),
    ...(slot.heldLabels !== undefined && slot.heldLabels.length > 0
      ? { hl: slot.heldLabels.map((l) => codec.encodeLabel(l).toString('base64')) }
      : {}),
    ...(slot.lateSeen ? { late: 1 as const } : {}),
    ...(rule !== null
      ? {
          r: {
            w: rule.attributionWindowMs,
            g: rule.graceMs,
            i: rule.implicitReward,
            ...(rule.rewardKind !== undefined ? { k: rule.rewardKind } : {}),
          },
        }
      : {}),
  };
  return Buffer.from(JSON.stringify(stored));
}

/** A stored slot and the rule it was created under (null: none stored, use the current one). */
export function decodeStoredSlot(
  bytes: Uint8Array,
  codec: SlotCodec,
): { readonly slot: JoinSlot; readonly rule: WindowRule | null } {
  const stored = JSON.parse(Buffer.from(bytes).toString('utf8')) as StoredSlot;
  const state = STATES_BY_CODE.get(stored.s);
  if (state === undefined)
    throw new Error(`corrupt join slot: unknown state ${JSON.stringify(stored.s)}`);
  const slot: JoinSlot = {
    state,
    prediction:
      stored.p === undefined ? null : codec.decodePrediction(Buffer.from(stored.p, 'base64')),
    label: stored.l === undefined ? null : codec.decodeLabel(Buffer.from(stored.l, 'base64')),
    lateSeen: stored.late === 1,
    ...(stored.hl === undefined
      ? {}
      : { heldLabels: stored.hl.map((l) => codec.decodeLabel(Buffer.from(l, 'base64'))) }),
  };
  const { r } = stored;
  const rule: WindowRule | null =
    r === undefined
      ? null
      : {
          attributionWindowMs: r.w,
          graceMs: r.g,
          implicitReward: r.i,
          ...(r.k !== undefined ? { rewardKind: r.k } : {}),
        };
  return { slot, rule };
}

const EXPIRY_FIELD = Buffer.from('{"x":');

/**
 * The window expiry a stored slot was indexed under (null: none), read without decoding the
 * rest of the slot: rebuilding the index after a restore reads every slot of the partition.
 */
export function storedSlotExpiry(bytes: Uint8Array): number | null {
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (!view.subarray(0, EXPIRY_FIELD.length).equals(EXPIRY_FIELD)) return null;
  const end = view.indexOf(0x2c /* , */, EXPIRY_FIELD.length);
  const expiry = Number(view.toString('latin1', EXPIRY_FIELD.length, end));
  if (end < 0 || !Number.isFinite(expiry))
    throw new Error('corrupt join slot: unreadable window expiry');
  return expiry;
}

export function decodeSlot(bytes: Uint8Array, codec: SlotCodec): JoinSlot {
  return decodeStoredSlot(bytes, codec).slot;
}

export function encodeCounts(counts: ExperimentCounts): Buffer {
  return Buffer.from(JSON.stringify(counts));
}

export function decodeCounts(bytes: Uint8Array): ExperimentCounts {
  const stored = JSON.parse(Buffer.from(bytes).toString('utf8')) as Partial<ExperimentCounts> &
    Pick<ExperimentCounts, 'experiment' | 'version'>;
  // Counts stored before decisions, shadows and discounting were counted get zeros for them.
  const complete = (v: Partial<VariantCounts> & Pick<VariantCounts, 'variant'>): VariantCounts => ({
    ...emptyTotals(),
    ...v,
  });
  return {
    experiment: stored.experiment,
    version: stored.version,
    variants: (stored.variants ?? []).map(complete),
    shadowVariants: (stored.shadowVariants ?? []).map(complete),
    decayedAt: stored.decayedAt ?? 0,
  };
}
