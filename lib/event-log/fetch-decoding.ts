// Fetched records decoded with plain numbers, in place of kafkajs's record decoder.
//
// For every record of a fetch, kafkajs reads the timestamp delta as a 64-bit Long (a BigInt
// underneath), adds it to the batch's first timestamp and the offset delta to the first offset
// through two more Longs, and prints both back as strings; it builds the headers object with a
// spread per header. Here the varints are read from the record's bytes as numbers and the sums
// are done in numbers when they are exact (offsets and times below 2^53, which a log reaches
// after 285,000 years at a million records a second), else in BigInt. The result is the same
// object kafkajs returns, field for field (a unit test compares the two on the same bytes).
import { replaceKafkajsModule } from './kafkajs-modules.ts';

/** kafkajs's Decoder, as far as this reads it: the record's bytes and a read position. */
export interface RecordReader {
  readonly buffer: Buffer;
  offset: number;
}

/** What kafkajs's batch decoder passes for every record of a batch. */
export interface RecordBatchContext {
  readonly firstOffset: string;
  readonly firstTimestamp: string;
  readonly maxTimestamp: string;
  readonly magicByte?: number;
  readonly isControlBatch?: boolean;
  readonly timestampType?: number;
  readonly [other: string]: unknown;
}

export interface DecodedRecord {
  readonly magicByte: number | undefined;
  readonly attributes: number;
  readonly timestamp: string;
  readonly offset: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: Record<string, Buffer | null | (Buffer | null)[]>;
  readonly isControlRecord: boolean;
  readonly batchContext: RecordBatchContext;
}

/** kafkajs's TimestampTypes.LOG_APPEND_TIME. */
const LOG_APPEND_TIME = 1;
/** Decimal digits below which a string holds an exact double (< 2^53 ≈ 9.007e15). */
const EXACT_DIGITS = 15;

/** A zigzag varint (up to 64 bits) at reader.offset, as a number; exact below 2^53. */
function readVarint(reader: RecordReader): number {
  const bytes = reader.buffer;
  let z = 0;
  let scale = 1;
  for (;;) {
    const byte = bytes[reader.offset++];
    if (byte === undefined) throw new RangeError('record ends inside a varint');
    z += (byte & 0x7f) * scale;
    if (byte < 0x80) break;
    scale *= 128;
  }
  return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
}

function readBytes(reader: RecordReader): Buffer | null {
  const length = readVarint(reader);
  if (length < 0) return null;
  const start = reader.offset;
  reader.offset += length;
  if (reader.offset > reader.buffer.length) throw new RangeError('record ends inside a field');
  return reader.buffer.subarray(start, reader.offset);
}

/** base + delta, both decimal, as kafkajs prints it. */
function addDecimal(base: string, delta: number): string {
  if (base.length <= EXACT_DIGITS) return String(Number(base) + delta);
  return (BigInt(base) + BigInt(delta)).toString();
}

/** One record of a batch, as kafkajs's record decoder (v0, message format 2) returns it. */
export function decodeRecord(reader: RecordReader, context: RecordBatchContext): DecodedRecord {
  const attributes = reader.buffer.readInt8(reader.offset);
  reader.offset += 1;
  const timestampDelta = readVarint(reader);
  const timestamp =
    context.timestampType === LOG_APPEND_TIME && context.maxTimestamp
      ? context.maxTimestamp
      : addDecimal(context.firstTimestamp, timestampDelta);
  const offset = addDecimal(context.firstOffset, readVarint(reader));
  const key = readBytes(reader);
  const value = readBytes(reader);
  const headers: Record<string, Buffer | null | (Buffer | null)[]> = {};
  const count = readVarint(reader);
  for (let i = 0; i < count; i++) {
    const name = readBytes(reader)?.toString('utf8') ?? 'null';
    const headerValue = readBytes(reader);
    const known = headers[name];
    if (known === undefined) headers[name] = headerValue;
    else if (Array.isArray(known)) known.push(headerValue);
    else headers[name] = [known, headerValue];
  }
  return {
    magicByte: context.magicByte,
    attributes,
    timestamp,
    offset,
    key,
    value,
    headers,
    isControlRecord: context.isControlBatch ?? false,
    batchContext: context,
  };
}

/**
 * Puts this decoder in place of kafkajs's record decoder before kafkajs's batch decoder loads
 * it. True when it will be used.
 */
export function installFetchDecoding(): boolean {
  return replaceKafkajsModule(
    'kafkajs/src/protocol/recordBatch/record/v0/decoder.js',
    'kafkajs/src/protocol/recordBatch/v0/decoder.js',
    () => decodeRecord,
  );
}

// DYNAB_KAFKAJS_FETCH_DECODER=kafkajs keeps kafkajs's own decoder (to compare the two).
if (process.env['DYNAB_KAFKAJS_FETCH_DECODER'] !== 'kafkajs') installFetchDecoding();
