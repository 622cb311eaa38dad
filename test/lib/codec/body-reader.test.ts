import type { Type } from 'avsc';
import { describe, expect, it } from 'vitest';
import { readBody } from '../../../lib/codec/body-reader.ts';
import { WireShapeError } from '../../../lib/codec/wire-guard.ts';
import { seededRandom } from './helpers.ts';
import { list, plain, randomValue, rich, type } from './schema-values.ts';

const asPlainBytes = (value: unknown): unknown => {
  if (value instanceof Uint8Array) return new Uint8Array(value);
  if (Array.isArray(value)) return value.map(asPlainBytes);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, inner]) => [key, asPlainBytes(inner)]),
    );
  }
  return value;
};

describe('body reader', () => {
  it('reads what avsc reads, in the plain shapes, in both bytes modes', () => {
    const random = seededRandom(7);
    for (let i = 0; i < 300; i++) {
      const value = randomValue(rich, random);
      const bytes = rich.toBuffer(value);
      const expected = plain(rich.fromBuffer(bytes));
      for (const mode of ['copy', 'view'] as const) {
        const read = readBody(rich, bytes, 0, mode);
        // Typed arrays are compared as plain Uint8Array, whatever view or copy holds them.
        expect(asPlainBytes(read)).toStrictEqual(expected);
      }
    }
  });

  it('gives records the fields in schema order, as plain objects', () => {
    const bytes = rich.toBuffer(randomValue(rich, seededRandom(1)));
    const read = readBody(rich, bytes, 0, 'copy') as Record<string, unknown>;
    expect(Object.getPrototypeOf(read)).toBe(Object.prototype);
    expect(Object.keys(read)).toEqual(
      (rich as Type & { fields: { name: string }[] }).fields.map((f) => f.name),
    );
  });

  it('copies bytes in copy mode and views the input in view mode', () => {
    const blobType = type({ type: 'record', name: 'B', fields: [{ name: 'blob', type: 'bytes' }] });
    const bytes = Buffer.concat([Buffer.of(9, 9), blobType.toBuffer({ blob: Buffer.of(1, 2, 3) })]);
    const copied = readBody(blobType, bytes, 2, 'copy') as { blob: Uint8Array };
    const viewed = readBody(blobType, bytes, 2, 'view') as { blob: Uint8Array };
    expect(Buffer.isBuffer(copied.blob)).toBe(false);
    expect(Buffer.isBuffer(viewed.blob)).toBe(false);
    bytes[bytes.length - 1] = 7;
    expect([...copied.blob]).toEqual([1, 2, 3]);
    expect([...viewed.blob]).toEqual([1, 2, 7]);
  });

  it('reads each string field right through repeats, same-length changes and runs of ids', () => {
    const named = type({
      type: 'record',
      name: 'Named',
      fields: [
        { name: 'id', type: 'string' },
        { name: 'experiment', type: 'string' },
      ],
    });
    const experiments = [
      'spam',
      'spam',
      'spaM',
      'spam',
      'ham',
      'ham',
      'é'.repeat(40),
      'é'.repeat(40),
    ];
    for (let i = 0; i < 3_000; i++) {
      // Ids change every time (the field pauses its comparison after a run of them); the
      // experiment repeats, changes to another of the same length, and goes past 64 bytes.
      const value = {
        id: `id-${i % 1_000}`,
        experiment: experiments[i % experiments.length] ?? '',
      };
      for (const mode of ['copy', 'view'] as const) {
        expect(readBody(named, named.toBuffer(value), 0, mode)).toEqual(value);
      }
    }
  });

  it('reads recursive records', () => {
    const value = { value: 1, next: { value: -2, next: { value: 2 ** 40, next: null } } };
    expect(readBody(list, list.toBuffer(value), 0, 'copy')).toEqual(value);
  });

  it('reads longs exactly up to ±(2^53 - 1) and refuses beyond', () => {
    const longType = type('long');
    // Zig-zag varints written by hand: avsc's own writer rounds odd values above 2^53.
    const varint = (zigzag: bigint): Buffer => {
      const out: number[] = [];
      let rest = zigzag;
      while (rest >= 0x80n) {
        out.push(Number(rest & 0x7fn) | 0x80);
        rest >>= 7n;
      }
      out.push(Number(rest));
      return Buffer.from(out);
    };
    const encode = (n: bigint): Buffer => varint(n >= 0n ? 2n * n : -2n * n - 1n);
    for (const n of [
      0n,
      -1n,
      2n ** 27n,
      -(2n ** 27n) - 1n,
      2n ** 28n,
      2n ** 52n + 1n,
      BigInt(Number.MAX_SAFE_INTEGER),
      BigInt(Number.MIN_SAFE_INTEGER),
    ]) {
      expect(readBody(longType, encode(n), 0, 'copy')).toBe(Number(n));
    }
    for (const n of [2n ** 53n, -(2n ** 53n), 2n ** 62n]) {
      expect(() => readBody(longType, encode(n), 0, 'copy')).toThrow(/out of range/);
    }
    expect(() => readBody(longType, Buffer.alloc(11, 0xff), 0, 'copy')).toThrow(/longer than 10/);
  });

  it('refuses ints beyond 32 bits and boolean bytes other than 0 and 1', () => {
    expect(() => readBody(type('int'), type('long').toBuffer(2 ** 31), 0, 'copy')).toThrow(
      /int .* out of range/,
    );
    expect(readBody(type('boolean'), Buffer.of(1), 0, 'copy')).toBe(true);
    expect(() => readBody(type('boolean'), Buffer.of(2), 0, 'copy')).toThrow(/boolean byte 2/);
  });

  it('refuses every truncation, trailing bytes, and bad union and enum indices', () => {
    const bytes = rich.toBuffer(randomValue(rich, seededRandom(3)));
    for (let length = 0; length < bytes.length; length++) {
      expect(() => readBody(rich, bytes.subarray(0, length), 0, 'copy')).toThrow(WireShapeError);
    }
    expect(() => readBody(rich, Buffer.concat([bytes, Buffer.of(0)]), 0, 'copy')).toThrow(
      /1 trailing bytes/,
    );
    const union = type(['null', 'string']);
    expect(() => readBody(union, Buffer.of(4), 0, 'copy')).toThrow(/union index 2/);
    const kind = type({ type: 'enum', name: 'K', symbols: ['A'] });
    expect(() => readBody(kind, Buffer.of(2), 0, 'copy')).toThrow(/enum index 1/);
  });

  it('refuses block counts the bytes left cannot hold, before reading any item', () => {
    const longs = type({ type: 'array', items: 'long' });
    // 2^40 items claimed in 3 bytes.
    expect(() =>
      readBody(longs, Buffer.of(0x80, 0x80, 0x80, 0x80, 0x80, 0x40, 2, 0), 0, 'copy'),
    ).toThrow(/cannot fit/);
    // A negative count with its byte size, then the items: [1, 2].
    expect(readBody(longs, Buffer.of(3, 4, 2, 4, 0), 0, 'copy')).toEqual([1, 2]);
  });

  it('keeps a map key "__proto__" as an own property', () => {
    const map = type({ type: 'map', values: 'long' });
    const read = readBody(map, map.toBuffer({ ['__proto__']: 5, a: 1 }), 0, 'copy') as Record<
      string,
      unknown
    >;
    expect(Object.getPrototypeOf(read)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(read, '__proto__')?.value).toBe(5);
    expect(read['a']).toBe(1);
  });
});
