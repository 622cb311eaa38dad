// Decoding of the two ingress topics (`requests`, `labels`), which accept JSON besides Avro so
// that any client (kcat, a Python script) can produce without an Avro library.
//
// Convention: a Kafka header `content-type: application/json` marks a JSON value; anything
// else is Avro single-object encoding. Both paths end in the same semantic checks, so a
// message means the same thing whichever encoding carried it.

import type { InferenceRequested, LabelReceived } from '../contracts/events.ts';
import { DynabError } from '../errors/catalogue.ts';
import type { StreamCodec } from './avro-codec.ts';

/** Kafka headers already decoded to strings by the consumer. */
export type IngressHeaders = Readonly<Record<string, string | undefined>>;

export const JSON_CONTENT_TYPE = 'application/json';
export const DEFAULT_REQUEST_CONTENT_TYPE = 'text/plain';
export const DEFAULT_LABEL_SOURCE = 'json';

/**
 * True when the `content-type` header says JSON. Header names are matched case-insensitively
 * and media-type parameters are ignored, as HTTP-minded clients send `Content-Type` or
 * `application/json; charset=utf-8`.
 */
export function isJsonMessage(headers: IngressHeaders): boolean {
  let value = headers['content-type'];
  if (value === undefined) {
    // for…in, not Object.entries: no array per record (most records carry no headers at all).
    for (const name in headers) {
      const candidate = headers[name];
      if (name.toLowerCase() === 'content-type' && candidate !== undefined) {
        value = candidate;
        break;
      }
    }
  }
  if (value === undefined) return false;
  const mediaType = value.split(';', 1)[0] ?? '';
  return mediaType.trim().toLowerCase() === JSON_CONTENT_TYPE;
}

/**
 * The event time of a JSON record that carries none: the record's Kafka timestamp (the producer's
 * create time, or the broker's append time), which replays see unchanged. Only a record without a
 * usable timestamp (negative or missing) takes `now`.
 */
export function recordEventTime(record: { readonly timestamp: number }, now: () => number): number {
  return Number.isSafeInteger(record.timestamp) && record.timestamp >= 0 ? record.timestamp : now();
}

/**
 * Decodes a `requests` message. JSON shape:
 * `{"requestId", "experiment", "payload": "<utf-8 text>" | "payloadBase64": "<base64>",
 *   "contentType"?: default "text/plain", "userId"?, "targetVariant"?, "eventTime"?: ms}`.
 * `recordTime` is the event time used when the JSON carries none: the Kafka record's own
 * timestamp (see `recordEventTime`), so that replaying the same records rebuilds the same state.
 */
export function decodeRequest(
  value: Uint8Array,
  headers: IngressHeaders,
  codecs: { readonly request: Pick<StreamCodec<InferenceRequested>, 'decode'> },
  recordTime: number,
): InferenceRequested {
  const request = isJsonMessage(headers)
    ? requestFromJson(parseJsonObject(value, 'request'), recordTime)
    : codecs.request.decode(value);
  checkRequest(request);
  return request;
}

/**
 * Decodes a `labels` message. JSON shape:
 * `{"requestId", "reward"?: number, "label"?: string, "eventTime"?: ms, "source"?: default "json"}`
 * with at least one of reward and label. `recordTime` as for requests.
 */
export function decodeLabel(
  value: Uint8Array,
  headers: IngressHeaders,
  codecs: { readonly label: StreamCodec<LabelReceived> },
  recordTime: number,
): LabelReceived {
  const label = isJsonMessage(headers)
    ? labelFromJson(parseJsonObject(value, 'label'), recordTime)
    : codecs.label.decode(value);
  checkLabel(label);
  return label;
}

// ---------------------------------------------------------------------------------------------
// JSON → contract shapes. Unknown properties are ignored so clients may send extra metadata and
// the format can grow without breaking older consumers.

type JsonObject = Readonly<Record<string, unknown>>;

const utf8Strict = new TextDecoder('utf-8', { fatal: true });
const utf8 = new TextEncoder();

function parseJsonObject(value: Uint8Array, what: string): JsonObject {
  let parsed: unknown;
  try {
    parsed = JSON.parse(utf8Strict.decode(value));
  } catch (cause) {
    throw new DynabError('MALFORMED_MESSAGE', `${what}: value is not UTF-8 JSON`, { cause });
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new DynabError('MALFORMED_MESSAGE', `${what}: JSON value must be an object`);
  }
  return parsed as JsonObject;
}

const invalid = (field: string, problem: string): DynabError =>
  new DynabError('INVALID_FIELD', `${field}: ${problem}`);

/** Absent and JSON null both mean "not given", as Python's None serialises to null. */
function isAbsent(value: unknown): value is undefined | null {
  return value === undefined || value === null;
}

function requiredString(json: JsonObject, field: string): string {
  const value = json[field];
  if (isAbsent(value)) throw invalid(field, 'is required');
  if (typeof value !== 'string') throw invalid(field, `must be a string, got ${jsonType(value)}`);
  return value;
}

function optionalString(json: JsonObject, field: string): string | null {
  const value = json[field];
  if (isAbsent(value)) return null;
  if (typeof value !== 'string') throw invalid(field, `must be a string, got ${jsonType(value)}`);
  if (value === '') throw invalid(field, 'must not be empty when given');
  return value;
}

function eventTime(json: JsonObject, now: number): number {
  const value = json['eventTime'];
  if (isAbsent(value)) return now;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw invalid('eventTime', 'must be a non-negative integer of epoch milliseconds');
  }
  return value;
}

// Standard alphabet with mandatory padding, which is what Python's base64.b64encode and the
// `base64` tool emit; Buffer.from(…, 'base64') alone would silently skip invalid characters.
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function payload(json: JsonObject): Uint8Array {
  const text = json['payload'];
  const base64 = json['payloadBase64'];
  if (!isAbsent(text) && !isAbsent(base64)) {
    throw invalid('payload', 'give either payload or payloadBase64, not both');
  }
  if (!isAbsent(text)) {
    if (typeof text !== 'string')
      throw invalid('payload', `must be a string, got ${jsonType(text)}`);
    return utf8.encode(text);
  }
  if (!isAbsent(base64)) {
    if (typeof base64 !== 'string' || !BASE64.test(base64)) {
      throw invalid('payloadBase64', 'must be a padded standard base64 string');
    }
    const decoded = Buffer.from(base64, 'base64');
    return new Uint8Array(decoded.buffer, decoded.byteOffset, decoded.byteLength);
  }
  throw invalid('payload', 'one of payload or payloadBase64 is required');
}

function requestFromJson(json: JsonObject, now: number): InferenceRequested {
  const contentType = optionalString(json, 'contentType');
  return {
    requestId: requiredString(json, 'requestId'),
    experiment: requiredString(json, 'experiment'),
    payload: payload(json),
    contentType: contentType ?? DEFAULT_REQUEST_CONTENT_TYPE,
    userId: optionalString(json, 'userId'),
    targetVariant: optionalString(json, 'targetVariant'),
    eventTime: eventTime(json, now),
  };
}

function labelFromJson(json: JsonObject, now: number): LabelReceived {
  const reward = json['reward'];
  if (!isAbsent(reward) && typeof reward !== 'number') {
    throw invalid('reward', `must be a number, got ${jsonType(reward)}`);
  }
  const source = optionalString(json, 'source');
  return {
    requestId: requiredString(json, 'requestId'),
    reward: isAbsent(reward) ? null : reward,
    label: optionalString(json, 'label'),
    eventTime: eventTime(json, now),
    source: source ?? DEFAULT_LABEL_SOURCE,
  };
}

function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

// ---------------------------------------------------------------------------------------------
// Semantic checks shared by both encodings. Avro guarantees the types but not that ids are
// non-empty or that a double is a real number, and JSON guarantees neither.

function nonEmpty(field: string, value: string): void {
  if (value.trim() === '') throw invalid(field, 'must be a non-empty string');
}

function checkRequest(request: InferenceRequested): void {
  nonEmpty('requestId', request.requestId);
  nonEmpty('experiment', request.experiment);
}

function checkLabel(label: LabelReceived): void {
  nonEmpty('requestId', label.requestId);
  // Range checks (e.g. [0, 1]) belong to the aggregator; here only "is a real number".
  if (label.reward !== null && !Number.isFinite(label.reward)) {
    throw invalid('reward', `must be a finite number, got ${label.reward}`);
  }
  if (label.reward === null && label.label === null) {
    throw invalid('reward/label', 'at least one of reward or label is required');
  }
}
