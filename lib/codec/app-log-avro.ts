// Decoding of Avro application-log records for label ingestion. Their schema is the
// application's, not dynab's, so it comes from the label mapping file: either Avro single-object
// encoding (C3 01, the schema's CRC-64-AVRO fingerprint, the body), checked against that schema's
// fingerprint, or the bare binary body. Values come back as plain objects for the mapping's JSON
// paths: nullable unions as plain values, bytes as Buffers, records as objects.
import avro, { type Type } from 'avsc';
import { DynabError } from '../errors/catalogue.ts';
import {
  parsingCanonicalForm,
  SINGLE_OBJECT_HEADER_LENGTH,
  SINGLE_OBJECT_MARKER,
} from './avro-codec.ts';
import { fingerprintToHex, rabinFingerprint } from './rabin-fingerprint.ts';
import { checkWireShape, hasBlocks, WireShapeError } from './wire-guard.ts';

export type AppLogAvroEncoding = 'single-object' | 'binary';

export interface AppLogDecoder {
  decode(bytes: Uint8Array): unknown;
}

/** Builds the decoder; CONFIG_INVALID when the schema is not a valid Avro schema. */
export function createAppLogAvroDecoder(
  schema: unknown,
  encoding: AppLogAvroEncoding,
): AppLogDecoder {
  let type: Type;
  try {
    type = avro.Type.forSchema(schema as Parameters<typeof avro.Type.forSchema>[0], {
      wrapUnions: false,
    });
  } catch (cause) {
    const message = cause instanceof Error ? cause.message : String(cause);
    throw new DynabError('CONFIG_INVALID', `avro.schema: ${message}`, { cause });
  }
  const fingerprint = rabinFingerprint(parsingCanonicalForm(type));
  const guard = hasBlocks(type);
  const malformed = (message: string, cause?: unknown): DynabError =>
    new DynabError('MALFORMED_MESSAGE', `app-log Avro record: ${message}`, { cause });
  return {
    decode(bytes) {
      const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      let start = 0;
      if (encoding === 'single-object') {
        if (
          buf.length < SINGLE_OBJECT_HEADER_LENGTH ||
          buf[0] !== SINGLE_OBJECT_MARKER[0] ||
          buf[1] !== SINGLE_OBJECT_MARKER[1]
        ) {
          throw malformed('missing the single-object marker C3 01');
        }
        const writer = buf.readBigUInt64LE(2);
        if (writer !== fingerprint) {
          throw new DynabError(
            'UNKNOWN_SCHEMA',
            `app-log Avro record: writer fingerprint ${fingerprintToHex(writer)} is not the mapping's schema (${fingerprintToHex(fingerprint)})`,
          );
        }
        start = SINGLE_OBJECT_HEADER_LENGTH;
      }
      try {
        if (guard) checkWireShape(type, buf, start);
        const decoded = type.decode(buf, start);
        if (decoded.offset < 0) throw malformed('truncated body');
        if (decoded.offset !== buf.length) throw malformed('trailing bytes after the body');
        return decoded.value as unknown;
      } catch (cause) {
        if (cause instanceof DynabError) throw cause;
        if (cause instanceof WireShapeError) throw malformed(cause.message, cause);
        throw malformed(cause instanceof Error ? cause.message : String(cause), cause);
      }
    },
  };
}

/** Single-object encoding of a value with the given schema (for tests and demos that write app logs). */
export function encodeAppLogAvro(schema: unknown, value: unknown): Buffer {
  const type = avro.Type.forSchema(schema as Parameters<typeof avro.Type.forSchema>[0], {
    wrapUnions: false,
  });
  const header = Buffer.alloc(SINGLE_OBJECT_HEADER_LENGTH);
  header[0] = SINGLE_OBJECT_MARKER[0];
  header[1] = SINGLE_OBJECT_MARKER[1];
  header.writeBigUInt64LE(rabinFingerprint(parsingCanonicalForm(type)), 2);
  return Buffer.concat([header, type.toBuffer(value)]);
}
