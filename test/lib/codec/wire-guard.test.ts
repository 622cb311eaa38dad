import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { checkWireShape, hasBlocks, WireShapeError } from '../../../lib/codec/wire-guard.ts';

const type = (schema: unknown) => avro.Type.forSchema(schema as never, { wrapUnions: false });

const rich = type({
  type: 'record',
  name: 'Rich',
  fields: [
    { name: 'tags', type: { type: 'map', values: { type: 'array', items: 'long' } } },
    { name: 'kind', type: { type: 'enum', name: 'Kind', symbols: ['A', 'B'] } },
    { name: 'id', type: { type: 'fixed', name: 'Id', size: 4 } },
    { name: 'maybe', type: ['null', 'double'] },
    { name: 'flag', type: 'boolean' },
    { name: 'ratio', type: 'float' },
    { name: 'blob', type: 'bytes' },
  ],
});
const richValue = {
  tags: { a: [1, -2, 2 ** 40], b: [] },
  kind: 'B',
  id: Buffer.of(1, 2, 3, 4),
  maybe: 0.5,
  flag: true,
  ratio: 1.5,
  blob: Buffer.of(9),
};

describe('wire guard', () => {
  it('detects whether a type has blocks', () => {
    expect(hasBlocks(rich)).toBe(true);
    expect(
      hasBlocks(
        type({ type: 'record', name: 'Flat', fields: [{ name: 'a', type: ['null', 'string'] }] }),
      ),
    ).toBe(false);
  });

  it('accepts every valid encoding exactly', () => {
    const bytes = rich.toBuffer(richValue);
    expect(() => checkWireShape(rich, bytes, 0)).not.toThrow();
    const prefixed = Buffer.concat([Buffer.of(7, 7), bytes]);
    expect(() => checkWireShape(rich, prefixed, 2)).not.toThrow();
  });

  it('rejects every truncation and trailing bytes', () => {
    const bytes = rich.toBuffer(richValue);
    for (let length = 0; length < bytes.length; length++) {
      expect(() => checkWireShape(rich, bytes.subarray(0, length), 0)).toThrow(WireShapeError);
    }
    expect(() => checkWireShape(rich, Buffer.concat([bytes, Buffer.of(0)]), 0)).toThrow(/trailing/);
  });

  it('accepts negative block counts followed by a fitting byte size', () => {
    const longs = type({ type: 'array', items: 'long' });
    // -2 items (zig-zag 3), block of 2 bytes, items 1 and 2 (zig-zag 2, 4), end.
    expect(() => checkWireShape(longs, Buffer.of(3, 4, 2, 4, 0), 0)).not.toThrow();
    expect(() => checkWireShape(longs, Buffer.of(3, 100, 2, 4, 0), 0)).toThrow(/block size/);
  });

  it('rejects out-of-range enum and union indexes and over-long varints', () => {
    const kind = type({ type: 'enum', name: 'K', symbols: ['A'] });
    expect(() => checkWireShape(kind, Buffer.of(2), 0)).toThrow(/enum/);
    expect(() => checkWireShape(type(['null', 'long']), Buffer.of(4), 0)).toThrow(/union/);
    expect(() => checkWireShape(type('long'), Buffer.alloc(11, 0x80), 0)).toThrow(WireShapeError);
  });

  it('walks recursive records, and the same type again with another walk', () => {
    const list = type({
      type: 'record',
      name: 'Cell',
      fields: [
        { name: 'values', type: { type: 'array', items: 'long' } },
        { name: 'next', type: ['null', 'Cell'] },
      ],
    });
    const value = { values: [1, 2], next: { values: [3], next: { values: [], next: null } } };
    const bytes = list.toBuffer(value);
    for (let round = 0; round < 2; round++) {
      expect(() => checkWireShape(list, bytes, 0)).not.toThrow();
      for (let length = 0; length < bytes.length; length++)
        expect(() => checkWireShape(list, bytes.subarray(0, length), 0)).toThrow(WireShapeError);
    }
    // The innermost cell's empty array claims 63 items, with one byte left.
    const lying = Buffer.from(bytes);
    lying[lying.length - 2] = 0x7e;
    expect(() => checkWireShape(list, lying, 0)).toThrow(/cannot fit/);
  });

  it('caps arrays of zero-size items', () => {
    const nulls = type({ type: 'array', items: 'null' });
    expect(() => checkWireShape(nulls, nulls.toBuffer([null, null]), 0)).not.toThrow();
    // 2^30 nulls take no bytes at all.
    expect(() => checkWireShape(nulls, Buffer.of(0x80, 0x80, 0x80, 0x80, 0x08, 0), 0)).toThrow(
      /empty items/,
    );
  });
});
