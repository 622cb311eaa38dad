import avro, { type Type } from 'avsc';
import { describe, expect, it } from 'vitest';
import { readBody } from '../../../lib/codec/body-reader.ts';
import { WireShapeError } from '../../../lib/codec/wire-guard.ts';
import { seededRandom } from './helpers.ts';

const type = (schema: unknown): Type => avro.Type.forSchema(schema as never, { wrapUnions: false });

const item = {
  type: 'record',
  name: 'Item',
  fields: [
    { name: 'name', type: 'string' },
    { name: 'weight', type: 'double' },
  ],
};
const rich = type({
  type: 'record',
  name: 'Rich',
  fields: [
    { name: 'id', type: 'string' },
    { name: 'tags', type: { type: 'map', values: { type: 'array', items: 'long' } } },
    { name: 'kind', type: { type: 'enum', name: 'Kind', symbols: ['A', 'B', 'C'] } },
    { name: 'digest', type: { type: 'fixed', name: 'Digest', size: 4 } },
    { name: 'maybe', type: ['null', 'double'] },
    { name: 'either', type: ['null', 'string', 'long', 'bytes'] },
    { name: 'flag', type: 'boolean' },
    { name: 'small', type: 'int' },
    { name: 'ratio', type: 'float' },
    { name: 'blob', type: 'bytes' },
    { name: 'items', type: { type: 'array', items: item } },
    { name: 'nothing', type: 'null' },
  ],
});

/** A linked list: a recursive record. */
const list = type({
  type: 'record',
  name: 'Node',
  fields: [
    { name: 'value', type: 'long' },
    { name: 'next', type: ['null', 'Node'] },
  ],
});

type Random = () => number;
const pick = <T>(random: Random, options: readonly T[]): T =>
  options[Math.floor(random() * options.length)] as T;
const LONGS = [
  0,
  1,
  -1,
  63,
  -64,
  64,
  2 ** 31,
  -(2 ** 31) - 1,
  2 ** 52,
  -(2 ** 52),
  1_796_000_000_000,
];
const STRINGS = ['', 'a', 'héllo wörld', '日本語のテキスト', '🙂 emoji', 'x'.repeat(300)];

function bytesOf(random: Random, length: number): Buffer {
  return Buffer.from(Array.from({ length }, () => Math.floor(random() * 256)));
}

/** A seeded value of `t` as avsc takes it (Buffers for bytes). */
function randomValue(t: Type, random: Random): unknown {
  const view = t as Type & {
    fields?: { name: string; type: Type }[];
    types?: Type[];
    itemsType?: Type;
    valuesType?: Type;
    symbols?: string[];
    size?: number;
  };
  switch (t.typeName) {
    case 'null':
      return null;
    case 'boolean':
      return random() < 0.5;
    case 'int':
      return pick(random, [0, 1, -1, 2 ** 31 - 1, -(2 ** 31), 300]);
    case 'long':
      return pick(random, LONGS);
    case 'float':
      return pick(random, [0, 1.5, -2.25, 1e10]);
    case 'double':
      return pick(random, [0, 0.1, -1e300, Number.MAX_VALUE, Number.MIN_VALUE]);
    case 'string':
      return pick(random, STRINGS);
    case 'bytes':
      return bytesOf(random, Math.floor(random() * 40));
    case 'fixed':
      return bytesOf(random, view.size ?? 0);
    case 'enum':
      return pick(random, view.symbols ?? []);
    case 'record':
      return Object.fromEntries(
        (view.fields ?? []).map((field) => [field.name, randomValue(field.type, random)]),
      );
    case 'union:unwrapped': {
      const branch = pick(random, view.types ?? []);
      return randomValue(branch, random);
    }
    case 'array':
      return Array.from({ length: Math.floor(random() * 4) }, () =>
        randomValue(view.itemsType ?? t, random),
      );
    case 'map':
      return Object.fromEntries(
        Array.from({ length: Math.floor(random() * 3) }, (_, i) => [
          `k${i}`,
          randomValue(view.valuesType ?? t, random),
        ]),
      );
    default:
      throw new Error(`no generator for ${t.typeName}`);
  }
}

/** avsc's decoded value in the plain shapes: Uint8Array for bytes, plain objects for records. */
function plain(value: unknown): unknown {
  if (Buffer.isBuffer(value)) return new Uint8Array(value);
  if (Array.isArray(value)) return value.map(plain);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, plain(inner)]));
  }
  return value;
}

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
