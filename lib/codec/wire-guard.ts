// A bounds check of an Avro binary body against its writer schema, run before avsc decodes it.
//
// Why: avsc trusts array/map block counts. A corrupt count (garbage that happens to carry a
// known fingerprint) makes it pre-size an array of up to 2^32 slots and loop that many times,
// stalling a consumer on one poison message. This walk checks every count and length against
// the bytes actually left, so such input fails fast as MALFORMED instead. It is only needed
// for schemas that contain arrays or maps; everything else avsc reads in bounded steps.

import type { Type } from 'avsc';
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
export function minimumSize(type: Type, seen = new Set<Type>()): number {
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

export class Cursor {
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

  /**
   * Zig-zag varint as a JS number; rejects encodings longer than 10 bytes and values beyond
   * ±(2^53 - 1). Exact over that whole range: the low 28 bits are gathered as an integer, the
   * rest as a float, and the zig-zag halving never rounds an odd value.
   */
  long(what: string): number {
    const bytes = this.bytes;
    const first = bytes[this.pos];
    if (first === undefined) throw new WireShapeError(`truncated ${what}`);
    if (first < 0x80) {
      // One byte: lengths, union and enum indices, small numbers.
      this.pos++;
      return (first >>> 1) ^ -(first & 1);
    }
    let low = 0;
    let high = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      const byte = bytes[this.pos];
      if (byte === undefined) throw new WireShapeError(`truncated ${what}`);
      this.pos++;
      if (i < 4) {
        low |= (byte & 0x7f) << (7 * i);
      } else {
        high += (byte & 0x7f) * scale;
        scale *= 128;
      }
      if ((byte & 0x80) === 0) {
        const half = high * 2 ** 27 + (low >>> 1);
        const value = (low & 1) === 0 ? half : -half - 1;
        if (!Number.isSafeInteger(value)) throw new WireShapeError(`${what} out of range`);
        return value;
      }
    }
    throw new WireShapeError(`${what} varint longer than 10 bytes`);
  }
}

/** Checks one value of a type and moves the cursor past it. */
type Walker = (cursor: Cursor) => void;

const skipNothing: Walker = () => undefined;
const walkBoolean: Walker = (cursor) => cursor.skip(1, 'boolean');
const walkInt: Walker = (cursor) => void cursor.long('int');
const walkLong: Walker = (cursor) => void cursor.long('long');
const walkFloat: Walker = (cursor) => cursor.skip(4, 'float');
const walkDouble: Walker = (cursor) => cursor.skip(8, 'double');
const walkString: Walker = (cursor) => cursor.skip(cursor.long('string length'), 'string');
const walkBytes: Walker = (cursor) => cursor.skip(cursor.long('bytes length'), 'bytes');

/**
 * The walk of each type, built once per type (a decode walks every message of a stream with
 * the same few schemas): closures instead of a switch on the type name at every value, and
 * each block's minimum item size computed here rather than per block.
 */
const walkers = new WeakMap<Type, Walker>();

function walkerOf(type: Type): Walker {
  const known = walkers.get(type);
  if (known !== undefined) return known;
  // A recursive record reaches itself while it is being built: it goes through this entry,
  // which calls the finished walk (no value is walked before the build is done).
  const self: { walk: Walker } = { walk: skipNothing };
  walkers.set(type, (cursor) => self.walk(cursor));
  self.walk = buildWalker(type);
  walkers.set(type, self.walk);
  return self.walk;
}

function buildWalker(type: Type): Walker {
  switch (type.typeName) {
    case 'null':
      return skipNothing;
    case 'boolean':
      return walkBoolean;
    case 'int':
      return walkInt;
    case 'long':
      return walkLong;
    case 'float':
      return walkFloat;
    case 'double':
      return walkDouble;
    case 'string':
      return walkString;
    case 'bytes':
      return walkBytes;
    case 'fixed': {
      const size = (type as FixedView).size;
      return (cursor) => cursor.skip(size, 'fixed');
    }
    case 'enum': {
      const count = (type as EnumView).symbols.length;
      return (cursor) => {
        const index = cursor.long('enum index');
        if (index < 0 || index >= count) throw new WireShapeError(`enum index ${index}`);
      };
    }
    case 'record':
    case 'error': {
      const fields = (type as RecordView).fields.map((field) => walkerOf(field.type));
      return (cursor) => {
        for (const field of fields) field(cursor);
      };
    }
    case 'union:unwrapped':
    case 'union:wrapped': {
      const branches = (type as UnionView).types.map((branch) => walkerOf(branch));
      return (cursor) => {
        const index = cursor.long('union index');
        const branch = branches[index];
        if (branch === undefined) throw new WireShapeError(`union index ${index}`);
        branch(cursor);
      };
    }
    case 'array': {
      const items = (type as ArrayView).itemsType;
      return blocksWalker([walkerOf(items)], minimumSize(items));
    }
    case 'map': {
      // A map entry is a string key followed by the value.
      const values = (type as MapView).valuesType;
      return blocksWalker([walkString, walkerOf(values)], 1 + minimumSize(values));
    }
    default:
      // Logical types are never registered by the codec, so none should reach here.
      return () => {
        throw new WireShapeError(`unsupported type ${type.typeName}`);
      };
  }
}

function blocksWalker(itemParts: readonly Walker[], itemSize: number): Walker {
  return (cursor) => {
    const blocks = new BlockCounts(itemSize);
    for (let count = blocks.next(cursor); count > 0; count = blocks.next(cursor)) {
      for (let i = 0; i < count; i++) for (const part of itemParts) part(cursor);
    }
  };
}

/**
 * The block counts of one array or map, each checked against the bytes left before any item is
 * read: `next` answers the next block's item count, 0 at the end of the blocks.
 */
export class BlockCounts {
  private zeroSizeItems = 0;

  /** `itemSize`: the smallest wire size of one item (see `minimumSize`). */
  constructor(private readonly itemSize: number) {}

  next(cursor: Cursor): number {
    let count = cursor.long('block count');
    if (count === 0) return 0;
    if (count < 0) {
      // A negative count is followed by the block's byte size, which must itself fit.
      count = -count;
      const size = cursor.long('block size');
      if (size < 0 || size > cursor.remaining) throw new WireShapeError(`block size ${size}`);
    }
    if (this.itemSize > 0) {
      if (count > cursor.remaining / this.itemSize) {
        throw new WireShapeError(`block of ${count} items cannot fit in ${cursor.remaining} bytes`);
      }
    } else {
      this.zeroSizeItems += count;
      if (this.zeroSizeItems > MAX_ZERO_SIZE_ITEMS)
        throw new WireShapeError('too many empty items');
    }
    return count;
  }
}

/**
 * Checks that `bytes[start..]` is exactly one well-bounded encoding of `writerType`.
 * Throws WireShapeError on truncation, impossible counts or lengths, or trailing bytes.
 */
export function checkWireShape(writerType: Type, bytes: Uint8Array, start: number): void {
  const cursor = new Cursor(bytes, start);
  walkerOf(writerType)(cursor);
  if (cursor.remaining !== 0) throw new WireShapeError(`${cursor.remaining} trailing bytes`);
}
