// Produce requests encoded in one pass into one buffer, in place of kafkajs's encoder.
//
// kafkajs builds every record of a produce request in an Encoder of its own (a zero-filled
// buffer per record, grown by doubling), with varlongs through its Long library, copies each into
// the batch, the batch into the partition entry, that into the topic entry and the request, and
// computes the batch CRC32C one byte at a time in JavaScript. A CPU profile of a produce loop
// put about half of its time there (BENCHMARKS.md, "Where kafkajs spends a produce"), and the
// aggregator produces three records per request (its rewards and two changelog records).
//
// Here the request's size is computed first, the request is written once into a buffer of that
// size (the body of a Produce request v3 to v7: the same layout, only the version number
// differs), and the CRC32C runs eight bytes per step. The wire format is Kafka's (message format
// v2, "RecordBatch"): the broker checks every batch's CRC and record layout and refuses a batch
// that is off. Compressed batches are left to kafkajs.
import { replaceKafkajsModule } from './kafkajs-modules.ts';
import { kafkajsEncoderOf } from './request-framing.ts';

/** A message as kafkajs hands it to the produce request (after partitioning). */
export interface ProduceMessage {
  readonly key?: Buffer | Uint8Array | string | null;
  readonly value: Buffer | Uint8Array | string | null;
  readonly headers?: Readonly<
    Record<string, Buffer | Uint8Array | string | readonly (Buffer | Uint8Array | string)[]>
  >;
  readonly timestamp?: number | string | null;
}

export interface ProducePartitionData {
  readonly partition: number;
  readonly firstSequence?: number;
  readonly messages: readonly ProduceMessage[];
}

export interface ProduceTopicData {
  readonly topic: string;
  readonly partitions: readonly ProducePartitionData[];
}

/** A 64-bit integer as kafkajs carries it: its Long, a number, a string or a bigint. */
type Int64Like =
  | { getHighBits(): number; getLowBits(): number; toString(): string }
  | { toString(): string; getHighBits?: undefined }
  | number
  | string
  | bigint;

export interface ProduceRequestFields {
  readonly acks: number;
  readonly timeout: number;
  readonly transactionalId?: string | null;
  /** -1 when not idempotent. */
  readonly producerId?: Int64Like;
  readonly producerEpoch?: number;
  readonly topicData: readonly ProduceTopicData[];
}

// ---- CRC32C (Castagnoli), sixteen bytes per step ------------------------------------------

/**
 * Sixteen 256-entry tables in one array ("slicing by 16"): entry n of table t at t * 256 + n, the
 * CRC of byte n followed by t zero bytes. A quarter cheaper per byte than eight tables here (0.68
 * against 0.97 ns), and every byte of every record produced goes through it.
 */
const CRC_TABLE: Int32Array = (() => {
  const table = new Int32Array(16 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    table[n] = c | 0;
  }
  for (let i = 256; i < table.length; i++) {
    const p = table[i - 256] ?? 0;
    table[i] = (p >>> 8) ^ (table[p & 0xff] ?? 0);
  }
  return table;
})();

/** Whether an Int32Array reads memory little-endian, as the word loop below needs. */
const LITTLE_ENDIAN = new Uint8Array(new Int32Array([1]).buffer)[0] === 1;

/** Below this many bytes the word loop's view is not worth making. */
const WORD_LOOP_MIN_BYTES = 64;

/** CRC32C of bytes[from, to). */
export function crc32c(bytes: Uint8Array, from = 0, to = bytes.length): number {
  const t = CRC_TABLE;
  let crc = ~0;
  let i = from;
  if (LITTLE_ENDIAN && to - from >= WORD_LOOP_MIN_BYTES) {
    // Sixteen bytes as four aligned 32-bit loads instead of sixteen byte loads: about a third
    // cheaper per byte. The bytes before the first aligned address go one at a time.
    const base = bytes.byteOffset;
    for (; ((base + i) & 3) !== 0; i++)
      crc = (t[(crc ^ (bytes[i] ?? 0)) & 0xff] ?? 0) ^ (crc >>> 8);
    const blocks = (to - i) >>> 4;
    const words = new Int32Array(bytes.buffer, base + i, blocks * 4);
    for (let k = 0; k < words.length; k += 4) {
      const a = crc ^ (words[k] ?? 0);
      const b = words[k + 1] ?? 0;
      const c = words[k + 2] ?? 0;
      const d = words[k + 3] ?? 0;
      crc =
        (t[3840 + (a & 0xff)] ?? 0) ^
        (t[3584 + ((a >>> 8) & 0xff)] ?? 0) ^
        (t[3328 + ((a >>> 16) & 0xff)] ?? 0) ^
        (t[3072 + (a >>> 24)] ?? 0) ^
        (t[2816 + (b & 0xff)] ?? 0) ^
        (t[2560 + ((b >>> 8) & 0xff)] ?? 0) ^
        (t[2304 + ((b >>> 16) & 0xff)] ?? 0) ^
        (t[2048 + (b >>> 24)] ?? 0) ^
        (t[1792 + (c & 0xff)] ?? 0) ^
        (t[1536 + ((c >>> 8) & 0xff)] ?? 0) ^
        (t[1280 + ((c >>> 16) & 0xff)] ?? 0) ^
        (t[1024 + (c >>> 24)] ?? 0) ^
        (t[768 + (d & 0xff)] ?? 0) ^
        (t[512 + ((d >>> 8) & 0xff)] ?? 0) ^
        (t[256 + ((d >>> 16) & 0xff)] ?? 0) ^
        (t[d >>> 24] ?? 0);
    }
    i += blocks * 16;
  }
  for (; i + 16 <= to; i += 16) {
    const a =
      crc ^
      ((bytes[i] ?? 0) |
        ((bytes[i + 1] ?? 0) << 8) |
        ((bytes[i + 2] ?? 0) << 16) |
        ((bytes[i + 3] ?? 0) << 24));
    crc =
      (t[3840 + (a & 0xff)] ?? 0) ^
      (t[3584 + ((a >>> 8) & 0xff)] ?? 0) ^
      (t[3328 + ((a >>> 16) & 0xff)] ?? 0) ^
      (t[3072 + (a >>> 24)] ?? 0) ^
      (t[2816 + (bytes[i + 4] ?? 0)] ?? 0) ^
      (t[2560 + (bytes[i + 5] ?? 0)] ?? 0) ^
      (t[2304 + (bytes[i + 6] ?? 0)] ?? 0) ^
      (t[2048 + (bytes[i + 7] ?? 0)] ?? 0) ^
      (t[1792 + (bytes[i + 8] ?? 0)] ?? 0) ^
      (t[1536 + (bytes[i + 9] ?? 0)] ?? 0) ^
      (t[1280 + (bytes[i + 10] ?? 0)] ?? 0) ^
      (t[1024 + (bytes[i + 11] ?? 0)] ?? 0) ^
      (t[768 + (bytes[i + 12] ?? 0)] ?? 0) ^
      (t[512 + (bytes[i + 13] ?? 0)] ?? 0) ^
      (t[256 + (bytes[i + 14] ?? 0)] ?? 0) ^
      (t[bytes[i + 15] ?? 0] ?? 0);
  }
  for (; i < to; i++) crc = (t[(crc ^ (bytes[i] ?? 0)) & 0xff] ?? 0) ^ (crc >>> 8);
  return ~crc >>> 0;
}

// ---- varints (zigzag), as Kafka's record format has them -----------------------------------

/** Zigzag of a safe integer, as a non-negative number (exact below 2^52). */
const zigzag = (n: number): number => (n >= 0 ? 2 * n : -2 * n - 1);

function unsignedVarintSize(z: number): number {
  let size = 1;
  while (z >= 128) {
    z = Math.floor(z / 128);
    size++;
  }
  return size;
}

const varintSize = (n: number): number => unsignedVarintSize(zigzag(n));

function writeVarint(buffer: Buffer, offset: number, n: number): number {
  let z = zigzag(n);
  while (z >= 128) {
    buffer[offset++] = (z % 128) | 0x80;
    z = Math.floor(z / 128);
  }
  buffer[offset++] = z;
  return offset;
}

// ---- one record batch ----------------------------------------------------------------------

/** Bytes of a key, value or header value, prepared once: sized, then written. */
type Field = Buffer | null;

const asField = (value: Buffer | Uint8Array | string | null | undefined): Field => {
  if (value === null || value === undefined) return null;
  if (Buffer.isBuffer(value)) return value;
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.length);
  return Buffer.from(value, 'utf8');
};

const fieldSize = (field: Field): number =>
  field === null ? varintSize(-1) : varintSize(field.length) + field.length;

function writeField(buffer: Buffer, offset: number, field: Field): number {
  if (field === null) return writeVarint(buffer, offset, -1);
  offset = writeVarint(buffer, offset, field.length);
  field.copy(buffer, offset);
  return offset + field.length;
}

interface PreparedRecord {
  readonly key: Field;
  readonly value: Field;
  readonly headers: readonly (readonly [Buffer, Field])[];
  readonly timestampDelta: number;
  /** Size of the record after its length varint. */
  readonly bodySize: number;
}

/** RecordBatch bytes from the base offset through the end; the base offset is always 0. */
const BATCH_HEADER_SIZE = 61;
/** Offset of the CRC field, and of the first byte it covers (attributes). */
const CRC_OFFSET = 17;
const CRC_FROM = 21;
const MAGIC = 2;
const TRANSACTIONAL = 0x10;

interface PreparedBatch {
  readonly records: readonly PreparedRecord[];
  readonly firstTimestamp: number;
  readonly maxTimestamp: number;
  readonly size: number;
}

function prepareBatch(messages: readonly ProduceMessage[], now: number): PreparedBatch {
  let firstTimestamp = Number.POSITIVE_INFINITY;
  let maxTimestamp = Number.NEGATIVE_INFINITY;
  // Loops, not callbacks: a callback made per call dies with the call, and its optimised code
  // with it at the next full collection (V8 keeps that code only weakly), so it was compiled
  // again and again in every producing service.
  const times: number[] = [];
  for (const m of messages) {
    const t =
      m.timestamp === undefined || m.timestamp === null || m.timestamp === ''
        ? now
        : Number(m.timestamp);
    if (!Number.isSafeInteger(t))
      throw new TypeError(`invalid message timestamp ${String(m.timestamp)}`);
    if (t < firstTimestamp) firstTimestamp = t;
    if (t > maxTimestamp) maxTimestamp = t;
    times.push(t);
  }
  if (messages.length === 0) firstTimestamp = maxTimestamp = now;
  let size = BATCH_HEADER_SIZE;
  const records: PreparedRecord[] = [];
  for (let i = 0; i < messages.length; i++) {
    const message = messages[i];
    if (message === undefined) continue;
    const key = asField(message.key);
    const value = asField(message.value);
    const headers: (readonly [Buffer, Field])[] = [];
    if (message.headers !== undefined) {
      for (const [name, raw] of Object.entries(message.headers)) {
        const nameBytes = Buffer.from(name, 'utf8');
        const values = Array.isArray(raw)
          ? (raw as readonly (Buffer | Uint8Array | string)[])
          : [raw as Buffer | Uint8Array | string];
        for (const v of values) headers.push([nameBytes, asField(v)]);
      }
    }
    const timestampDelta = (times[i] ?? now) - firstTimestamp;
    let bodySize =
      1 + // attributes
      varintSize(timestampDelta) +
      varintSize(i) +
      fieldSize(key) +
      fieldSize(value) +
      varintSize(headers.length);
    for (const [name, v] of headers) bodySize += fieldSize(name) + fieldSize(v);
    size += varintSize(bodySize) + bodySize;
    records.push({ key, value, headers, timestampDelta, bodySize });
  }
  return { records, firstTimestamp, maxTimestamp, size };
}

function writeInt64(buffer: Buffer, offset: number, value: Int64Like): number {
  if (typeof value === 'object' && typeof value.getHighBits === 'function') {
    buffer.writeInt32BE(value.getHighBits(), offset);
    buffer.writeInt32BE(value.getLowBits(), offset + 4);
  } else {
    buffer.writeBigInt64BE(BigInt(typeof value === 'object' ? value.toString() : value), offset);
  }
  return offset + 8;
}

function writeBatch(
  buffer: Buffer,
  start: number,
  batch: PreparedBatch,
  fields: {
    readonly transactional: boolean;
    readonly producerId: Int64Like;
    readonly producerEpoch: number;
    readonly firstSequence: number;
  },
): number {
  let o = start;
  o = writeInt64(buffer, o, 0); // base offset
  o = buffer.writeInt32BE(batch.size - 12, o); // batch length: after this field
  o = buffer.writeInt32BE(0, o); // partition leader epoch
  o = buffer.writeInt8(MAGIC, o);
  o += 4; // CRC, written last
  o = buffer.writeInt16BE(fields.transactional ? TRANSACTIONAL : 0, o); // attributes
  o = buffer.writeInt32BE(batch.records.length - 1, o); // last offset delta
  o = writeInt64(buffer, o, batch.firstTimestamp);
  o = writeInt64(buffer, o, batch.maxTimestamp);
  o = writeInt64(buffer, o, fields.producerId);
  o = buffer.writeInt16BE(fields.producerEpoch, o);
  o = buffer.writeInt32BE(fields.firstSequence, o);
  o = buffer.writeInt32BE(batch.records.length, o);
  for (let i = 0; i < batch.records.length; i++) {
    const record = batch.records[i];
    if (record === undefined) continue;
    o = writeVarint(buffer, o, record.bodySize);
    buffer[o++] = 0; // attributes
    o = writeVarint(buffer, o, record.timestampDelta);
    o = writeVarint(buffer, o, i);
    o = writeField(buffer, o, record.key);
    o = writeField(buffer, o, record.value);
    o = writeVarint(buffer, o, record.headers.length);
    for (const [name, v] of record.headers) {
      o = writeField(buffer, o, name);
      o = writeField(buffer, o, v);
    }
  }
  if (o - start !== batch.size)
    throw new Error(`record batch encoding wrote ${o - start} bytes, sized ${batch.size}`);
  buffer.writeUInt32BE(crc32c(buffer, start + CRC_FROM, o), start + CRC_OFFSET);
  return o;
}

// ---- the request body ----------------------------------------------------------------------

/** The body of a Produce request (v3 to v7), uncompressed batches, in one buffer. */
export function encodeProduceRequestBody(
  request: ProduceRequestFields,
  now: number = Date.now(),
  headroom = 0,
): Buffer {
  const transactionalId =
    request.transactionalId === undefined || request.transactionalId === null
      ? null
      : Buffer.from(request.transactionalId, 'utf8');
  const producerId = request.producerId ?? -1;
  const producerEpoch = request.producerEpoch ?? 0;
  let size = 2 + (transactionalId?.length ?? 0) + 2 + 4 + 4;
  const topics = request.topicData.map((topic) => {
    const name = Buffer.from(topic.topic, 'utf8');
    size += 2 + name.length + 4;
    const partitions = topic.partitions.map((data) => {
      const batch = prepareBatch(data.messages, now);
      size += 4 + 4 + batch.size;
      return { data, batch };
    });
    return { name, partitions };
  });
  // The body is written after `headroom` bytes of the same allocation, where the request's
  // header can go without a copy of the body (request-framing.ts).
  const buffer = Buffer.allocUnsafe(headroom + size).subarray(headroom);
  let o = 0;
  if (transactionalId === null) {
    o = buffer.writeInt16BE(-1, o);
  } else {
    o = buffer.writeInt16BE(transactionalId.length, o);
    o += transactionalId.copy(buffer, o);
  }
  o = buffer.writeInt16BE(request.acks, o);
  o = buffer.writeInt32BE(request.timeout, o);
  o = buffer.writeInt32BE(topics.length, o);
  for (const topic of topics) {
    o = buffer.writeInt16BE(topic.name.length, o);
    o += topic.name.copy(buffer, o);
    o = buffer.writeInt32BE(topic.partitions.length, o);
    for (const { data, batch } of topic.partitions) {
      o = buffer.writeInt32BE(data.partition, o);
      o = buffer.writeInt32BE(batch.size, o);
      o = writeBatch(buffer, o, batch, {
        transactional: Boolean(request.transactionalId),
        producerId,
        producerEpoch,
        firstSequence: data.firstSequence ?? 0,
      });
    }
  }
  if (o !== size) throw new Error(`produce request encoding wrote ${o} bytes, sized ${size}`);
  return buffer;
}

// ---- installing it in kafkajs ----------------------------------------------------------------

/**
 * Room left in front of a Produce request's body for its header (size, API key and version,
 * correlation id, client id): enough for a client id of up to 114 bytes.
 */
const PRODUCE_HEADROOM = 128;

type ProduceRequestFactory = (
  fields: ProduceRequestFields & { readonly compression?: number },
) => { encode: () => Promise<unknown> } & Record<string, unknown>;

/**
 * Puts this encoder in place of kafkajs's Produce request v3 (which v4 to v7 extend) before
 * kafkajs loads it; compressed requests still go to kafkajs's own. True when it will be used.
 */
export function installProduceEncoding(): boolean {
  return replaceKafkajsModule(
    'kafkajs/src/protocol/requests/produce/v3/request.js',
    'kafkajs/src/protocol/requests/produce/v4/request.js',
    (loadOriginal) => {
      const original = loadOriginal() as ProduceRequestFactory;
      const fast: ProduceRequestFactory = (fields) => {
        const request = original(fields);
        if ((fields.compression ?? 0) !== 0) return request;
        return {
          ...request,
          encode: () =>
            Promise.resolve(
              kafkajsEncoderOf(
                encodeProduceRequestBody(fields, Date.now(), PRODUCE_HEADROOM),
                PRODUCE_HEADROOM,
              ),
            ),
        };
      };
      return fast;
    },
  );
}

// DYNAB_KAFKAJS_PRODUCE_ENCODER=kafkajs keeps kafkajs's own encoder (to compare the two).
if (process.env['DYNAB_KAFKAJS_PRODUCE_ENCODER'] !== 'kafkajs') installProduceEncoding();
