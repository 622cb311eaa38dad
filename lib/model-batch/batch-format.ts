// Many records in one InvokeEndpoint call, in the three batch formats SageMaker containers
// accept, and the answer split back into one output per record. Both sides live here so that
// their round trips are tested together:
//   caller (inference):  encodeBatchEntry → assembleBatchBody … splitBatchAnswer
//   container (local endpoint):  decodeBatchBody → the model per record → assembleBatchAnswer
//
// | format      | request body (content type)                   | answer                         |
// | ----------- | --------------------------------------------- | ------------------------------ |
// | `jsonlines` | a JSON value per line (application/jsonlines) | a JSON value per line          |
// | `csv`       | a CSV row per record (text/csv)               | JSON lines, or a row each      |
// | `instances` | {"instances": [v1, …]} (application/json)     | {"predictions": [p1, …]}       |
//
// How a record becomes an entry depends on its own content type:
// - JSON (`application/json`, `*+json`): the JSON text itself. In a JSON line, line breaks (which
//   valid JSON only has as whitespace between tokens) become spaces.
// - text (`text/*` but CSV, `message/rfc822`): a JSON string, so newlines and quotes are escaped;
//   in a CSV batch, one quoted field.
// - CSV (`text/csv`): only in a CSV batch, and only when it is exactly one row. A CSV payload of
//   several rows would come back as several answers.
// - anything else (binary, other charsets, invalid UTF-8 or JSON): no entry; the caller sends
//   that record alone in its own format.
// Pure.

import { parseCsvFields, quoteCsvField, splitCsvRows } from './csv.ts';

interface Framing {
  readonly prefix: Uint8Array;
  readonly separator: Uint8Array;
  readonly suffix: Uint8Array;
}

const UTF8 = new TextEncoder();
// fatal: invalid UTF-8 is reported, not replaced (a replaced byte would change the record);
// ignoreBOM: a byte-order mark stays part of the text, so nothing is silently dropped.
const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const UTF8_CHARSETS = new Set(['utf-8', 'utf8', 'us-ascii']);
const JSON_LINES_TYPES = new Set([
  'application/jsonlines',
  'application/x-jsonlines',
  'application/jsonl',
  'application/x-ndjson',
]);
const LINE_BREAK = /[\r\n]/;
const LINE_BREAKS = /[\r\n]/g;
const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const VALUE_DELIMITERS = new Set([COMMA, CLOSE_BRACKET, CLOSE_BRACE, 0x20, 0x09, 0x0a, 0x0d]);

const framing = (prefix: string, separator: string, suffix: string): Framing => ({
  prefix: UTF8.encode(prefix),
  separator: UTF8.encode(separator),
  suffix: UTF8.encode(suffix),
});
const LINES = framing('', '\n', '\n');
const REQUEST_FRAMING: Readonly<Record<BatchFormat, Framing>> = {
  jsonlines: LINES,
  csv: LINES,
  instances: framing('{"instances":[', ',', ']}'),
};
const ANSWER_FRAMING: Readonly<Record<AnswerFormat, Framing>> = {
  jsonlines: LINES,
  csv: LINES,
  predictions: framing('{"predictions":[', ',', ']}'),
};

export const BATCH_FORMATS = ['jsonlines', 'csv', 'instances'] as const;
export type BatchFormat = (typeof BATCH_FORMATS)[number];

/** Content type of a batch request body. */
export const BATCH_CONTENT_TYPES: Readonly<Record<BatchFormat, string>> = {
  jsonlines: 'application/jsonlines',
  csv: 'text/csv',
  instances: 'application/json',
};

/**
 * Accept header of a batch call. CSV batches ask for JSON lines: CSV containers (XGBoost, linear
 * learner) produce them on request, and a JSON document per record lets the predicted label be
 * read exactly as from a single call's answer.
 */
export const BATCH_ACCEPT: Readonly<Record<BatchFormat, string>> = {
  jsonlines: 'application/jsonlines',
  csv: 'application/jsonlines',
  instances: 'application/json',
};

/** A body with its content type: one record sent to a model, or one output of a model. */
export interface Payload {
  readonly body: Uint8Array;
  readonly contentType: string;
  /** The body's text, when it was decoded already (a text entry of a batch body). */
  readonly text?: string;
}

export type PayloadKind = 'json' | 'text' | 'csv' | 'binary';

/** How a payload can travel in a batch, from its content type. */
export function payloadKindOf(contentType: string): PayloadKind {
  const [mediaPart = '', ...parameters] = contentType.split(';');
  const media = mediaPart.trim().toLowerCase();
  for (const parameter of parameters) {
    const [name = '', value = ''] = parameter.split('=');
    if (name.trim().toLowerCase() !== 'charset') continue;
    // Entries are UTF-8 text; bytes in another charset would be re-read as the wrong characters.
    const charset = value.trim().replaceAll('"', '').toLowerCase();
    if (!UTF8_CHARSETS.has(charset)) return 'binary';
  }
  if (media === 'application/json' || media.endsWith('+json')) return 'json';
  if (media === 'text/csv') return 'csv';
  if (media.startsWith('text/') || media === 'message/rfc822') return 'text';
  return 'binary';
}

/**
 * The record as an entry of a batch body in `format`, or null when the format cannot carry it
 * unchanged (send it alone). Also encodes one model output into a batch answer (`instances`
 * entries and `predictions` entries follow the same rules).
 */
export function encodeBatchEntry(
  format: BatchFormat,
  body: Uint8Array,
  contentType: string,
): Uint8Array | null {
  const kind = payloadKindOf(contentType);
  if (kind === 'binary') return null;
  if (kind === 'text' && format !== 'csv') return jsonStringOfUtf8(body);
  const text = decodeUtf8(body);
  if (text === null) return null;
  switch (format) {
    case 'jsonlines':
      if (kind === 'json') {
        if (!isJson(text)) return null;
        return LINE_BREAK.test(text) ? UTF8.encode(text.replace(LINE_BREAKS, ' ')) : body;
      }
      return null;
    case 'instances':
      return kind === 'json' && isJson(text) ? body : null;
    case 'csv': {
      if (kind !== 'csv') return UTF8.encode(quoteCsvField(text));
      const row = withoutFinalLineBreak(text);
      return isSingleCsvRow(row) ? UTF8.encode(row) : null;
    }
  }
}

/** Size in bytes of a batch body of `count` entries whose sizes add up to `entryBytes`. */
export function batchBodyLength(format: BatchFormat, count: number, entryBytes: number): number {
  return framedLength(REQUEST_FRAMING[format], count, entryBytes);
}

/** The request body of a batch: the entries (from encodeBatchEntry), framed for `format`. */
export function assembleBatchBody(format: BatchFormat, entries: readonly Uint8Array[]): Uint8Array {
  return frame(REQUEST_FRAMING[format], entries);
}

/**
 * Splits a batch call's answer into one output per record, in order. Which split applies is read
 * from the answer's content type (a container may answer CSV with CSV or JSON lines). Null unless
 * the answer holds exactly `count` outputs: then no output can be attributed to a record with
 * certainty, and the caller should ask record by record.
 */
// Made once: a callback made per call dies with it, and its optimised code with it at the next
// full collection (V8 keeps that code only weakly), so it is compiled again and again.
const isEmptyLine = (line: Uint8Array): boolean => line.length === 0;
const jsonOutputOf = (line: Uint8Array): Payload => ({
  body: line,
  contentType: 'application/json',
});

export function splitBatchAnswer(answer: Payload, count: number): Payload[] | null {
  const media = mediaTypeOf(answer.contentType);
  let outputs: Payload[] | null = null;
  if (JSON_LINES_TYPES.has(media)) {
    const lines = splitLines(answer.body);
    // An empty line is no JSON value: the answer is not one line per record.
    if (lines.some(isEmptyLine)) return null;
    outputs = lines.map(jsonOutputOf);
  } else if (media === 'text/csv') {
    const text = decodeUtf8(answer.body);
    const rows = text === null ? null : splitCsvRows(text);
    outputs = rows?.map((row) => ({ body: UTF8.encode(row), contentType: 'text/csv' })) ?? null;
  } else if (media === 'application/json' || media.endsWith('+json')) {
    const text = decodeUtf8(answer.body);
    // `{"predictions": [...]}` as TensorFlow Serving and most JSON containers answer, or a bare
    // array. Entries keep their exact text (a parse and re-stringify would round large integers).
    const parsed = text === null ? undefined : parseJson(text);
    const spans =
      text === null
        ? null
        : (arrayEntrySpans(text, parsed, 'predictions') ?? arrayEntrySpans(text, parsed, null));
    outputs =
      text === null || spans === null
        ? null
        : spans.map(([start, end]) => ({
            body: UTF8.encode(text.slice(start, end)),
            contentType: 'application/json',
          }));
  }
  return outputs?.length === count ? outputs : null;
}

/** What a container makes of a request body. */
export type DecodedBody =
  | { readonly kind: 'single' }
  | { readonly kind: 'batch'; readonly format: BatchFormat; readonly records: readonly Payload[] }
  | { readonly kind: 'malformed'; readonly reason: string };

/**
 * Reads a request body as a container would: JSON lines and CSV of several rows are batches,
 * JSON is a batch when it is an object with an `instances` array; everything else, including a
 * single CSV row, is one record as before. A text entry (a JSON string) reaches the model as
 * `text/plain; charset=utf-8`, a CSV row as `text/csv`, any other JSON value as
 * `application/json`.
 */
export function decodeBatchBody(body: Uint8Array, contentType: string): DecodedBody {
  const media = mediaTypeOf(contentType);
  if (JSON_LINES_TYPES.has(media)) {
    const records: Payload[] = [];
    for (const [index, line] of splitLines(body).entries()) {
      const text = decodeUtf8(line);
      const value = text === null ? undefined : parseJson(text);
      if (value === undefined)
        return { kind: 'malformed', reason: `line ${index + 1} is not JSON` };
      records.push(entryPayload(value, line));
    }
    if (records.length === 0) return { kind: 'malformed', reason: 'the body has no lines' };
    return { kind: 'batch', format: 'jsonlines', records };
  }
  if (media === 'text/csv') {
    const text = decodeUtf8(body);
    const rows = text === null ? null : splitCsvRows(text);
    if (rows === null)
      return { kind: 'malformed', reason: 'the body is not UTF-8 CSV with closed quotes' };
    if (rows.length <= 1) return { kind: 'single' };
    if (rows.some((row) => row === ''))
      return { kind: 'malformed', reason: 'the body has an empty row' };
    return {
      kind: 'batch',
      format: 'csv',
      records: rows.map((row) => ({ body: UTF8.encode(row), contentType: 'text/csv' })),
    };
  }
  if (media === 'application/json') {
    const text = decodeUtf8(body);
    const spans = text === null ? null : arrayEntrySpans(text, parseJson(text), 'instances');
    if (text === null || spans === null) return { kind: 'single' };
    if (spans.length === 0) return { kind: 'malformed', reason: '"instances" is empty' };
    const records = spans.map(([start, end]) => {
      const raw = text.slice(start, end);
      return entryPayload(JSON.parse(raw) as unknown, UTF8.encode(raw));
    });
    return { kind: 'batch', format: 'instances', records };
  }
  return { kind: 'single' };
}

/** How a container answers a batch. */
export type AnswerFormat = 'jsonlines' | 'csv' | 'predictions';

export const ANSWER_CONTENT_TYPES: Readonly<Record<AnswerFormat, string>> = {
  jsonlines: 'application/jsonlines',
  csv: 'text/csv',
  predictions: 'application/json',
};

/**
 * A container's answer to a batch: the model outputs, in request order. Null when an output
 * cannot be carried in the format (a binary output, or in CSV a CSV output of several rows).
 */
export function assembleBatchAnswer(
  format: AnswerFormat,
  outputs: readonly Payload[],
): Uint8Array | null {
  const entryFormat: BatchFormat = format === 'predictions' ? 'instances' : format;
  const entries: Uint8Array[] = [];
  for (const output of outputs) {
    const entry = encodeBatchEntry(entryFormat, output.body, output.contentType);
    if (entry === null) return null;
    entries.push(entry);
  }
  return frame(ANSWER_FRAMING[format], entries);
}

function framedLength(framing: Framing, count: number, entryBytes: number): number {
  return (
    framing.prefix.length +
    entryBytes +
    Math.max(0, count - 1) * framing.separator.length +
    framing.suffix.length
  );
}

function frame(framing: Framing, entries: readonly Uint8Array[]): Uint8Array {
  let entryBytes = 0;
  for (const entry of entries) entryBytes += entry.length;
  const out = new Uint8Array(framedLength(framing, entries.length, entryBytes));
  out.set(framing.prefix, 0);
  let offset = framing.prefix.length;
  for (const [index, entry] of entries.entries()) {
    if (index > 0) {
      out.set(framing.separator, offset);
      offset += framing.separator.length;
    }
    out.set(entry, offset);
    offset += entry.length;
  }
  out.set(framing.suffix, offset);
  return out;
}

/** JSON_ESCAPES: a control character without a short escape, written `\u00XX`. */
const CONTROL = 1;
/**
 * Per byte: 0 when a JSON string holds it as it is; else the second byte of its two-byte escape
 * (`\"`, `\\`, `\b`, `\f`, `\n`, `\r`, `\t`) or CONTROL.
 */
const JSON_ESCAPES = (() => {
  const table = new Uint8Array(256);
  for (let b = 0; b < 0x20; b++) table[b] = CONTROL;
  const short: readonly (readonly [string, string])[] = [
    ['"', '"'],
    ['\\', '\\'],
    ['\b', 'b'],
    ['\f', 'f'],
    ['\n', 'n'],
    ['\r', 'r'],
    ['\t', 't'],
  ];
  for (const [char, letter] of short) table[char.charCodeAt(0)] = letter.charCodeAt(0);
  return table;
})();
const HEX_DIGITS = UTF8.encode('0123456789abcdef');
/**
 * Text entries are written straight into a shared slab and handed out as views of it, as Node
 * pools small Buffers: an entry of its own (a typed array with its own backing store) per record
 * cost about as much again as the escaping. A slab is freed once no entry of it is left.
 */
const ENTRY_SLAB_BYTES = 1024 * 1024;
/** Whether an Int32Array reads memory little-endian, as the word scan of text entries needs. */
const LITTLE_ENDIAN = new Uint8Array(new Int32Array([1]).buffer)[0] === 1;
/** Below this many bytes a text entry is scanned a byte at a time. */
const WORD_SCAN_MIN_BYTES = 32;
let entrySlab = new Uint8Array(0);
let entrySlabView = new DataView(entrySlab.buffer);
let entrySlabUsed = 0;

/**
 * `UTF8.encode(JSON.stringify(text))` of the text that `utf8` holds, byte for byte, without
 * making the string; null when the bytes are not valid UTF-8 (as the strict decoder rules).
 * JSON.stringify escapes only quotes, backslashes and control characters (and lone surrogates,
 * which valid UTF-8 cannot hold), so every other byte, including those of multi-byte
 * characters, is copied as it is. A served mail costs about 30% less than the three passes
 * (decode, stringify, encode).
 */
function jsonStringOfUtf8(utf8: Uint8Array): Uint8Array | null {
  const length = utf8.length;
  // At most six bytes per byte (\u00XX), and the quotes. An entry that might take more than a
  // quarter of a slab is written apart and copied out at its size.
  const bound = 6 * length + 2;
  const apart = 4 * bound > ENTRY_SLAB_BYTES;
  if (!apart && entrySlab.length - entrySlabUsed < bound) {
    entrySlab = new Uint8Array(ENTRY_SLAB_BYTES);
    entrySlabView = new DataView(entrySlab.buffer);
    entrySlabUsed = 0;
  }
  const out = apart ? new Uint8Array(bound) : entrySlab;
  const start = apart ? 0 : entrySlabUsed;
  let o = start;
  out[o++] = QUOTE;
  let high = 0;
  let i = 0;
  if (LITTLE_ENDIAN && length >= WORD_SCAN_MIN_BYTES) {
    // Four bytes at a time: a word none of whose bytes is below 0x20, a quote or a backslash (the
    // usual case in text) is copied with one store, without a look-up per byte; bytes above 0x7F
    // are copied as they are too, and only noted for the check below. A word that has one of
    // those goes through the byte step. The bytes before the first aligned address too.
    const base = utf8.byteOffset;
    for (; ((base + i) & 3) !== 0; i++) {
      const b = utf8[i] ?? 0;
      high |= b;
      o = writeJsonByte(out, o, b);
    }
    const words = new Int32Array(utf8.buffer, base + i, (length - i) >>> 2);
    const view = apart ? new DataView(out.buffer) : entrySlabView;
    let highWords = 0;
    // An indexed loop: `for (const w of words)` took twice as long here.
    const count = words.length;
    for (let k = 0; k < count; k++) {
      const w = words[k] ?? 0;
      const quote = w ^ 0x22222222;
      const backslash = w ^ 0x5c5c5c5c;
      // Exact for "some byte is below 0x20 / is zero", whatever the high bits of the others.
      const special =
        ((w - 0x20202020) & ~w) |
        ((quote - 0x01010101) & ~quote) |
        ((backslash - 0x01010101) & ~backslash);
      highWords |= w;
      if ((special & 0x80808080) === 0) {
        view.setInt32(o, w, true);
        o += 4;
      } else {
        o = writeJsonWord(out, o, w);
      }
    }
    // (Not `high |= highWords & 0x80808080`: that is negative when the top byte is high.)
    if ((highWords & 0x80808080) !== 0) high = 0x80;
    i += 4 * count;
  }
  for (; i < length; i++) {
    const b = utf8[i] ?? 0;
    high |= b;
    o = writeJsonByte(out, o, b);
  }
  // Bytes above 0x7F were copied as they are: they must make well-formed characters.
  if (high >= 0x80 && !isWellFormedUtf8(utf8)) return null;
  out[o++] = QUOTE;
  if (apart) return out.slice(0, o);
  // The next entry starts 8-aligned.
  entrySlabUsed = (o + 7) & ~7;
  return out.subarray(start, o);
}

/** Writes the four bytes of `w` (little-endian) as writeJsonByte does. */
function writeJsonWord(out: Uint8Array, o: number, w: number): number {
  let at = writeJsonByte(out, o, w & 0xff);
  at = writeJsonByte(out, at, (w >>> 8) & 0xff);
  at = writeJsonByte(out, at, (w >>> 16) & 0xff);
  return writeJsonByte(out, at, w >>> 24);
}

/** Writes byte `b` of a JSON string's text at `o`, escaped as JSON.stringify would; the next `o`. */
function writeJsonByte(out: Uint8Array, o: number, b: number): number {
  const escape = JSON_ESCAPES[b] ?? 0;
  if (escape === 0) {
    out[o] = b;
    return o + 1;
  }
  if (escape === CONTROL) {
    out[o] = BACKSLASH;
    out[o + 1] = 0x75; // u
    out[o + 2] = 0x30;
    out[o + 3] = 0x30;
    out[o + 4] = HEX_DIGITS[b >> 4] ?? 0;
    out[o + 5] = HEX_DIGITS[b & 15] ?? 0;
    return o + 6;
  }
  out[o] = BACKSLASH;
  out[o + 1] = escape;
  return o + 2;
}

/**
 * Whether `bytes` is well-formed UTF-8 as the strict decoder rules: the byte ranges of Unicode's
 * table of well-formed sequences (no overlong forms, no surrogates, nothing above U+10FFFF).
 */
function isWellFormedUtf8(bytes: Uint8Array): boolean {
  const length = bytes.length;
  for (let i = 0; i < length;) {
    const lead = bytes[i] ?? 0;
    if (lead < 0x80) {
      i++;
      continue;
    }
    let count: number;
    let low = 0x80;
    let high = 0xbf;
    if (lead >= 0xc2 && lead <= 0xdf) count = 1;
    else if (lead >= 0xe0 && lead <= 0xef) {
      count = 2;
      if (lead === 0xe0) low = 0xa0;
      else if (lead === 0xed) high = 0x9f;
    } else if (lead >= 0xf0 && lead <= 0xf4) {
      count = 3;
      if (lead === 0xf0) low = 0x90;
      else if (lead === 0xf4) high = 0x8f;
    } else return false;
    if (i + count >= length) return false;
    const second = bytes[i + 1] ?? 0;
    if (second < low || second > high) return false;
    for (let k = 2; k <= count; k++) {
      const next = bytes[i + k] ?? 0;
      if (next < 0x80 || next > 0xbf) return false;
    }
    i += count + 1;
  }
  return true;
}

function decodeUtf8(bytes: Uint8Array): string | null {
  try {
    return STRICT_UTF8.decode(bytes);
  } catch {
    return null;
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function isJson(text: string): boolean {
  return parseJson(text) !== undefined;
}

function mediaTypeOf(contentType: string): string {
  return (contentType.split(';')[0] ?? '').trim().toLowerCase();
}

/** A text entry: its string as read, its UTF-8 bytes made only if asked for. */
class TextEntry implements Payload {
  readonly contentType = 'text/plain; charset=utf-8';
  private bytes: Uint8Array | undefined;

  constructor(readonly text: string) {}

  get body(): Uint8Array {
    this.bytes ??= UTF8.encode(this.text);
    return this.bytes;
  }
}

/** A decoded entry as the model sees it: a string as text, anything else as its JSON. */
function entryPayload(value: unknown, json: Uint8Array): Payload {
  return typeof value === 'string'
    ? new TextEntry(value)
    : { body: json, contentType: 'application/json' };
}

function withoutFinalLineBreak(text: string): string {
  if (text.endsWith('\r\n')) return text.slice(0, -2);
  return text.endsWith('\n') ? text.slice(0, -1) : text;
}

function isSingleCsvRow(row: string): boolean {
  if (row === '') return false;
  const rows = splitCsvRows(row);
  return rows?.length === 1 && rows[0] === row && parseCsvFields(row) !== null;
}

/**
 * Lines of a body split at `\n` (a trailing `\r` dropped), without the empty line after a final
 * newline. Splitting bytes is safe: 0x0A never occurs inside a multi-byte UTF-8 character.
 */
function splitLines(body: Uint8Array): Uint8Array[] {
  const lines: Uint8Array[] = [];
  let start = 0;
  while (start < body.length) {
    let end = body.indexOf(NEWLINE, start);
    const next = end === -1 ? body.length : end + 1;
    if (end === -1) end = body.length;
    if (end > start && body[end - 1] === CARRIAGE_RETURN) end -= 1;
    lines.push(body.subarray(start, end));
    start = next;
  }
  return lines;
}

/**
 * [start, end) of each entry of a JSON array, as text: the top-level array when `key` is null,
 * else the array under that key of a top-level object. Null when the text is not JSON of that
 * shape. `parsed` is JSON.parse of the text (undefined if it failed): the scan relies on the
 * text being valid JSON.
 */
function arrayEntrySpans(
  text: string,
  parsed: unknown,
  key: string | null,
): [number, number][] | null {
  if (key === null) {
    if (!Array.isArray(parsed)) return null;
    return arraySpans(text, skipSpace(text, 0));
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return null;
  if (!Object.hasOwn(parsed, key) || !Array.isArray((parsed as Record<string, unknown>)[key]))
    return null;
  // Walk the top-level members; a repeated key means the last one, as in JSON.parse.
  let spans: [number, number][] | null = null;
  let index = skipSpace(text, 0) + 1;
  for (;;) {
    index = skipSpace(text, index);
    if (text.charCodeAt(index) === CLOSE_BRACE) return spans;
    const keyEnd = stringEnd(text, index);
    const name = JSON.parse(text.slice(index, keyEnd)) as string;
    const valueStart = skipSpace(text, skipSpace(text, keyEnd) + 1);
    if (name === key && text.charCodeAt(valueStart) === OPEN_BRACKET) {
      spans = arraySpans(text, valueStart);
    }
    index = skipSpace(text, valueEnd(text, valueStart));
    if (text.charCodeAt(index) === COMMA) index += 1;
  }
}

function arraySpans(text: string, open: number): [number, number][] {
  const spans: [number, number][] = [];
  let index = skipSpace(text, open + 1);
  if (text.charCodeAt(index) === CLOSE_BRACKET) return spans;
  for (;;) {
    const end = valueEnd(text, index);
    spans.push([index, end]);
    index = skipSpace(text, end);
    if (text.charCodeAt(index) !== COMMA) return spans;
    index = skipSpace(text, index + 1);
  }
}

function skipSpace(text: string, index: number): number {
  let at = index;
  for (;;) {
    const code = text.charCodeAt(at);
    if (code !== 0x20 && code !== 0x09 && code !== 0x0a && code !== 0x0d) return at;
    at += 1;
  }
}

/** End of the string whose opening quote is at `start`. */
function stringEnd(text: string, start: number): number {
  for (let index = start + 1; index < text.length; index += 1) {
    const code = text.charCodeAt(index);
    if (code === BACKSLASH) index += 1;
    else if (code === QUOTE) return index + 1;
  }
  return text.length;
}

/** End of the (valid) JSON value that starts at `start`. */
function valueEnd(text: string, start: number): number {
  const first = text.charCodeAt(start);
  if (first === QUOTE) return stringEnd(text, start);
  if (first === OPEN_BRACE || first === OPEN_BRACKET) {
    let depth = 0;
    for (let index = start; index < text.length; index += 1) {
      const code = text.charCodeAt(index);
      if (code === QUOTE) index = stringEnd(text, index) - 1;
      else if (code === OPEN_BRACE || code === OPEN_BRACKET) depth += 1;
      else if (code === CLOSE_BRACE || code === CLOSE_BRACKET) {
        depth -= 1;
        if (depth === 0) return index + 1;
      }
    }
    return text.length;
  }
  // A number or a literal runs until the next delimiter.
  let index = start;
  while (index < text.length && !VALUE_DELIMITERS.has(text.charCodeAt(index))) index += 1;
  return index;
}
