import { describe, expect, it } from 'vitest';
import { loadCodecs } from '../../../lib/codec/avro-codec.ts';
import type { OutRecord } from '../../../lib/event-log/event-log.ts';
import type { JoinSlot } from '../../../services/aggregator/core/join.ts';
import type { ExperimentCounts } from '../../../services/aggregator/core/variant-counts.ts';
import {
  decodeCounts,
  decodeOutRecord,
  decodeSlot,
  encodeCounts,
  encodeOutRecord,
  encodeSlot,
  stateKeys,
  type SlotCodec,
} from '../../../services/aggregator/partition-state.ts';
import { labelReceived, predictionMade } from '../../support/fixtures.ts';

const codecs = loadCodecs();
const slotCodec: SlotCodec = {
  encodePrediction: (p) => codecs.prediction.encode(p),
  decodePrediction: (b) => codecs.prediction.decode(b),
  encodeLabel: (l) => codecs.label.encode(l),
  decodeLabel: (b) => codecs.label.decode(b),
};

const roundTrip = (slot: JoinSlot): JoinSlot => decodeSlot(encodeSlot(slot, slotCodec), slotCodec);

/** Compare byte fields by content whether they come back as Buffer or Uint8Array. */
const plain = (value: unknown): unknown =>
  JSON.parse(
    JSON.stringify(value, (_key, v: unknown) => (v instanceof Uint8Array ? { bytes: [...v] } : v)),
  ) as unknown;
const bytesOf = (value: unknown): number[] | null =>
  value === null ? null : [...(value as Uint8Array)];

describe('join slot encoding', () => {
  it('round-trips a pending prediction', () => {
    const prediction = predictionMade({
      output: Uint8Array.of(0, 1, 2, 250, 255),
      latencyMs: 3.25,
      propensity: 0.123456789,
    });
    const decoded = roundTrip({ prediction, label: null, resolved: false });
    expect(decoded.resolved).toBe(false);
    expect(decoded.label).toBeNull();
    expect(plain(decoded.prediction)).toEqual(plain(prediction));
    expect(bytesOf(decoded.prediction?.output)).toEqual([0, 1, 2, 250, 255]);
  });

  it('round-trips a failed prediction (nulls and error)', () => {
    const prediction = predictionMade({
      invokedVariant: null,
      predictedLabel: null,
      output: new Uint8Array(),
      error: { code: 'MODEL_ERROR', message: 'container returned 500' },
      policy: 'fallback-weights',
      snapshotVersion: -1,
    });
    const decoded = roundTrip({ prediction, label: null, resolved: false });
    expect(plain(decoded.prediction)).toEqual(plain(prediction));
  });

  it('round-trips a pending label (with label, or with a fractional reward)', () => {
    for (const label of [
      labelReceived({ label: 'ham', reward: null }),
      labelReceived({ label: null, reward: 0.3 }),
    ]) {
      expect(roundTrip({ prediction: null, label, resolved: false })).toEqual({
        prediction: null,
        label,
        resolved: false,
      });
    }
  });

  it('round-trips a slot holding both halves', () => {
    const prediction = predictionMade();
    const label = labelReceived();
    const decoded = roundTrip({ prediction, label, resolved: false });
    expect(plain(decoded)).toEqual(plain({ prediction, label, resolved: false }));
  });

  it('round-trips a resolved slot, and stores it without the halves', () => {
    const resolved: JoinSlot = { prediction: null, label: null, resolved: true };
    expect(roundTrip(resolved)).toEqual(resolved);
    // Even if a resolved slot still referenced its halves, only the marker is stored.
    const bytes = encodeSlot(
      { prediction: predictionMade(), label: labelReceived(), resolved: true },
      slotCodec,
    );
    expect(JSON.parse(bytes.toString('utf8'))).toEqual({ r: 1 });
    expect(decodeSlot(bytes, slotCodec)).toEqual(resolved);
  });

  it('round-trips an empty slot', () => {
    const empty: JoinSlot = { prediction: null, label: null, resolved: false };
    expect(roundTrip(empty)).toEqual(empty);
  });
});

describe('counts encoding', () => {
  it('round-trips experiment counts, including fractional sums', () => {
    const counts: ExperimentCounts = {
      experiment: 'spam-filter',
      variants: [
        { variant: 'model-a', successes: 12.3, failures: 7.7, count: 20 },
        { variant: 'model-b', successes: 0, failures: 1, count: 1 },
      ],
      version: 21,
    };
    expect(decodeCounts(encodeCounts(counts))).toEqual(counts);
  });

  it('round-trips empty counts', () => {
    const counts: ExperimentCounts = { experiment: 'e', variants: [], version: 0 };
    expect(decodeCounts(encodeCounts(counts))).toEqual(counts);
  });
});

describe('out record encoding', () => {
  it('round-trips topic, binary key and value and headers', () => {
    const record: OutRecord = {
      topic: 'dynab.rewards',
      key: Buffer.from([1, 2, 3, 0, 255]),
      value: Buffer.from([0xc3, 0x01, 9, 8, 7]),
      headers: { 'content-type': 'avro/binary', trace: 'abc' },
    };
    const decoded = decodeOutRecord(encodeOutRecord(record));
    expect(decoded.topic).toBe('dynab.rewards');
    expect(bytesOf(decoded.key)).toEqual([1, 2, 3, 0, 255]);
    expect(bytesOf(decoded.value)).toEqual([0xc3, 0x01, 9, 8, 7]);
    expect(decoded.headers).toEqual(record.headers);
  });

  it('keeps an explicit partition', () => {
    const decoded = decodeOutRecord(
      encodeOutRecord({ topic: 't', key: 'k', value: null, partition: 3 }),
    );
    expect(decoded.partition).toBe(3);
  });

  it('returns a string key as its UTF-8 bytes', () => {
    const decoded = decodeOutRecord(
      encodeOutRecord({ topic: 't', key: 'req-é/1', value: Buffer.from('v') }),
    );
    expect(Buffer.isBuffer(decoded.key)).toBe(true);
    expect((decoded.key as Buffer).toString('utf8')).toBe('req-é/1');
  });

  it('keeps null key and null value (tombstone) and omits absent headers', () => {
    const decoded = decodeOutRecord(encodeOutRecord({ topic: 't', key: null, value: null }));
    expect(decoded).toEqual({ topic: 't', key: null, value: null });
    expect('headers' in decoded).toBe(false);
  });

  it('keeps an empty value distinct from null', () => {
    const decoded = decodeOutRecord(
      encodeOutRecord({ topic: 't', key: 'k', value: Buffer.alloc(0) }),
    );
    expect(decoded.value).not.toBeNull();
    expect(bytesOf(decoded.value)).toEqual([]);
  });
});

describe('state keys', () => {
  it('lays keys out per zero-padded partition', () => {
    expect(stateKeys.slot(3, 'req-1')).toBe('j/00003/req-1');
    expect(stateKeys.counts(3, 'spam-filter')).toBe('c/00003/spam-filter');
    expect(stateKeys.countsPrefix(3)).toBe('c/00003/');
    expect(stateKeys.offset(12, 'dynab.labels')).toBe('o/00012/dynab.labels');
    expect(stateKeys.outboxPrefix(12)).toBe('x/00012/');
    expect(stateKeys.outbox(12, 'dynab.labels', '42', 1)).toBe(
      'x/00012/dynab.labels/00000000000000000042/0001',
    );
  });

  it('sorts partitions numerically (2 before 10)', () => {
    const partitions = [10, 2, 100, 1, 0, 9];
    const keys = partitions.map((p) => stateKeys.slot(p, 'r'));
    const sorted = [...keys].sort();
    expect(sorted).toEqual([0, 1, 2, 9, 10, 100].map((p) => stateKeys.slot(p, 'r')));
  });

  it("keeps one partition's keys under its prefix and out of its neighbours'", () => {
    expect(stateKeys.counts(1, 'e').startsWith(stateKeys.countsPrefix(1))).toBe(true);
    expect(stateKeys.counts(10, 'e').startsWith(stateKeys.countsPrefix(1))).toBe(false);
    expect(stateKeys.counts(11, 'e').startsWith(stateKeys.countsPrefix(1))).toBe(false);
    const out = stateKeys.outbox(1, 't', '5', 0);
    expect(out.startsWith(stateKeys.outboxPrefix(1))).toBe(true);
    expect(stateKeys.outbox(10, 't', '5', 0).startsWith(stateKeys.outboxPrefix(1))).toBe(false);
  });

  it('sorts outbox keys by offset numerically (9 before 10), then by index', () => {
    const entries: [string, number][] = [
      ['10', 0],
      ['9', 1],
      ['9', 0],
      ['100', 0],
      ['9223372036854775807', 0],
      ['0', 0],
      ['10', 2],
      ['10', 10],
    ];
    const keys = entries.map(([offset, i]) => stateKeys.outbox(0, 'dynab.predictions', offset, i));
    const order = [...keys].sort().map((k) => keys.indexOf(k));
    expect(order.map((i) => entries[i])).toEqual([
      ['0', 0],
      ['9', 0],
      ['9', 1],
      ['10', 0],
      ['10', 2],
      ['10', 10],
      ['100', 0],
      ['9223372036854775807', 0],
    ]);
  });
});
