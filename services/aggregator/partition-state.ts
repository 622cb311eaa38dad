// The aggregator's local state in the key-value store (RocksDB), laid out per input partition
// number p, so that everything belonging to one partition can be found, restored or handed over
// as a unit:
//   j/<p>/<requestId>        join slot: the pending half (prediction or label) or "resolved"
//   c/<p>/<experiment>       per-variant counts of the rewards resolved from partition p
//   o/<p>/<topic>            next offset to consume from <topic>-p
//   x/<p>/<topic>/<offset>/i outbox: records to publish that were produced by that input record
// A batch of input records becomes one atomic store write holding the join slots, the counts,
// the outbox and the new offsets together: after a crash the store is either before or after
// the whole batch, never in between, and consumption resumes from the stored offsets.
import type { LabelReceived, PredictionMade } from '../../lib/contracts/events.ts';
import type { OutRecord } from '../../lib/event-log/event-log.ts';
import type { JoinSlot } from './core/join.ts';
import type { ExperimentCounts } from './core/variant-counts.ts';

const pad = (p: number): string => String(p).padStart(5, '0');

export const stateKeys = {
  slot: (p: number, requestId: string) => `j/${pad(p)}/${requestId}`,
  countsPrefix: (p: number) => `c/${pad(p)}/`,
  counts: (p: number, experiment: string) => `c/${pad(p)}/${experiment}`,
  offset: (p: number, topic: string) => `o/${pad(p)}/${topic}`,
  outboxPrefix: (p: number) => `x/${pad(p)}/`,
  outbox: (p: number, topic: string, offset: string, index: number) =>
    `x/${pad(p)}/${topic}/${offset.padStart(20, '0')}/${String(index).padStart(4, '0')}`,
};

export interface SlotCodec {
  encodePrediction(p: PredictionMade): Buffer;
  decodePrediction(bytes: Uint8Array): PredictionMade;
  encodeLabel(l: LabelReceived): Buffer;
  decodeLabel(bytes: Uint8Array): LabelReceived;
}

interface StoredSlot {
  readonly r?: 1;
  readonly p?: string;
  readonly l?: string;
}

export function encodeSlot(slot: JoinSlot, codec: SlotCodec): Buffer {
  const stored: StoredSlot = slot.resolved
    ? { r: 1 }
    : {
        ...(slot.prediction !== null
          ? { p: codec.encodePrediction(slot.prediction).toString('base64') }
          : {}),
        ...(slot.label !== null ? { l: codec.encodeLabel(slot.label).toString('base64') } : {}),
      };
  return Buffer.from(JSON.stringify(stored));
}

export function decodeSlot(bytes: Uint8Array, codec: SlotCodec): JoinSlot {
  const stored = JSON.parse(Buffer.from(bytes).toString('utf8')) as StoredSlot;
  if (stored.r === 1) return { prediction: null, label: null, resolved: true };
  return {
    prediction:
      stored.p === undefined ? null : codec.decodePrediction(Buffer.from(stored.p, 'base64')),
    label: stored.l === undefined ? null : codec.decodeLabel(Buffer.from(stored.l, 'base64')),
    resolved: false,
  };
}

export function encodeCounts(counts: ExperimentCounts): Buffer {
  return Buffer.from(JSON.stringify(counts));
}

export function decodeCounts(bytes: Uint8Array): ExperimentCounts {
  return JSON.parse(Buffer.from(bytes).toString('utf8')) as ExperimentCounts;
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
