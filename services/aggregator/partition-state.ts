// The aggregator's state in the key-value store (RocksDB), laid out per input partition number
// p, so that everything belonging to one partition can be found, restored or handed over as a
// unit:
//   j/<p>/<requestId>          join slot: its state, the pending halves (Avro), the rule it is
//                              judged by and its window expiry, in a binary layout (encodeSlot)
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

/**
 * A join slot in the binary layout (the first byte is SLOT_FORMAT; all numbers little-endian):
 *
 *   u8   SLOT_FORMAT (0x01)
 *   u8   flags: which optional parts follow, and lateSeen (SLOT_FLAGS)
 *   u8   state (STATE_BYTES)
 *   f64  window expiry                          if flags has EXPIRY
 *   rule                                        if flags has RULE:
 *     u8   rule flags: implicit reward present, reward kind (RULE_FLAGS, REWARD_KIND_BITS)
 *     f64  attributionWindowMs, f64 graceMs
 *     f64  implicitReward                       if the rule flags say it is not null
 *   bytes prediction                            if flags has PREDICTION
 *   bytes label                                 if flags has LABEL
 *   varint count, then count × bytes            if flags has HELD_LABELS (count ≥ 1)
 *
 * `bytes` is an unsigned LEB128 varint length followed by that many bytes of Avro single-object
 * encoding (SlotCodec). The expiry sits at a fixed offset so that rebuilding the window index
 * reads it without decoding the rest. Earlier versions stored slots as JSON with base64 Avro
 * inside ({"x":…,"s":"o","p":"…"}); those stay in existing stores and compacted changelogs, so
 * decoding reads both: a JSON slot starts with `{` (0x7b), which SLOT_FORMAT can never be.
 */
const SLOT_FORMAT = 0x01;
const JSON_SLOT_START = 0x7b;

const SLOT_FLAGS = {
  expiry: 0x01,
  lateSeen: 0x02,
  prediction: 0x04,
  label: 0x08,
  heldLabels: 0x10,
  rule: 0x20,
} as const;
const KNOWN_SLOT_FLAGS = 0x3f;
const RULE_FLAGS = { implicitReward: 0x01 } as const;
/** Bits 1–2 of the rule flags: 0 (no reward kind stored) or REWARD_KIND_CODES. */
const REWARD_KIND_SHIFT = 1;
const REWARD_KIND_BITS = 0x06;
const KNOWN_RULE_FLAGS = 0x07;

/** The expiry's offset: after the format, flags and state bytes. */
const EXPIRY_OFFSET = 3;
const F64 = 8;

const STATE_BYTES = {
  open: 0,
  joined: 1,
  closed: 2,
  orphaned: 3,
} as const satisfies Record<SlotState, number>;
const STATES_BY_BYTE: readonly (SlotState | undefined)[] = invert(STATE_BYTES);

const REWARD_KIND_CODES = {
  'unit-interval': 1,
  real: 2,
} as const satisfies Record<RewardKind, number>;
const REWARD_KINDS_BY_CODE: readonly (RewardKind | undefined)[] = invert(REWARD_KIND_CODES);

/** The values of a small code table by code: [code] → name (holes for unused codes). */
function invert<T extends string>(codes: Record<T, number>): (T | undefined)[] {
  const byCode: (T | undefined)[] = [];
  for (const [name, code] of Object.entries(codes) as [T, number][]) byCode[code] = name;
  return byCode;
}

const corrupt = (detail: string, cause?: unknown): Error =>
  new Error(`corrupt join slot: ${detail}`, cause === undefined ? undefined : { cause });

const varintLength = (n: number): number =>
  n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x20_0000 ? 3 : n < 0x1000_0000 ? 4 : 5;

function writeVarint(out: Buffer, at: number, n: number): number {
  let pos = at;
  let rest = n;
  while (rest >= 0x80) {
    out[pos++] = (rest & 0x7f) | 0x80;
    rest >>>= 7;
  }
  out[pos++] = rest;
  return pos;
}

function writeBytes(out: Buffer, at: number, bytes: Buffer): number {
  const pos = writeVarint(out, at, bytes.length);
  bytes.copy(out, pos);
  return pos + bytes.length;
}

/**
 * Encodes a slot with the rule it was created under (if any): a restore or a later label then
 * judges it by the definition in force when its prediction arrived, not by today's. `expiry` is
 * when its window index entry falls due (null: the slot has none).
 */
export function encodeSlot(
  slot: JoinSlot,
  codec: SlotCodec,
  rule: WindowRule | null = null,
  expiry: number | null = null,
): Buffer {
  // A key cannot be built from a non-finite expiry, and the old JSON layout wrote such a value
  // as null: refuse it here rather than store a slot whose index entry cannot be rebuilt.
  if (expiry !== null && !Number.isFinite(expiry))
    throw new Error(`join slot: window expiry ${expiry} is not a finite number`);
  const prediction = slot.prediction === null ? null : codec.encodePrediction(slot.prediction);
  const label = slot.label === null ? null : codec.encodeLabel(slot.label);
  const held =
    slot.heldLabels === undefined || slot.heldLabels.length === 0
      ? null
      : slot.heldLabels.map((l) => codec.encodeLabel(l));

  let flags = slot.lateSeen ? SLOT_FLAGS.lateSeen : 0;
  let size = EXPIRY_OFFSET;
  if (expiry !== null) {
    flags |= SLOT_FLAGS.expiry;
    size += F64;
  }
  let ruleFlags = 0;
  if (rule !== null) {
    flags |= SLOT_FLAGS.rule;
    size += 1 + 2 * F64;
    if (rule.implicitReward !== null) {
      ruleFlags |= RULE_FLAGS.implicitReward;
      size += F64;
    }
    if (rule.rewardKind !== undefined)
      ruleFlags |= REWARD_KIND_CODES[rule.rewardKind] << REWARD_KIND_SHIFT;
  }
  if (prediction !== null) {
    flags |= SLOT_FLAGS.prediction;
    size += varintLength(prediction.length) + prediction.length;
  }
  if (label !== null) {
    flags |= SLOT_FLAGS.label;
    size += varintLength(label.length) + label.length;
  }
  if (held !== null) {
    flags |= SLOT_FLAGS.heldLabels;
    size += varintLength(held.length);
    for (const h of held) size += varintLength(h.length) + h.length;
  }

  const out = Buffer.allocUnsafe(size);
  out[0] = SLOT_FORMAT;
  out[1] = flags;
  out[2] = STATE_BYTES[slot.state];
  let pos = EXPIRY_OFFSET;
  if (expiry !== null) pos = out.writeDoubleLE(expiry, pos);
  if (rule !== null) {
    out[pos++] = ruleFlags;
    pos = out.writeDoubleLE(rule.attributionWindowMs, pos);
    pos = out.writeDoubleLE(rule.graceMs, pos);
    if (rule.implicitReward !== null) pos = out.writeDoubleLE(rule.implicitReward, pos);
  }
  if (prediction !== null) pos = writeBytes(out, pos, prediction);
  if (label !== null) pos = writeBytes(out, pos, label);
  if (held !== null) {
    pos = writeVarint(out, pos, held.length);
    for (const h of held) pos = writeBytes(out, pos, h);
  }
  // allocUnsafe: a sizing mistake would store stale memory, so it must never pass silently.
  if (pos !== size) throw new Error(`join slot: encoded ${pos} bytes into ${size}`);
  return out;
}

/** Reads a binary slot front to back; every read checks that the slot holds it. */
class SlotReader {
  pos = 1;
  constructor(private readonly buf: Buffer) {}

  private truncated(n: number, what: string): Error {
    return corrupt(
      `truncated: ${what} needs ${n} bytes at offset ${this.pos}, the slot has ${this.buf.length}`,
    );
  }

  private need(n: number, what: string): void {
    if (this.pos + n > this.buf.length) throw this.truncated(n, what);
  }

  byte(what: string): number {
    const b = this.buf[this.pos];
    if (b === undefined) throw this.truncated(1, what);
    this.pos += 1;
    return b;
  }

  double(what: string): number {
    this.need(F64, what);
    const value = this.buf.readDoubleLE(this.pos);
    this.pos += F64;
    return value;
  }

  /** An unsigned LEB128 varint of at most 32 bits. */
  varint(what: string): number {
    let value = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const b = this.byte(what);
      value += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) {
        if (value > 0xffff_ffff) break;
        return value;
      }
    }
    throw corrupt(`${what} at offset ${this.pos} is not a 32-bit varint`);
  }

  /** A length-prefixed part, as a view into the slot (the Avro decoder copies what it keeps). */
  bytes(what: string): Buffer {
    const length = this.varint(`length of ${what}`);
    if (length > this.buf.length - this.pos)
      throw corrupt(
        `${what} of ${length} bytes at offset ${this.pos} runs past the end of the slot (${this.buf.length} bytes)`,
      );
    const start = this.pos;
    this.pos += length;
    return this.buf.subarray(start, this.pos);
  }

  get remaining(): number {
    return this.buf.length - this.pos;
  }
}

/** Decodes one Avro part of a slot; a failure names the part and keeps the codec's error. */
function decodePart<T>(what: string, decode: (bytes: Uint8Array) => T, bytes: Uint8Array): T {
  try {
    return decode(bytes);
  } catch (cause) {
    throw corrupt(`${what}: ${cause instanceof Error ? cause.message : String(cause)}`, cause);
  }
}

const asBuffer = (bytes: Uint8Array): Buffer =>
  Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

interface DecodedSlot {
  readonly slot: JoinSlot;
  readonly rule: WindowRule | null;
}

/** A stored slot and the rule it was created under (null: none stored, use the current one). */
export function decodeStoredSlot(bytes: Uint8Array, codec: SlotCodec): DecodedSlot {
  const buf = asBuffer(bytes);
  return isBinarySlot(buf) ? decodeBinarySlot(buf, codec) : decodeJsonSlot(buf, codec);
}

/** Whether a stored slot has the binary layout (else JSON), by its first byte. */
function isBinarySlot(buf: Buffer): boolean {
  const first = buf[0];
  if (first === SLOT_FORMAT) return true;
  if (first === JSON_SLOT_START) return false;
  throw corrupt(
    first === undefined ? 'empty' : `unknown format byte 0x${first.toString(16).padStart(2, '0')}`,
  );
}

/** The slot flags, checked: a bit this version does not know means the slot is not ours. */
function readFlags(reader: SlotReader): number {
  const flags = reader.byte('flags');
  if ((flags & ~KNOWN_SLOT_FLAGS) !== 0)
    throw corrupt(`unknown flags 0x${flags.toString(16).padStart(2, '0')}`);
  return flags;
}

function decodeBinarySlot(buf: Buffer, codec: SlotCodec): DecodedSlot {
  const reader = new SlotReader(buf);
  const flags = readFlags(reader);
  const stateByte = reader.byte('state');
  const state = STATES_BY_BYTE[stateByte];
  if (state === undefined) throw corrupt(`unknown state ${stateByte}`);
  if ((flags & SLOT_FLAGS.expiry) !== 0) readExpiry(reader);

  let rule: WindowRule | null = null;
  if ((flags & SLOT_FLAGS.rule) !== 0) {
    const ruleFlags = reader.byte('rule flags');
    if ((ruleFlags & ~KNOWN_RULE_FLAGS) !== 0)
      throw corrupt(`unknown rule flags 0x${ruleFlags.toString(16).padStart(2, '0')}`);
    const kindCode = (ruleFlags & REWARD_KIND_BITS) >> REWARD_KIND_SHIFT;
    const rewardKind = REWARD_KINDS_BY_CODE[kindCode];
    if (kindCode !== 0 && rewardKind === undefined)
      throw corrupt(`unknown reward kind ${kindCode}`);
    const attributionWindowMs = reader.double('attribution window');
    const graceMs = reader.double('grace');
    const implicitReward =
      (ruleFlags & RULE_FLAGS.implicitReward) !== 0 ? reader.double('implicit reward') : null;
    rule = {
      attributionWindowMs,
      graceMs,
      implicitReward,
      ...(rewardKind !== undefined ? { rewardKind } : {}),
    };
  }

  const predictionBytes = (flags & SLOT_FLAGS.prediction) !== 0 ? reader.bytes('prediction') : null;
  const labelBytes = (flags & SLOT_FLAGS.label) !== 0 ? reader.bytes('label') : null;
  let heldBytes: Buffer[] | null = null;
  if ((flags & SLOT_FLAGS.heldLabels) !== 0) {
    const count = reader.varint('count of held labels');
    if (count === 0) throw corrupt('held labels flagged, but their count is 0');
    // Each held label takes at least its length byte: a larger count cannot be true.
    if (count > reader.remaining)
      throw corrupt(`truncated: ${count} held labels, ${reader.remaining} bytes left`);
    heldBytes = [];
    for (let i = 0; i < count; i++) heldBytes.push(reader.bytes(`held label ${i + 1}`));
  }
  if (reader.remaining !== 0) throw corrupt(`${reader.remaining} trailing bytes`);

  // Checked the whole layout before decoding any Avro, so a bad slot fails on its layout first.
  const slot: JoinSlot = {
    state,
    prediction:
      predictionBytes === null
        ? null
        : decodePart('prediction', (b) => codec.decodePrediction(b), predictionBytes),
    label:
      labelBytes === null ? null : decodePart('label', (b) => codec.decodeLabel(b), labelBytes),
    lateSeen: (flags & SLOT_FLAGS.lateSeen) !== 0,
    ...(heldBytes === null
      ? {}
      : {
          heldLabels: heldBytes.map((b, i) =>
            decodePart(`held label ${i + 1}`, (bytes) => codec.decodeLabel(bytes), b),
          ),
        }),
  };
  return { slot, rule };
}

function readExpiry(reader: SlotReader): number {
  const expiry = reader.double('window expiry');
  if (!Number.isFinite(expiry)) throw corrupt(`window expiry ${expiry} is not finite`);
  return expiry;
}

/** Slot states as one letter in the JSON layout of earlier versions. */
const JSON_STATE_CODES = {
  open: 'o',
  joined: 'j',
  closed: 'c',
  orphaned: 'x',
} as const satisfies Record<SlotState, string>;
const JSON_STATES_BY_CODE = new Map<unknown, SlotState>(
  Object.entries(JSON_STATE_CODES).map(([state, code]) => [code, state as SlotState]),
);

/** A slot as earlier versions stored it; read only, never written any more. */
interface JsonSlot {
  readonly x?: unknown;
  readonly s?: unknown;
  readonly p?: unknown;
  readonly l?: unknown;
  readonly hl?: unknown;
  readonly late?: unknown;
  readonly r?: unknown;
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function jsonBase64(what: string, value: unknown): Buffer {
  if (typeof value !== 'string') throw corrupt(`${what} is not a base64 string`);
  return Buffer.from(value, 'base64');
}

function decodeJsonSlot(buf: Buffer, codec: SlotCodec): DecodedSlot {
  let parsed: unknown;
  try {
    parsed = JSON.parse(buf.toString('utf8'));
  } catch (cause) {
    throw corrupt(
      `unreadable JSON: ${cause instanceof Error ? cause.message : String(cause)}`,
      cause,
    );
  }
  if (!isRecord(parsed)) throw corrupt('JSON slot is not an object');
  const stored = parsed as JsonSlot;
  const state = JSON_STATES_BY_CODE.get(stored.s);
  if (state === undefined) throw corrupt(`unknown state ${JSON.stringify(stored.s)}`);
  const held: unknown = stored.hl;
  if (held !== undefined && !Array.isArray(held)) throw corrupt('held labels are not a list');
  const rule = stored.r === undefined ? null : jsonRule(stored.r);
  const slot: JoinSlot = {
    state,
    prediction:
      stored.p === undefined
        ? null
        : decodePart(
            'prediction',
            (b) => codec.decodePrediction(b),
            jsonBase64('prediction', stored.p),
          ),
    label:
      stored.l === undefined
        ? null
        : decodePart('label', (b) => codec.decodeLabel(b), jsonBase64('label', stored.l)),
    lateSeen: stored.late === 1,
    ...(held === undefined
      ? {}
      : {
          heldLabels: held.map((l: unknown, i) =>
            decodePart(
              `held label ${i + 1}`,
              (b) => codec.decodeLabel(b),
              jsonBase64(`held label ${i + 1}`, l),
            ),
          ),
        }),
  };
  return { slot, rule };
}

function jsonRule(r: unknown): WindowRule {
  if (!isRecord(r)) throw corrupt('rule is not an object');
  const { w, g, i, k } = r;
  if (typeof w !== 'number' || typeof g !== 'number' || (i !== null && typeof i !== 'number'))
    throw corrupt(`unreadable rule ${JSON.stringify(r)}`);
  if (k !== undefined && !(typeof k === 'string' && Object.hasOwn(REWARD_KIND_CODES, k)))
    throw corrupt(`unknown reward kind ${JSON.stringify(k)}`);
  return {
    attributionWindowMs: w,
    graceMs: g,
    implicitReward: i,
    ...(k !== undefined ? { rewardKind: k as RewardKind } : {}),
  };
}

const JSON_EXPIRY_FIELD = Buffer.from('{"x":');
/** A JSON number, as JSON.stringify writes it (Number() alone would read "" as 0). */
const JSON_NUMBER = /^-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

/**
 * The window expiry a stored slot was indexed under (null: none), read without decoding the
 * rest of the slot: rebuilding the index after a restore reads every slot of the partition.
 */
export function storedSlotExpiry(bytes: Uint8Array): number | null {
  const buf = asBuffer(bytes);
  if (isBinarySlot(buf)) {
    // The expiry is at a fixed offset, after the flags and the state.
    const reader = new SlotReader(buf);
    const flags = readFlags(reader);
    reader.byte('state');
    return (flags & SLOT_FLAGS.expiry) === 0 ? null : readExpiry(reader);
  }
  // A JSON slot stored its expiry first, as {"x":<number>,…}, or none.
  if (!buf.subarray(0, JSON_EXPIRY_FIELD.length).equals(JSON_EXPIRY_FIELD)) return null;
  const end = buf.indexOf(0x2c /* , */, JSON_EXPIRY_FIELD.length);
  const text = end < 0 ? '' : buf.toString('latin1', JSON_EXPIRY_FIELD.length, end);
  const expiry = JSON_NUMBER.test(text) ? Number(text) : Number.NaN;
  if (!Number.isFinite(expiry)) throw corrupt('unreadable window expiry');
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
