// A bounds check of an Avro binary body against its writer schema, run before avsc decodes it.
//
// Why: avsc trusts array/map block counts. A corrupt count (garbage that happens to carry a
// known fingerprint) makes it pre-size an array of up to 2^32 slots and loop that many times,
// stalling a consumer on one poison message. This walk checks every count and length against
// the bytes actually left, so such input fails fast as MALFORMED instead. It is only needed
// for schemas that contain arrays or maps; everything else avsc reads in bounded steps.

import avro, { type Type } from 'avsc';
import type {
  ArrayView,
  EnumView,
  FixedView,
  MapView,
  RecordView,
  UnionView,
} from './avsc-views.ts';

/** Thrown for input that cannot be a valid encoding; the caller maps it to its own error. */
export class WireShapeError extends Error {
  override readonly name = 'WireShapeError';
}

/** True when decoding `type` involves block counts (arrays or maps) somewhere inside it. */
export function hasBlocks(type: Type, seen = new Set<Type>()): boolean {
  if (seen.has(type)) return false;
  seen.add(type);
  switch (type.typeName) {
    case 'array':
    case 'map':
      return true;
    case 'record':
    case 'error':
      return (type as RecordView).fields.some((field) => hasBlocks(field.type, seen));
    case 'union:unwrapped':
    case 'union:wrapped':
      return (type as UnionView).types.some((branch) => hasBlocks(branch, seen));
    default:
      return false;
  }
}

/** Smallest number of bytes a value of `type` can occupy; used to bound block counts. */
function minimumSize(type: Type, seen = new Set<Type>()): number {
  switch (type.typeName) {
    case 'null':
      return 0;
    case 'float':
      return 4;
    case 'double':
      return 8;
    case 'fixed':
      return (type as FixedView).size;
    case 'record':
    case 'error': {
      // A recursive record must end in a non-recursive branch, so 0 is a safe lower bound.
      if (seen.has(type)) return 0;
      seen.add(type);
      let total = 0;
      for (const field of (type as RecordView).fields) total += minimumSize(field.type, seen);
      seen.delete(type);
      return total;
    }
    default:
      // Every varint-prefixed or varint-valued type (boolean, int, long, enum, string, bytes,
      // array, map, union) takes at least one byte.
      return 1;
  }
}

/** Items of zero wire size (e.g. arrays of null) cannot be bounded by length; cap them. */
const MAX_ZERO_SIZE_ITEMS = 1_000_000;

class Cursor {
  pos: number;
  constructor(
    readonly bytes: Uint8Array,
    start: number,
  ) {
    this.pos = start;
  }

  get remaining(): number {
    return this.bytes.length - this.pos;
  }

  skip(count: number, what: string): void {
    if (count < 0 || count > this.remaining) {
      throw new WireShapeError(`${what} of ${count} bytes exceeds the ${this.remaining} left`);
    }
    this.pos += count;
  }

  /** Zig-zag varint as a JS number; rejects encodings longer than 10 bytes or beyond 2^53. */
  long(what: string): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      const byte = this.bytes[this.pos];
      if (byte === undefined) throw new WireShapeError(`truncated ${what}`);
      this.pos++;
      value += (byte & 0x7f) * scale;
      if ((byte & 0x80) === 0) {
        if (!Number.isSafeInteger(value)) throw new WireShapeError(`${what} out of range`);
        return value % 2 === 0 ? value / 2 : -(value + 1) / 2;
      }
      scale *= 128;
    }
    throw new WireShapeError(`${what} varint longer than 10 bytes`);
  }
}

function walk(type: Type, cursor: Cursor): void {
  switch (type.typeName) {
    case 'null':
      return;
    case 'boolean':
      cursor.skip(1, 'boolean');
      return;
    case 'int':
    case 'long':
      cursor.long(type.typeName);
      return;
    case 'float':
      cursor.skip(4, 'float');
      return;
    case 'double':
      cursor.skip(8, 'double');
      return;
    case 'string':
    case 'bytes':
      cursor.skip(cursor.long(`${type.typeName} length`), type.typeName);
      return;
    case 'fixed':
      cursor.skip((type as FixedView).size, 'fixed');
      return;
    case 'enum': {
      const index = cursor.long('enum index');
      const symbols = (type as EnumView).symbols;
      if (index < 0 || index >= symbols.length) throw new WireShapeError(`enum index ${index}`);
      return;
    }
    case 'record':
    case 'error':
      for (const field of (type as RecordView).fields) walk(field.type, cursor);
      return;
    case 'union:unwrapped':
    case 'union:wrapped': {
      const branches = (type as UnionView).types;
      const index = cursor.long('union index');
      const branch = branches[index];
      if (branch === undefined) throw new WireShapeError(`union index ${index}`);
      walk(branch, cursor);
      return;
    }
    case 'array':
      walkBlocks(cursor, [(type as ArrayView).itemsType]);
      return;
    case 'map':
      // A map entry is a string key followed by the value.
      walkBlocks(cursor, [STRING, (type as MapView).valuesType]);
      return;
    default:
      // Logical types are never registered by the codec, so none should reach here.
      throw new WireShapeError(`unsupported type ${type.typeName}`);
  }
}

// The type of map keys; only its typeName is read by `walk` and `minimumSize`.
const STRING = avro.Type.forSchema('string');

function walkBlocks(cursor: Cursor, itemParts: readonly Type[]): void {
  const itemSize = itemParts.reduce((sum, part) => sum + minimumSize(part), 0);
  let zeroSizeItems = 0;
  for (;;) {
    let count = cursor.long('block count');
    if (count === 0) return;
    if (count < 0) {
      // A negative count is followed by the block's byte size, which must itself fit.
      count = -count;
      const size = cursor.long('block size');
      if (size < 0 || size > cursor.remaining) throw new WireShapeError(`block size ${size}`);
    }
    if (itemSize > 0) {
      if (count > cursor.remaining / itemSize) {
        throw new WireShapeError(`block of ${count} items cannot fit in ${cursor.remaining} bytes`);
      }
    } else {
      zeroSizeItems += count;
      if (zeroSizeItems > MAX_ZERO_SIZE_ITEMS) throw new WireShapeError('too many empty items');
    }
    for (let i = 0; i < count; i++) for (const part of itemParts) walk(part, cursor);
  }
}

/**
 * Checks that `bytes[start..]` is exactly one well-bounded encoding of `writerType`.
 * Throws WireShapeError on truncation, impossible counts or lengths, or trailing bytes.
 */
export function checkWireShape(writerType: Type, bytes: Uint8Array, start: number): void {
  const cursor = new Cursor(bytes, start);
  walk(writerType, cursor);
  if (cursor.remaining !== 0) throw new WireShapeError(`${cursor.remaining} trailing bytes`);
}
