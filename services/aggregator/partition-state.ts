// The aggregator's local state in the key-value store (RocksDB), laid out per input partition
// number p, so that everything belonging to one partition can be found, restored or handed over
// as a unit:
//   j/<p>/<requestId>        join slot: the pending half (prediction or label) or "resolved"
//   c/<p>/<experiment>       per-variant counts of the rewards resolved from partition p
//   o/<p>/<topic>            next offset to consume from <topic>-p
//   x/<p>/<topic>/<offset>/i outbox: records to publish that were produced by that input record
//   w/<p>/<expiry>/<requestId> window index: the slot may close once the watermark passes expiry
//   m/<p>                    watermark: latest label event time seen on partition p
// A batch of input records becomes one atomic store write holding the join slots, the counts,
// the outbox and the new offsets together: after a crash the store is either before or after
// the whole batch, never in between, and consumption resumes from the stored offsets.
import type { LabelReceived, PredictionMade, VariantCounts } from '../../lib/contracts/events.ts';
import type { OutRecord } from '../../lib/event-log/event-log.ts';
import type { JoinSlot, SlotState } from './core/join.ts';
import { emptyTotals } from '../../lib/contracts/posterior-totals.ts';
import type { ExperimentCounts } from './core/variant-counts.ts';

const pad = (p: number): string => String(p).padStart(5, '0');

/** Digits of the zero-padded expiry in a window key (epoch ms up to year 316,000). */
const EXPIRY_DIGITS = 16;

export const stateKeys = {
  slot: (p: number, requestId: string) => `j/${pad(p)}/${requestId}`,
  countsPrefix: (p: number) => `c/${pad(p)}/`,
  counts: (p: number, experiment: string) => `c/${pad(p)}/${experiment}`,
  offset: (p: number, topic: string) => `o/${pad(p)}/${topic}`,
  outboxPrefix: (p: number) => `x/${pad(p)}/`,
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
  outbox: (p: number, topic: string, offset: string, index: number) =>
    `x/${pad(p)}/${topic}/${offset.padStart(20, '0')}/${String(index).padStart(4, '0')}`,
  /** Outbox entries written when a request's window closes (at most once per request). */
  closingOutbox: (p: number, requestId: string, index: number) =>
    `x/${pad(p)}/~closed/${requestId}/${String(index).padStart(4, '0')}`,
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

interface StoredSlot {
  readonly s: string;
  readonly p?: string;
  readonly l?: string;
  readonly late?: 1;
}

export function encodeSlot(slot: JoinSlot, codec: SlotCodec): Buffer {
  const stored: StoredSlot = {
    s: STATE_CODES[slot.state],
    ...(slot.prediction !== null
      ? { p: codec.encodePrediction(slot.prediction).toString('base64') }
      : {}),
    ...(slot.label !== null ? { l: codec.encodeLabel(slot.label).toString('base64') } : {}),
    ...(slot.lateSeen ? { late: 1 as const } : {}),
  };
  return Buffer.from(JSON.stringify(stored));
}

export function decodeSlot(bytes: Uint8Array, codec: SlotCodec): JoinSlot {
  const stored = JSON.parse(Buffer.from(bytes).toString('utf8')) as StoredSlot;
  const state = STATES_BY_CODE.get(stored.s);
  if (state === undefined)
    throw new Error(`corrupt join slot: unknown state ${JSON.stringify(stored.s)}`);
  return {
    state,
    prediction:
      stored.p === undefined ? null : codec.decodePrediction(Buffer.from(stored.p, 'base64')),
    label: stored.l === undefined ? null : codec.decodeLabel(Buffer.from(stored.l, 'base64')),
    lateSeen: stored.late === 1,
  };
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

interface StoredRecord {
  readonly t: string;
  readonly k: string | null;
  readonly v: string | null;
  readonly h?: Readonly<Record<string, string>>;
  readonly p?: number;
}

export function encodeOutRecord(record: OutRecord): Buffer {
  const key = record.key === null ? null : Buffer.from(record.key).toString('base64');
  const stored: StoredRecord = {
    t: record.topic,
    k: key,
    v: record.value === null ? null : record.value.toString('base64'),
    ...(record.headers !== undefined ? { h: record.headers } : {}),
    ...(record.partition !== undefined ? { p: record.partition } : {}),
  };
  return Buffer.from(JSON.stringify(stored));
}

export function decodeOutRecord(bytes: Uint8Array): OutRecord {
  const stored = JSON.parse(Buffer.from(bytes).toString('utf8')) as StoredRecord;
  return {
    topic: stored.t,
    key: stored.k === null ? null : Buffer.from(stored.k, 'base64'),
    value: stored.v === null ? null : Buffer.from(stored.v, 'base64'),
    ...(stored.h !== undefined ? { headers: stored.h } : {}),
    ...(stored.p !== undefined ? { partition: stored.p } : {}),
  };
}
