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
  decodeStoredSlot,
  encodeCounts,
  encodeSlot,
  stateKeys,
  storedSlotExpiry,
  type SlotCodec,
} from '../../../services/aggregator/partition-state.ts';
import { experimentDefined, labelReceived, predictionMade } from '../../support/fixtures.ts';
import { legacyJsonSlot } from '../../support/legacy-join-slot.ts';

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

/** A rule as the slot keeps it: the four fields of the experiment that judge the request. */
const ruleOf = (rule: WindowRule): WindowRule => ({
  attributionWindowMs: rule.attributionWindowMs,
  graceMs: rule.graceMs,
  implicitReward: rule.implicitReward,
  ...(rule.rewardKind !== undefined ? { rewardKind: rule.rewardKind } : {}),
});

/** Expect an error whose message starts with "corrupt join slot" and matches `detail`. */
const expectCorrupt = (fn: () => unknown, detail = /./): void => {
  let thrown: unknown;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  expect(thrown, 'expected a corrupt join slot error').toBeInstanceOf(Error);
  const { message } = thrown as Error;
  expect(message).toMatch(/^corrupt join slot: /);
  expect(message).toMatch(detail);
};

describe('join slot encoding', () => {
  it('stores the window expiry, readable without decoding the slot', () => {
    const prediction = predictionMade();
    const slot: JoinSlot = { state: 'open', prediction, label: null, lateSeen: false };
    const rule: WindowRule = { attributionWindowMs: 60_000, graceMs: 5_000, implicitReward: 0 };
    const expiry = predictionExpiry(prediction, rule);
    const bytes = encodeSlot(slot, slotCodec, rule, expiry);
    expect(storedSlotExpiry(bytes)).toBe(expiry);
    // Read from a view into a larger buffer, as a store may hand it out, or from a plain array.
    const padded = Buffer.concat([Buffer.from('xx'), bytes, Buffer.from('yy')]);
    const view = padded.subarray(2, 2 + bytes.length);
    expect(storedSlotExpiry(view)).toBe(expiry);
    expect(storedSlotExpiry(new Uint8Array(bytes))).toBe(expiry);
    expect(plain(decodeSlot(bytes, slotCodec))).toEqual(plain(slot));
    expect(plain(decodeSlot(view, slotCodec))).toEqual(plain(slot));
    expect(plain(decodeSlot(new Uint8Array(bytes), slotCodec))).toEqual(plain(slot));
    expect(storedSlotExpiry(encodeSlot(slot, slotCodec, rule))).toBeNull();
  });

  it('round-trips every combination of state, halves, held labels, late flag, rule and expiry', () => {
    const prediction = predictionMade({ output: Uint8Array.of(0, 1, 2, 123, 250, 255) });
    const label = labelReceived({ label: 'ham', reward: null });
    const held = [
      labelReceived({ eventTime: 2_000, reward: 1.7, label: null }),
      labelReceived({ eventTime: 1_000 }),
    ];
    const rules: (WindowRule | null)[] = [
      null,
      { attributionWindowMs: 60_000, graceMs: 5_000, implicitReward: 0 },
      { attributionWindowMs: 0, graceMs: 0, implicitReward: null },
      { attributionWindowMs: 1.5, graceMs: 250.25, implicitReward: -3.75, rewardKind: 'real' },
      {
        attributionWindowMs: 86_400_000,
        graceMs: 1,
        implicitReward: null,
        rewardKind: 'unit-interval',
      },
    ];
    // Expiries are event times (epoch ms) plus windows: any finite number the code can compute.
    const expiries = [
      null,
      0,
      -5,
      -1_700_000_000_000,
      1_700_000_065_000,
      1_700_000_065_000.5,
      Number.MAX_SAFE_INTEGER,
      1e300,
    ];
    let checked = 0;
    for (const state of ['open', 'joined', 'closed', 'orphaned'] as const)
      for (const withPrediction of [false, true])
        for (const withLabel of [false, true])
          for (const heldLabels of [undefined, [], held.slice(0, 1), held])
            for (const lateSeen of [false, true])
              for (const rule of rules)
                for (const expiry of expiries) {
                  const slot: JoinSlot = {
                    state,
                    prediction: withPrediction ? prediction : null,
                    label: withLabel ? label : null,
                    lateSeen,
                    ...(heldLabels !== undefined ? { heldLabels } : {}),
                  };
                  // An empty list of held labels is not stored: it comes back as none.
                  const expected: JoinSlot =
                    heldLabels === undefined || heldLabels.length > 0
                      ? slot
                      : { state, prediction: slot.prediction, label: slot.label, lateSeen };
                  const what = JSON.stringify({
                    state,
                    withPrediction,
                    withLabel,
                    heldLabels: heldLabels?.length,
                    lateSeen,
                    rule,
                    expiry,
                  });
                  const bytes = encodeSlot(slot, slotCodec, rule, expiry);
                  const legacy = legacyJsonSlot(slot, slotCodec, rule, expiry);
                  for (const stored of [bytes, legacy]) {
                    const decoded = decodeStoredSlot(stored, slotCodec);
                    expect(plain(decoded.slot), what).toEqual(plain(expected));
                    expect('heldLabels' in decoded.slot, what).toBe('heldLabels' in expected);
                    expect(decoded.rule, what).toStrictEqual(rule === null ? null : ruleOf(rule));
                    expect(storedSlotExpiry(stored), what).toBe(expiry);
                  }
                  // The first byte tells the layouts apart: a binary slot never starts like JSON.
                  expect(bytes[0], what).not.toBe(legacy[0]);
                  checked++;
                }
    expect(checked).toBe(4 * 2 * 2 * 4 * 2 * rules.length * expiries.length);
  });

  it('keeps only the rule fields of an experiment passed as the rule', () => {
    const experiment = experimentDefined({
      attributionWindowMs: 30_000,
      graceMs: 2_000,
      implicitReward: 0.5,
      rewardKind: 'real',
    });
    const slot: JoinSlot = {
      state: 'open',
      prediction: predictionMade(),
      label: null,
      lateSeen: false,
    };
    expect(
      decodeStoredSlot(encodeSlot(slot, slotCodec, experiment, 1), slotCodec).rule,
    ).toStrictEqual({
      attributionWindowMs: 30_000,
      graceMs: 2_000,
      implicitReward: 0.5,
      rewardKind: 'real',
    });
  });

  it('stores the Avro of the halves as raw bytes, with a few bytes of framing', () => {
    const prediction = predictionMade({ output: new Uint8Array(256).fill(0x61) });
    const label = labelReceived();
    const avroBytes = codecs.prediction.encode(prediction).length;
    const rule: WindowRule = {
      attributionWindowMs: 60_000,
      graceMs: 5_000,
      implicitReward: 0,
      rewardKind: 'unit-interval',
    };
    const slot: JoinSlot = { state: 'open', prediction, label: null, lateSeen: false };
    const expiry = predictionExpiry(prediction, rule);
    // Framing (format, flags, state, length) plus four numbers (expiry, window, grace, reward).
    expect(encodeSlot(slot, slotCodec, rule, expiry).length).toBeLessThanOrEqual(
      avroBytes + 8 + 4 * 8,
    );
    expect(encodeSlot(slot, slotCodec, rule, expiry).length).toBeLessThan(
      legacyJsonSlot(slot, slotCodec, rule, expiry).length,
    );
    const held = { ...slot, prediction: null, label, heldLabels: [label, label] };
    expect(encodeSlot(held, slotCodec).length).toBeLessThanOrEqual(
      3 * codecs.label.encode(label).length + 8,
    );
  });

  it('refuses to store a window expiry that is not a finite number', () => {
    const slot: JoinSlot = {
      state: 'open',
      prediction: predictionMade(),
      label: null,
      lateSeen: false,
    };
    for (const expiry of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY])
      expect(() => encodeSlot(slot, slotCodec, null, expiry)).toThrow(/not a finite number/);
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
    // A slot that holds one label comes back without a list (as slots stored before it did).
    expect('heldLabels' in roundTrip({ ...slot, heldLabels: [] })).toBe(false);
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

  it('keeps the prediction of a closed slot (to attribute late labels)', () => {
    const prediction = predictionMade({ requestId: 'req-closed', invokedVariant: 'model-b' });
    const decoded = roundTrip({ state: 'closed', prediction, label: null, lateSeen: false });
    expect(decoded.state).toBe('closed');
    expect(decoded.label).toBeNull();
    expect(plain(decoded.prediction)).toEqual(plain(prediction));
  });
});

describe('join slot decoding: corrupt input', () => {
  const rule: WindowRule = {
    attributionWindowMs: 60_000,
    graceMs: 5_000,
    implicitReward: 0,
    rewardKind: 'unit-interval',
  };
  const full: JoinSlot = {
    state: 'closed',
    prediction: predictionMade({ output: new Uint8Array(256).fill(0x61) }),
    label: labelReceived({ eventTime: 3_000 }),
    heldLabels: [labelReceived({ eventTime: 2_000 }), labelReceived({ eventTime: 1_000 })],
    lateSeen: true,
  };
  const EXPIRY = 1_700_000_065_000;
  const fullBytes = (): Buffer => encodeSlot(full, slotCodec, rule, EXPIRY);
  /** Offsets of the fixed layout (see partition-state.ts): format, flags, state, expiry. */
  const FLAGS = 1;
  const STATE = 2;
  const EXPIRY_AT = 3;
  const RULE_FLAGS_AT = EXPIRY_AT + 8;
  const hex = (...bytes: number[]): Buffer => Buffer.from(bytes);
  const both = (bytes: Uint8Array, detail: RegExp): void => {
    expectCorrupt(() => decodeStoredSlot(bytes, slotCodec), detail);
    expectCorrupt(() => storedSlotExpiry(bytes), detail);
  };

  it('rejects empty input and a first byte that starts neither layout', () => {
    both(Buffer.alloc(0), /empty/);
    for (const bytes of [
      hex(0x00),
      hex(0x02, 0, 0),
      hex(0x20, 0x7b),
      Buffer.from('[1]'),
      Buffer.from('null'),
    ])
      both(bytes, /unknown format byte/);
  });

  it('rejects every truncation of a binary slot; the expiry is readable once it is whole', () => {
    const bytes = fullBytes();
    for (let length = 1; length < bytes.length; length++) {
      const prefix = bytes.subarray(0, length);
      expectCorrupt(() => decodeStoredSlot(prefix, slotCodec), /truncated|runs past the end/);
      if (length < EXPIRY_AT + 8) expectCorrupt(() => storedSlotExpiry(prefix), /truncated/);
      else expect(storedSlotExpiry(prefix)).toBe(EXPIRY);
    }
    const bare = encodeSlot(
      { state: 'joined', prediction: null, label: null, lateSeen: false },
      slotCodec,
    );
    expect(decodeSlot(bare, slotCodec).state).toBe('joined');
    expect(storedSlotExpiry(bare)).toBeNull();
    for (let length = 1; length < bare.length; length++)
      both(bare.subarray(0, length), /truncated/);
  });

  it('rejects trailing bytes', () => {
    expectCorrupt(
      () => decodeStoredSlot(Buffer.concat([fullBytes(), hex(0)]), slotCodec),
      /1 trailing bytes/,
    );
  });

  it('rejects an unknown state, flag or reward kind', () => {
    for (const code of [4, 0x7f, 0xff]) {
      const bytes = fullBytes();
      bytes[STATE] = code;
      expectCorrupt(() => decodeStoredSlot(bytes, slotCodec), new RegExp(`unknown state ${code}`));
    }
    for (const bit of [0x40, 0x80]) {
      const bytes = fullBytes();
      bytes[FLAGS] = (bytes[FLAGS] ?? 0) | bit;
      both(bytes, /unknown flags/);
    }
    const kind = fullBytes();
    kind[RULE_FLAGS_AT] = (kind[RULE_FLAGS_AT] ?? 0) | 0x06;
    expectCorrupt(() => decodeStoredSlot(kind, slotCodec), /unknown reward kind 3/);
    const ruleFlag = fullBytes();
    ruleFlag[RULE_FLAGS_AT] = (ruleFlag[RULE_FLAGS_AT] ?? 0) | 0x80;
    expectCorrupt(() => decodeStoredSlot(ruleFlag, slotCodec), /unknown rule flags/);
  });

  it('rejects a window expiry that is not a finite number', () => {
    for (const value of [Number.NaN, Number.POSITIVE_INFINITY]) {
      const bytes = fullBytes();
      bytes.writeDoubleLE(value, EXPIRY_AT);
      both(bytes, /window expiry/);
    }
  });

  it('rejects lengths and counts that run past the end, and overlong varints', () => {
    const PREDICTION_ONLY = 0x04;
    const HELD_ONLY = 0x10;
    const cases: [Buffer, RegExp][] = [
      [hex(1, PREDICTION_ONLY, 0, 0xff, 0xff, 0xff, 0xff, 0x0f, 0xc3, 0x01), /runs past the end/],
      [hex(1, PREDICTION_ONLY, 0, 0x05, 0xc3, 0x01), /prediction of 5 bytes .* runs past the end/],
      [hex(1, PREDICTION_ONLY, 0, 0xff, 0xff, 0xff, 0xff, 0x7f), /not a 32-bit varint/],
      [hex(1, PREDICTION_ONLY, 0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01), /not a 32-bit varint/],
      [hex(1, PREDICTION_ONLY, 0, 0x80), /truncated/],
      [hex(1, HELD_ONLY, 0, 100, 0x01, 0x00), /truncated: 100 held labels, 2 bytes left/],
      [hex(1, HELD_ONLY, 0, 0), /count is 0/],
      [hex(1, HELD_ONLY, 0, 2, 0, 3, 0), /held label 2 of 3 bytes .* runs past the end/],
    ];
    for (const [bytes, detail] of cases)
      expectCorrupt(() => decodeStoredSlot(bytes, slotCodec), detail);
  });

  it("names the Avro part that does not decode and keeps the codec's error as the cause", () => {
    const bytes = fullBytes();
    const parts: [string, Buffer][] = [
      ['prediction', codecs.prediction.encode(full.prediction ?? predictionMade())],
      ['label', codecs.label.encode(full.label ?? labelReceived())],
      ['held label 2', codecs.label.encode(full.heldLabels?.[1] ?? labelReceived())],
    ];
    for (const [what, avro] of parts) {
      // The last occurrence: the first held label is a different label, the second is unique.
      const at = what === 'label' ? bytes.indexOf(avro) : bytes.lastIndexOf(avro);
      expect(at, what).toBeGreaterThan(0);
      const corrupted = Buffer.from(bytes);
      corrupted[at] = 0; // the single-object marker C3 01
      expectCorrupt(
        () => decodeStoredSlot(corrupted, slotCodec),
        new RegExp(`^corrupt join slot: ${what}: .*marker`),
      );
      try {
        decodeStoredSlot(corrupted, slotCodec);
      } catch (error) {
        expect((error as Error).cause).toBeInstanceOf(Error);
      }
    }
  });

  it('answers any changed byte with the slot or a corrupt-slot error, never another error', () => {
    const bytes = fullBytes();
    for (let i = 0; i < bytes.length; i++) {
      for (const mask of [0x01, 0x80, 0xff]) {
        const changed = Buffer.from(bytes);
        changed[i] = (changed[i] ?? 0) ^ mask;
        for (const read of [
          () => decodeStoredSlot(changed, slotCodec),
          () => storedSlotExpiry(changed),
        ]) {
          try {
            read();
          } catch (error) {
            expect((error as Error).message, `byte ${i} ^ ${mask}`).toMatch(/^corrupt join slot: /);
          }
        }
      }
    }
  });

  it('rejects a corrupt JSON slot of an earlier version', () => {
    const cases: [string, RegExp][] = [
      ['{"s":"o"', /unreadable JSON/],
      ['{"s":"q"}', /unknown state "q"/],
      ['{"r":1}', /unknown state/],
      ['{}', /unknown state/],
      ['{"s":"o","r":1}', /rule is not an object/],
      ['{"s":"o","r":{"w":1,"g":"2","i":null}}', /unreadable rule/],
      ['{"s":"o","r":{"w":1,"g":2}}', /unreadable rule/],
      ['{"s":"o","r":{"w":1,"g":2,"i":null,"k":"bogus"}}', /unknown reward kind "bogus"/],
      ['{"s":"o","r":{"w":1,"g":2,"i":null,"k":"toString"}}', /unknown reward kind "toString"/],
      ['{"s":"o","p":5}', /prediction is not a base64 string/],
      ['{"s":"o","p":"AAAA"}', /^corrupt join slot: prediction: /],
      ['{"s":"o","l":"!!"}', /^corrupt join slot: label: /],
      ['{"s":"o","hl":"a"}', /held labels are not a list/],
      ['{"s":"o","hl":[1]}', /held label 1 is not a base64 string/],
    ];
    for (const [json, detail] of cases)
      expectCorrupt(() => decodeStoredSlot(Buffer.from(json), slotCodec), detail);
  });

  it('rejects an unreadable expiry of a JSON slot of an earlier version', () => {
    for (const json of [
      '{"x":12',
      '{"x":"a","s":"o"}',
      '{"x":null,"s":"o"}',
      '{"x":,"s":"o"}',
      '{"x":0x10,"s":"o"}',
      '{"x":1e999,"s":"o"}',
    ])
      expectCorrupt(() => storedSlotExpiry(Buffer.from(json)), /unreadable window expiry/);
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
