import { describe, expect, it } from 'vitest';
import { loadCodecs } from '../../../lib/codec/avro-codec.ts';
import {
  expireSlot,
  predictionExpiry,
  type JoinSlot,
  type WindowRule,
} from '../../../services/aggregator/core/join.ts';
import type { ExperimentCounts } from '../../../services/aggregator/core/variant-counts.ts';
import {
  decodeCounts,
  decodeSlot,
  encodeCounts,
  encodeSlot,
  stateKeys,
  storedSlotExpiry,
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

const stored = (slot: JoinSlot): unknown =>
  JSON.parse(encodeSlot(slot, slotCodec).toString('utf8')) as unknown;

describe('join slot encoding', () => {
  it('stores the window expiry first, readable without decoding the slot', () => {
    const prediction = predictionMade();
    const slot: JoinSlot = { state: 'open', prediction, label: null, lateSeen: false };
    const rule: WindowRule = { attributionWindowMs: 60_000, graceMs: 5_000, implicitReward: 0 };
    const expiry = predictionExpiry(prediction, rule);
    const bytes = encodeSlot(slot, slotCodec, rule, expiry);
    expect(storedSlotExpiry(bytes)).toBe(expiry);
    // Read from a view into a larger buffer, as a store may hand it out.
    const padded = Buffer.concat([Buffer.from('xx'), bytes]);
    expect(storedSlotExpiry(padded.subarray(2))).toBe(expiry);
    expect(plain(decodeSlot(bytes, slotCodec))).toEqual(plain(slot));
    expect(storedSlotExpiry(encodeSlot(slot, slotCodec, rule))).toBeNull();
    expect(() => storedSlotExpiry(Buffer.from('{"x":12'))).toThrow(/window expiry/);
    expect(() => storedSlotExpiry(Buffer.from('{"x":"a","s":"o"}'))).toThrow(/window expiry/);
  });

  it('round-trips a pending prediction', () => {
    const prediction = predictionMade({
      output: Uint8Array.of(0, 1, 2, 250, 255),
      latencyMs: 3.25,
      propensity: 0.123456789,
    });
    const decoded = roundTrip({ state: 'open', prediction, label: null, lateSeen: false });
    expect(decoded.state).toBe('open');
    expect(decoded.lateSeen).toBe(false);
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
    const decoded = roundTrip({ state: 'open', prediction, label: null, lateSeen: false });
    expect(plain(decoded.prediction)).toEqual(plain(prediction));
  });

  it('round-trips a pending label (with label, or with a fractional reward)', () => {
    for (const label of [
      labelReceived({ label: 'ham', reward: null }),
      labelReceived({ label: null, reward: 0.3 }),
    ]) {
      const slot: JoinSlot = { state: 'open', prediction: null, label, lateSeen: false };
      expect(roundTrip(slot)).toEqual(slot);
    }
  });

  it('round-trips the labels held after the first one, in their order', () => {
    const slot: JoinSlot = {
      state: 'open',
      prediction: null,
      label: labelReceived({ eventTime: 3_000, label: 'ham' }),
      heldLabels: [
        labelReceived({ eventTime: 2_000, reward: 1.7, label: null }),
        labelReceived({ eventTime: 1_000 }),
      ],
      lateSeen: false,
    };
    expect(roundTrip(slot)).toEqual(slot);
    // A slot that holds one label stores no list (slots stored before the list decode as such).
    expect(stored({ ...slot, heldLabels: [] })).not.toHaveProperty('hl');
  });

  it('round-trips a slot holding both halves', () => {
    const slot: JoinSlot = {
      state: 'open',
      prediction: predictionMade(),
      label: labelReceived(),
      lateSeen: false,
    };
    expect(plain(roundTrip(slot))).toEqual(plain(slot));
  });

  it('round-trips every state with and without lateSeen', () => {
    const prediction = predictionMade();
    const label = labelReceived();
    const slots: JoinSlot[] = [];
    for (const lateSeen of [false, true]) {
      slots.push(
        { state: 'open', prediction: null, label: null, lateSeen },
        { state: 'open', prediction, label: null, lateSeen },
        { state: 'open', prediction: null, label, lateSeen },
        { state: 'joined', prediction: null, label: null, lateSeen },
        { state: 'closed', prediction, label: null, lateSeen },
        { state: 'orphaned', prediction: null, label: null, lateSeen },
      );
    }
    for (const slot of slots) {
      const decoded = roundTrip(slot);
      expect(decoded.state).toBe(slot.state);
      expect(decoded.lateSeen).toBe(slot.lateSeen);
      expect(plain(decoded)).toEqual(plain(slot));
    }
  });

  it('stores the state as one letter and lateSeen only when set', () => {
    const prediction = predictionMade();
    const base = { prediction: null, label: null };
    expect(stored({ ...base, state: 'open', lateSeen: false })).toEqual({ s: 'o' });
    expect(stored({ ...base, state: 'joined', lateSeen: false })).toEqual({ s: 'j' });
    expect(stored({ ...base, state: 'joined', lateSeen: true })).toEqual({ s: 'j', late: 1 });
    expect(stored({ ...base, state: 'orphaned', lateSeen: false })).toEqual({ s: 'x' });
    expect(stored({ ...base, state: 'orphaned', lateSeen: true })).toEqual({ s: 'x', late: 1 });
    expect(stored({ ...base, state: 'closed', prediction, lateSeen: true })).toEqual({
      s: 'c',
      p: codecs.prediction.encode(prediction).toString('base64'),
      late: 1,
    });
  });

  it('keeps the prediction of a closed slot (to attribute late labels)', () => {
    const prediction = predictionMade({ requestId: 'req-closed', invokedVariant: 'model-b' });
    const decoded = roundTrip({ state: 'closed', prediction, label: null, lateSeen: false });
    expect(decoded.state).toBe('closed');
    expect(decoded.label).toBeNull();
    expect(plain(decoded.prediction)).toEqual(plain(prediction));
  });

  it('rejects a stored slot with an unknown state', () => {
    expect(() => decodeSlot(Buffer.from(JSON.stringify({ s: 'q' })), slotCodec)).toThrow(
      /unknown state/,
    );
    expect(() => decodeSlot(Buffer.from(JSON.stringify({ r: 1 })), slotCodec)).toThrow(
      /unknown state/,
    );
  });
});

describe('counts encoding', () => {
  it('round-trips experiment counts, including fractional sums', () => {
    const counts: ExperimentCounts = {
      experiment: 'spam-filter',
      variants: [
        {
          variant: 'model-a',
          successes: 12.3,
          failures: 7.7,
          count: 20,
          implicit: 4,
          dropped: 3,
          late: 2,
          rewardSum: 12.3,
          rewardSumSquares: 9.1,
          assigned: 25,
          expectedAssigned: 24.75,
          decayed: { weight: 11.5, rewardSum: 6.25, rewardSumSquares: 5.5 },
        },
        {
          variant: 'model-b',
          successes: 0,
          failures: 1,
          count: 1,
          implicit: 0,
          dropped: 0,
          late: 0,
          rewardSum: 0,
          rewardSumSquares: 0,
          assigned: 1,
          expectedAssigned: 0.5,
          decayed: { weight: 1, rewardSum: 0, rewardSumSquares: 0 },
        },
      ],
      shadowVariants: [],
      version: 21,
      decayedAt: 1_700_000_000_000,
    };
    expect(decodeCounts(encodeCounts(counts))).toEqual(counts);
  });

  it('round-trips empty counts', () => {
    const counts: ExperimentCounts = {
      experiment: 'e',
      variants: [],
      shadowVariants: [],
      version: 0,
      decayedAt: 0,
    };
    expect(decodeCounts(encodeCounts(counts))).toEqual(counts);
  });
});

describe('state keys', () => {
  it('lays keys out per zero-padded partition', () => {
    expect(stateKeys.slot(3, 'req-1')).toBe('j/00003/req-1');
    expect(stateKeys.counts(3, 'spam-filter')).toBe('c/00003/spam-filter');
    expect(stateKeys.countsPrefix(3)).toBe('c/00003/');
    expect(stateKeys.slotPrefix(3)).toBe('j/00003/');
    expect(stateKeys.watermark(12)).toBe('m/00012');
  });

  it('gives back the request id of a window key, whatever characters it holds', () => {
    for (const id of ['req-1', 'user/42/req/7', '/', 'a//b/', 'ünï/cødé', '0000000000000001/x'])
      expect(stateKeys.requestIdOfWindow(7, stateKeys.window(7, 1_700_000_000_000, id))).toBe(id);
    expect(
      stateKeys.window(7, 1_700_000_000_000, 'a/b') < stateKeys.windowsBefore(7, 1_700_000_000_001),
    ).toBe(true);
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
    expect(stateKeys.slot(1, 'r').startsWith(stateKeys.slotPrefix(1))).toBe(true);
    expect(stateKeys.slot(10, 'r').startsWith(stateKeys.slotPrefix(1))).toBe(false);
    expect(stateKeys.window(10, 5, 'r').startsWith(stateKeys.windowPrefix(1))).toBe(false);
  });

  it('lays out the window index and the watermark per partition', () => {
    expect(stateKeys.windowPrefix(3)).toBe('w/00003/');
    expect(stateKeys.window(3, 1_700_000_065_100, 'req-1')).toBe('w/00003/0001700000065100/req-1');
    expect(stateKeys.windowsBefore(3, 1_700_000_065_100)).toBe('w/00003/0001700000065100');
    expect(stateKeys.watermark(3)).toBe('m/00003');
    expect(stateKeys.watermark(12)).toBe('m/00012');
    expect(stateKeys.window(3, 5, 'r').startsWith(stateKeys.windowPrefix(3))).toBe(true);
    // Negative times clamp to 0, fractional ones round down.
    expect(stateKeys.window(0, -5, 'r')).toBe(stateKeys.window(0, 0, 'r'));
    expect(stateKeys.window(0, 999.9, 'r')).toBe(stateKeys.window(0, 999, 'r'));
  });
});

describe('window index', () => {
  /** Sorted as the store sorts keys: by their UTF-8 bytes. */
  const byteSort = (keys: readonly string[]): string[] =>
    [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  /** Whether a key falls in the store range [windowPrefix(p), windowsBefore(p, watermark)). */
  const due = (key: string, p: number, watermark: number): boolean => {
    const k = Buffer.from(key);
    return (
      Buffer.compare(k, Buffer.from(stateKeys.windowPrefix(p))) >= 0 &&
      Buffer.compare(k, Buffer.from(stateKeys.windowsBefore(p, watermark))) < 0
    );
  };

  it('sorts window keys by expiry numerically (999 before 1000), then by request id', () => {
    const entries: [number, string][] = [
      [1000, 'a'],
      [999, 'z'],
      [10_000, 'a'],
      [1000, 'A'],
      [0, 'x'],
      [Number.MAX_SAFE_INTEGER, 'a'],
      [1_700_000_000_000, 'a'],
      [99, 'a'],
    ];
    const keys = entries.map(([expiry, id]) => stateKeys.window(0, expiry, id));
    expect(byteSort(keys)).toEqual(
      [
        [0, 'x'],
        [99, 'a'],
        [999, 'z'],
        [1000, 'A'],
        [1000, 'a'],
        [10_000, 'a'],
        [1_700_000_000_000, 'a'],
        [Number.MAX_SAFE_INTEGER, 'a'],
      ].map(([expiry, id]) => stateKeys.window(0, expiry as number, id as string)),
    );
  });

  it('bounds the due windows exclusively: expiry w − 1 is below windowsBefore(p, w), w is not', () => {
    for (const w of [1, 1000, 10_000, 1_700_000_065_100]) {
      expect(due(stateKeys.window(0, w - 1, 'req'), 0, w)).toBe(true);
      expect(due(stateKeys.window(0, w, 'req'), 0, w)).toBe(false);
      expect(due(stateKeys.window(0, w, ''), 0, w)).toBe(false);
      expect(due(stateKeys.window(0, w + 1, 'req'), 0, w)).toBe(false);
      expect(due(stateKeys.window(0, 0, 'req'), 0, w)).toBe(true);
    }
    // 999 is due at 1000 even though "999" > "1000" as plain strings.
    expect(due(stateKeys.window(0, 999, 'req'), 0, 1000)).toBe(true);
    expect(due(stateKeys.window(0, 9999, 'req'), 0, 1000)).toBe(false);
  });

  it("never puts partition 1's windows (or other keys) in partition 0's range", () => {
    for (const watermark of [0, 1000, Number.MAX_SAFE_INTEGER]) {
      for (const expiry of [0, 999, 1000, Number.MAX_SAFE_INTEGER]) {
        expect(due(stateKeys.window(1, expiry, 'req'), 0, watermark)).toBe(false);
        expect(due(stateKeys.window(10, expiry, 'req'), 1, watermark)).toBe(false);
      }
      expect(due(stateKeys.watermark(0), 0, watermark)).toBe(false);
      expect(due(stateKeys.slot(0, 'req'), 0, watermark)).toBe(false);
      expect(due(stateKeys.counts(0, 'e'), 0, watermark)).toBe(false);
    }
    expect(stateKeys.window(10, 5, 'r').startsWith(stateKeys.windowPrefix(1))).toBe(false);
  });

  it('finds a prediction window exactly when expireSlot would close it', () => {
    const rule: WindowRule = { attributionWindowMs: 60_000, graceMs: 5_000, implicitReward: 0 };
    const prediction = predictionMade();
    const slot: JoinSlot = { state: 'open', prediction, label: null, lateSeen: false };
    const expiry = predictionExpiry(prediction, rule);
    const key = stateKeys.window(2, expiry, prediction.requestId);
    for (const watermark of [expiry - 1, expiry, expiry + 1, expiry + 1000]) {
      const closes = expireSlot(slot, rule, watermark, 0, 0).kind !== 'not-due';
      expect(due(key, 2, watermark), `watermark ${watermark}`).toBe(closes);
    }
  });
});
