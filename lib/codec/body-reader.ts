// A reader of Avro binary bodies written with the reader's own schema: the common case, where a
// message's writer schema is the current one and nothing needs resolving.
//
// It reads straight into the plain shapes of `lib/contracts/events.ts` (plain objects for
// records, Uint8Array for bytes, plain values for unions) and checks every length and block
// count against the bytes left as it goes, as the wire guard does. That replaces three passes of
// the general path (the guard's walk, avsc's read into its own record classes and buffers, and
// the conversion to plain shapes) with one. Messages of older writer schemas still go through
// avsc's resolver (avro-codec.ts).
//
// Stricter than avsc where avsc is lenient: an int outside 32 bits and a boolean byte other
// than 0 or 1 are malformed, as the Avro specification says.

import type { Type } from 'avsc';
import {
  isLiteralFieldName,
  type ArrayView,
  type EnumView,
  type FixedView,
  type MapView,
  type RecordView,
  type UnionView,
} from './avsc-views.ts';
import { BlockCounts, Cursor, minimumSize, WireShapeError } from './wire-guard.ts';

/** How `bytes` and `fixed` values come out. */
export type BytesMode =
  /** A copy of their own: the value shares nothing with the input. */
  | 'copy'
  /** A view of the input: no copy, for a caller that is done with the value before the input. */
  | 'view';

/** Reads one value and moves the cursor past it. */
type Read = (cursor: BufferCursor) => unknown;

/** A cursor over a Buffer, whose string decoding is native. */
class BufferCursor extends Cursor {
  constructor(
    readonly buffer: Buffer,
    start: number,
  ) {
    super(buffer, start);
  }

  /** `length` bytes, checked against what is left; answers where they start. */
  take(length: number, what: string): number {
    const start = this.pos;
    this.skip(length, what);
    return start;
  }
}

const readNull: Read = () => null;
const readBoolean: Read = (cursor) => {
  const byte = cursor.bytes[cursor.take(1, 'boolean')];
  if (byte !== 0 && byte !== 1) throw new WireShapeError(`boolean byte ${String(byte)}`);
  return byte === 1;
};
const readInt: Read = (cursor) => {
  const value = cursor.long('int');
  if (value !== (value | 0)) throw new WireShapeError(`int ${value} out of range`);
  return value;
};
const readLong: Read = (cursor) => cursor.long('long');
const readFloat: Read = (cursor) => cursor.buffer.readFloatLE(cursor.take(4, 'float'));
const readDouble: Read = (cursor) => cursor.buffer.readDoubleLE(cursor.take(8, 'double'));
/**
 * Node's own UTF-8 decoder behind `buffer.toString('utf8', start, end)`, called without the
 * argument handling around it (a string of a few dozen bytes spent more time there than in the
 * decoding). Not in Node's typings; when a runtime lacks it, `toString` is used.
 */
type Utf8Slice = (this: Buffer, start: number, end: number) => string;
const nativeUtf8Slice = (Buffer.prototype as unknown as { utf8Slice?: Utf8Slice }).utf8Slice;
const utf8Slice: Utf8Slice =
  typeof nativeUtf8Slice === 'function'
    ? nativeUtf8Slice
    : function (this: Buffer, start, end) {
        return this.toString('utf8', start, end);
      };

const readString: Read = (cursor) => {
  const length = cursor.long('string length');
  const start = cursor.take(length, 'string');
  return utf8Slice.call(cursor.buffer, start, start + length);
};

/** A field's string is compared with the field's previous one when it has at most this many bytes. */
const RECURRING_BYTES = 64;
/** After this many different strings in a row a field stops comparing for a while (ids)... */
const MISSES_BEFORE_PAUSE = 8;
/** ...for this many strings. */
const PAUSED_READS = 1_024;

/**
 * The reader of one record field of type string. Fields such as the experiment, a variant or a
 * content type carry the same few values message after message: when a string's bytes are those
 * of the field's previous string, that string is answered again instead of decoding and
 * allocating a new one (strings are immutable, so sharing one is safe). A field whose values
 * keep changing (an id) pauses the comparison after a run of misses.
 */
function recurringStringReader(): Read {
  const previous = new Uint8Array(RECURRING_BYTES);
  let previousLength = -1;
  let previousText = '';
  let misses = 0;
  let paused = 0;
  return (cursor) => {
    const length = cursor.long('string length');
    const start = cursor.take(length, 'string');
    if (paused > 0) {
      paused--;
      return utf8Slice.call(cursor.buffer, start, start + length);
    }
    const bytes = cursor.bytes;
    if (length === previousLength) {
      let i = 0;
      while (i < length && bytes[start + i] === previous[i]) i++;
      if (i === length) {
        misses = 0;
        return previousText;
      }
    }
    const text = utf8Slice.call(cursor.buffer, start, start + length);
    if (length <= RECURRING_BYTES) {
      for (let i = 0; i < length; i++) previous[i] = bytes[start + i] ?? 0;
      previousLength = length;
      previousText = text;
    }
    if (++misses >= MISSES_BEFORE_PAUSE) {
      misses = 0;
      paused = PAUSED_READS;
    }
    return text;
  };
}

function bytesOf(mode: BytesMode, length: number, what: string): Read {
  return mode === 'view'
    ? (cursor) => {
        const size = length < 0 ? cursor.long(`${what} length`) : length;
        const start = cursor.take(size, what);
        const { buffer } = cursor;
        return new Uint8Array(buffer.buffer, buffer.byteOffset + start, size);
      }
    : (cursor) => {
        const size = length < 0 ? cursor.long(`${what} length`) : length;
        const start = cursor.take(size, what);
        // From Node's pool (a new ArrayBuffer per value would cost a native allocation each).
        const copy = Buffer.allocUnsafe(size);
        cursor.buffer.copy(copy, 0, start, start + size);
        return new Uint8Array(copy.buffer, copy.byteOffset, size);
      };
}

/**
 * The reader of each type, per bytes mode, built once per type: closures over the schema's
 * fields instead of a switch on the type name at every value.
 */
const readers: Readonly<Record<BytesMode, WeakMap<Type, Read>>> = {
  copy: new WeakMap(),
  view: new WeakMap(),
};

function readerOf(type: Type, mode: BytesMode): Read {
  const memo = readers[mode];
  const known = memo.get(type);
  if (known !== undefined) return known;
  // A recursive record reaches itself while it is being built: it goes through this entry,
  // which calls the finished reader (nothing is read before the build is done).
  const self: { read: Read } = { read: readNull };
  memo.set(type, (cursor) => self.read(cursor));
  self.read = buildReader(type, mode);
  memo.set(type, self.read);
  return self.read;
}

function buildReader(type: Type, mode: BytesMode): Read {
  switch (type.typeName) {
    case 'null':
      return readNull;
    case 'boolean':
      return readBoolean;
    case 'int':
      return readInt;
    case 'long':
      return readLong;
    case 'float':
      return readFloat;
    case 'double':
      return readDouble;
    case 'string':
      return readString;
    case 'bytes':
      return bytesOf(mode, -1, 'bytes');
    case 'fixed':
      return bytesOf(mode, (type as FixedView).size, 'fixed');
    case 'enum': {
      const symbols = (type as EnumView).symbols;
      return (cursor) => {
        const index = cursor.long('enum index');
        const symbol = symbols[index];
        if (symbol === undefined) throw new WireShapeError(`enum index ${index}`);
        return symbol;
      };
    }
    case 'record':
    case 'error': {
      const fields = (type as RecordView).fields;
      return recordReader(
        fields.map((field) => field.name),
        // A string field gets a reader of its own (avsc gives every "string" one shared Type).
        fields.map((field) =>
          field.type.typeName === 'string' ? recurringStringReader() : readerOf(field.type, mode),
        ),
      );
    }
    case 'union:unwrapped': {
      const branches = (type as UnionView).types.map((branch) => readerOf(branch, mode));
      return (cursor) => {
        const index = cursor.long('union index');
        const branch = branches[index];
        if (branch === undefined) throw new WireShapeError(`union index ${index}`);
        return branch(cursor);
      };
    }
    case 'array': {
      const items = (type as ArrayView).itemsType;
      const item = readerOf(items, mode);
      const itemSize = minimumSize(items);
      return (cursor) => {
        const out: unknown[] = [];
        const blocks = new BlockCounts(itemSize);
        for (let count = blocks.next(cursor); count > 0; count = blocks.next(cursor)) {
          for (let i = 0; i < count; i++) out.push(item(cursor));
        }
        return out;
      };
    }
    case 'map': {
      const values = (type as MapView).valuesType;
      const value = readerOf(values, mode);
      const entrySize = 1 + minimumSize(values);
      return (cursor) => {
        const out: Record<string, unknown> = {};
        const blocks = new BlockCounts(entrySize);
        for (let count = blocks.next(cursor); count > 0; count = blocks.next(cursor)) {
          for (let i = 0; i < count; i++) {
            const key = readString(cursor) as string;
            defineOwn(out, key, value(cursor));
          }
        }
        return out;
      };
    }
    default:
      // Wrapped unions and logical types are never configured by the codec.
      return () => {
        throw new WireShapeError(`unsupported type ${type.typeName}`);
      };
  }
}

/**
 * The reader of a record: one object literal with the fields in the schema's order, so every
 * record of a type comes out with the same hidden class and its fields are set without a keyed
 * store each.
 *
 * The literal is generated once per record type. What goes into the generated source: each field
 * name as a JSON string literal (field names are Avro names, `[A-Za-z_][A-Za-z0-9_]*`, checked by
 * avsc and again here) and the readers as parameters, never as text.
 */
function recordReader(names: readonly string[], reads: readonly Read[]): Read {
  const plain = names.every(isLiteralFieldName);
  if (!plain) {
    // A field named "__proto__" (a literal would take it as the prototype), or a name avsc
    // should not have accepted: field by field, and the generated source never sees it.
    return (cursor) => {
      const out: Record<string, unknown> = {};
      names.forEach((name, i) => defineOwn(out, name, (reads[i] ?? readNull)(cursor)));
      return out;
    };
  }
  const parameters = names.map((_, i) => `read${i}`);
  const literal = names.map((name, i) => `${JSON.stringify(name)}: read${i}(cursor)`).join(', ');
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- see the comment above
  const build = new Function(...parameters, `return (cursor) => ({ ${literal} });`) as (
    ...readers: Read[]
  ) => Read;
  return build(...reads);
}

/** Sets an own property, also for a key such as "__proto__" (never the object's prototype). */
function defineOwn(out: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
}

/**
 * Reads `buffer[start..]` as exactly one value of `type`, in the plain shapes. Throws
 * WireShapeError on truncation, impossible counts or lengths, out-of-range numbers, invalid
 * union or enum indices, or trailing bytes.
 */
export function readBody(type: Type, buffer: Buffer, start: number, mode: BytesMode): unknown {
  const cursor = new BufferCursor(buffer, start);
  const value = readerOf(type, mode)(cursor);
  if (cursor.remaining !== 0) throw new WireShapeError(`${cursor.remaining} trailing bytes`);
  return value;
}
