// Size limits on what the router, inference and the aggregator read, and the check that an
// output fits the broker. Every record is checked against these before any step whose cost grows with its size
// (decoding, partitioning, encoding, invoking a model): a record over a limit is dead-lettered
// with the field and its size, and its partition moves on. Pure.
import { DynabError } from '../errors/catalogue.ts';

/**
 * A record batch of one record costs 61 bytes of batch header plus the record's own header
 * (attributes, varint lengths, timestamp and offset deltas: at most ~25 bytes). The margin
 * covers both with room to spare.
 */
const BATCH_OVERHEAD_BYTES = 256;

export const RECORD_LIMITS = {
  /**
   * Request id, in UTF-8 bytes. It is the key of every record about the request, is repeated in
   * each of them and is kept in the aggregator's join store; 1 KiB leaves room for a UUID, a
   * trace id or a composite of several.
   */
  requestIdBytes: 1024,
  /** Record key, in bytes; dynab producers use the request id, so the same bound. */
  keyBytes: 1024,
  /** Experiment name (SageMaker endpoint names are at most 63 characters). */
  experimentBytes: 256,
  /** Variant names (target variant; SageMaker variant names are at most 63 characters). */
  variantBytes: 256,
  /** MIME type of the payload, sent as the Content-Type header (SageMaker: at most 1024). */
  contentTypeBytes: 1024,
  /** Optional user id, used for sticky routing. */
  userIdBytes: 1024,
  /** Shadow variants of one assignment, and entries of its allocation. */
  variants: 100,
  /** Headers of one record: their count, and all names and values together in bytes. */
  headers: 64,
  headerBytes: 16 * 1024,
  /**
   * A label record's value, in bytes, checked before it is parsed: the label itself is a request
   * id, a reward or a ground truth and a source; JSON labels may carry extra metadata, which is
   * ignored but still parsed.
   */
  labelBytes: 64 * 1024,
  /**
   * A label's request id: a request id, or a shadow copy's id the aggregator makes from one
   * (`<request id>#shadow:<variant>`, see shadowRequestId).
   */
  labelRequestIdBytes: 1024 + '#shadow:'.length + 256,
  /** A label's ground truth, compared with the predicted label and kept in the join store. */
  truthBytes: 4 * 1024,
  /** A label's source (`app-log:checkout`, `kinesis:<stream>`), kept with it. */
  sourceBytes: 1024,
} as const;

/** A string as UTF-8 bytes would take, without encoding it. */
export function utf8Length(value: string): number {
  let bytes = 0;
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < value.length) {
      const next = value.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4;
        i++;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}

/**
 * Whether a string has an encoding in UTF-8. A JSON producer can send a lone surrogate
 * (`"\ud800"`); avsc writes it as bytes that are not UTF-8, which a standard Avro reader rejects.
 * Native (ES2024): about a third of what a regular expression cost, per field of every record.
 */
export function isWellFormed(value: string): boolean {
  return value.isWellFormed();
}

/** The string with every lone surrogate replaced by U+FFFD, as a UTF-8 encoder would. */
export function toWellFormed(value: string): string {
  return value.toWellFormed();
}

/** Throws INVALID_FIELD when a string field is over its limit or not encodable as UTF-8. */
export function checkStringField(field: string, value: string, maxBytes: number): void {
  // The length in UTF-16 units bounds the UTF-8 length from below (÷ 1) and above (× 3): one
  // comparison settles the common cases without a pass over a hostile string.
  if (value.length > maxBytes) throw tooLong(field, value.length, maxBytes, 'characters');
  if (value.length * 3 > maxBytes) {
    const bytes = utf8Length(value);
    if (bytes > maxBytes) throw tooLong(field, bytes, maxBytes, 'bytes');
  }
  if (!isWellFormed(value)) {
    throw new DynabError('INVALID_FIELD', `${field} holds a lone surrogate: it has no UTF-8 form`);
  }
}

/** Throws INVALID_FIELD when a raw record key is over its limit. */
export function checkKey(key: Uint8Array | null): void {
  if (key !== null && key.byteLength > RECORD_LIMITS.keyBytes) {
    throw tooLong('record key', key.byteLength, RECORD_LIMITS.keyBytes, 'bytes');
  }
}

/** Throws INVALID_FIELD when a record's headers are over their limits. */
export function checkHeaders(headers: Readonly<Record<string, string>>): void {
  let count = 0;
  let bytes = 0;
  // for…in, not Object.entries: no array per record (most records carry no headers at all).
  for (const name in headers) {
    count++;
    bytes += name.length + (headers[name] ?? '').length;
  }
  if (count > RECORD_LIMITS.headers) {
    throw tooLong('headers', count, RECORD_LIMITS.headers, 'entries');
  }
  if (bytes > RECORD_LIMITS.headerBytes) {
    throw tooLong('headers', bytes, RECORD_LIMITS.headerBytes, 'characters');
  }
}

/** Throws INVALID_FIELD when a list is longer than `max`. */
export function checkListLength(field: string, length: number, max: number): void {
  if (length > max) throw tooLong(field, length, max, 'entries');
}

/**
 * Throws PAYLOAD_TOO_LARGE when a record with this key and value would not fit in one record
 * batch of a topic whose `max.message.bytes` is `maxMessageBytes`. The broker would reject it,
 * and with it the whole transaction, so the input would be read, processed and rejected again
 * forever: the input goes to the dead letters instead.
 */
export function checkOutputSize(
  what: string,
  key: string | Uint8Array | null,
  value: Uint8Array,
  maxMessageBytes: number,
): void {
  const keyBytes = key === null ? 0 : typeof key === 'string' ? utf8Length(key) : key.byteLength;
  const size = keyBytes + value.byteLength + BATCH_OVERHEAD_BYTES;
  if (size > maxMessageBytes) {
    throw new DynabError(
      'PAYLOAD_TOO_LARGE',
      `the ${what} would take ${size} bytes; the topic accepts at most ${maxMessageBytes} (max.message.bytes)`,
    );
  }
}

function tooLong(field: string, size: number, max: number, unit: string): DynabError {
  return new DynabError('INVALID_FIELD', `${field} is ${size} ${unit}; the limit is ${max}`);
}

/** The fields of a request (as read from `requests`, or embedded in an assignment). */
export interface RequestFields {
  readonly requestId: string;
  readonly experiment: string;
  readonly payload: Uint8Array;
  readonly contentType: string;
  readonly userId: string | null;
  readonly targetVariant: string | null;
}

/**
 * Throws INVALID_FIELD or PAYLOAD_TOO_LARGE when a field of a request is over its limit (see
 * RECORD_LIMITS), or when a string field holds a lone surrogate.
 */
export function checkRequestFields(request: RequestFields, maxPayloadBytes: number): void {
  checkStringField('requestId', request.requestId, RECORD_LIMITS.requestIdBytes);
  if (request.requestId.length === 0) {
    throw new DynabError('INVALID_FIELD', 'requestId is empty');
  }
  checkStringField('experiment', request.experiment, RECORD_LIMITS.experimentBytes);
  checkStringField('contentType', request.contentType, RECORD_LIMITS.contentTypeBytes);
  if (request.userId !== null) {
    checkStringField('userId', request.userId, RECORD_LIMITS.userIdBytes);
  }
  if (request.targetVariant !== null) {
    checkStringField('targetVariant', request.targetVariant, RECORD_LIMITS.variantBytes);
  }
  if (request.payload.byteLength > maxPayloadBytes) {
    throw new DynabError(
      'PAYLOAD_TOO_LARGE',
      `payload of request ${request.requestId} is ${request.payload.byteLength} bytes; the limit is ${maxPayloadBytes}`,
    );
  }
}

/** The fields of a label that have limits. */
export interface LabelFields {
  readonly requestId: string;
  readonly label: string | null;
  readonly source: string;
}

/**
 * Throws INVALID_FIELD or PAYLOAD_TOO_LARGE when a label record is over its limits (see
 * RECORD_LIMITS): the key, headers and value before decoding (`checkLabelRecord`), the fields
 * after (`checkLabelFields`).
 */
export function checkLabelRecord(record: {
  readonly key: Uint8Array | null;
  readonly value: Uint8Array;
  readonly headers: Readonly<Record<string, string>>;
}): void {
  checkKey(record.key);
  checkHeaders(record.headers);
  if (record.value.byteLength > RECORD_LIMITS.labelBytes) {
    throw new DynabError(
      'PAYLOAD_TOO_LARGE',
      `label record is ${record.value.byteLength} bytes; the limit is ${RECORD_LIMITS.labelBytes}`,
    );
  }
}

export function checkLabelFields(label: LabelFields): void {
  checkStringField('requestId', label.requestId, RECORD_LIMITS.labelRequestIdBytes);
  if (label.label !== null) checkStringField('label', label.label, RECORD_LIMITS.truthBytes);
  checkStringField('source', label.source, RECORD_LIMITS.sourceBytes);
}

/** The fields of a prediction that have limits. */
export interface PredictionFields {
  readonly requestId: string;
  readonly experiment: string;
  readonly requestedVariant: string;
  readonly invokedVariant: string | null;
  readonly predictedLabel: string | null;
  readonly allocation: readonly unknown[];
  readonly shadowVariants: readonly string[];
}

/**
 * Throws INVALID_FIELD when a prediction read by the aggregator is over a limit: inference
 * writes them within these, but anyone can produce to the topic, and the request id and the
 * predicted label are kept in the join store.
 */
export function checkPredictionFields(prediction: PredictionFields): void {
  checkStringField('requestId', prediction.requestId, RECORD_LIMITS.labelRequestIdBytes);
  checkStringField('experiment', prediction.experiment, RECORD_LIMITS.experimentBytes);
  checkStringField('requestedVariant', prediction.requestedVariant, RECORD_LIMITS.variantBytes);
  if (prediction.invokedVariant !== null) {
    checkStringField('invokedVariant', prediction.invokedVariant, RECORD_LIMITS.variantBytes);
  }
  if (prediction.predictedLabel !== null) {
    checkStringField('predictedLabel', prediction.predictedLabel, RECORD_LIMITS.truthBytes);
  }
  checkListLength('allocation', prediction.allocation.length, RECORD_LIMITS.variants);
  checkListLength('shadowVariants', prediction.shadowVariants.length, RECORD_LIMITS.variants);
}
