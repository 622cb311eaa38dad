import type { Type } from 'avsc';
import { describe, expect, it } from 'vitest';
import { readBody } from '../../../lib/codec/body-reader.ts';
import { compileWriter, Output, RefusedValue, type Write } from '../../../lib/codec/body-writer.ts';
import { seededRandom } from './helpers.ts';
import { list, plain, randomValue, rich, type, writable } from './schema-values.ts';

function writerOf(t: Type): Write {
  const write = compileWriter(t);
  if (write === undefined) throw new Error('no fast writer');
  return write;
}

function written(t: Type, value: unknown, initialBytes = 16): Buffer {
  const out = new Output(initialBytes);
  writerOf(t)(out, value);
  return out.buffer.subarray(0, out.pos);
}

describe('body writer', () => {
  it('writes the bytes avsc writes, from the plain shapes', () => {
    const random = seededRandom(11);
    for (let i = 0; i < 300; i++) {
      const value = randomValue(writable, random);
      // avsc takes Buffers; the writer takes the plain Uint8Array a decoded value carries.
      expect(written(writable, plain(value)).equals(writable.toBuffer(value))).toBe(true);
    }
  });

  it('writes recursive records', () => {
    const value = { value: 1, next: { value: -2, next: { value: 2 ** 40, next: null } } };
    expect(written(list, value).equals(list.toBuffer(value))).toBe(true);
  });

  it('writes the defaults of missing fields, as avsc does', () => {
    const value = randomValue(writable, seededRandom(5)) as Record<string, unknown>;
    const { names, revision, label, ...missing } = value;
    expect([names, revision, label].every((field) => field !== undefined)).toBe(true);
    expect(written(writable, plain(missing)).equals(writable.toBuffer(missing))).toBe(true);
    const decoded = readBody(writable, written(writable, plain(missing)), 0, 'copy');
    expect(decoded).toMatchObject({ names: [], revision: null, label: 'none' });
  });

  it('writes longs exactly, up to ±(2^53 - 1)', () => {
    const longType = type('long');
    const edges = [0, -1, 2 ** 30 - 1, 2 ** 30, -(2 ** 30), -(2 ** 30) - 1, 2 ** 31, 2 ** 52];
    for (const n of [...edges, ...edges.map((e) => -e)]) {
      expect(written(longType, n).equals(longType.toBuffer(n))).toBe(true);
    }
    // Beyond 2^52 avsc's own writer rounds odd values; the reader checks these exactly.
    for (const n of [Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, 2 ** 53 - 2]) {
      expect(readBody(longType, written(longType, n), 0, 'copy')).toBe(n);
    }
  });

  it('writes strings of every length and script around the one-byte length prefix', () => {
    const stringType = type('string');
    const pieces = ['a', 'é', '日', '🙂'];
    for (const piece of pieces) {
      for (let count = 0; count <= 70; count++) {
        const text = piece.repeat(count);
        expect(
          written(stringType, text).equals(stringType.toBuffer(text)),
          `${piece} × ${count}`,
        ).toBe(true);
        expect(readBody(stringType, written(stringType, text), 0, 'copy')).toBe(text);
      }
    }
  });

  it('refuses short strings with a lone surrogate (avsc then writes them its way)', () => {
    const stringType = type('string');
    for (const text of ['\ud800', 'a\udc00b', 'x\ud83d', '\ude42🙂']) {
      expect(() => written(stringType, text)).toThrow(RefusedValue);
    }
    // A longer one goes through Node's encoder, as avsc's does: the same bytes.
    const long = `${'x'.repeat(70)}\ud800`;
    expect(written(stringType, long).equals(stringType.toBuffer(long))).toBe(true);
  });

  it('grows its output past the initial size', () => {
    const value = { ...(randomValue(writable, seededRandom(2)) as object), id: 'x'.repeat(20_000) };
    expect(written(writable, plain(value), 1).equals(writable.toBuffer(value))).toBe(true);
  });

  it('refuses what avsc refuses', () => {
    const base = randomValue(writable, seededRandom(8)) as Record<string, unknown>;
    const wrong: Record<string, unknown[]> = {
      id: [5, null, undefined],
      tags: [[], null, { a: ['x'] }],
      kind: ['D', 0],
      digest: [Uint8Array.of(1, 2, 3), 'abcd'],
      maybe: ['0.5', undefined],
      flag: [1, 'true'],
      small: [2 ** 31, 1.5, '1'],
      ratio: ['1.5'],
      blob: ['text', [1, 2]],
      items: [{}, [{ name: 'a' }], [{ name: 1, weight: 1 }]],
      nothing: [0, undefined],
      names: [[1], 'a'],
      revision: [1.5, 'x', 2 ** 53],
      label: [7],
    };
    for (const [field, values] of Object.entries(wrong)) {
      for (const bad of values) {
        const value = { ...base, [field]: bad };
        expect(() => written(writable, plain(value)), `${field}: ${String(bad)}`).toThrow(
          RefusedValue,
        );
        expect(writable.isValid(value), `${field}: ${String(bad)}`).toBe(false);
      }
    }
    for (const notRecord of [null, 'record', 5]) {
      expect(() => written(writable, notRecord)).toThrow(RefusedValue);
    }
  });

  it('leaves unions of several non-null branches to avsc', () => {
    expect(compileWriter(rich)).toBeUndefined();
    expect(compileWriter(type(['null', 'string', 'long']))).toBeUndefined();
    expect(compileWriter(type(['string', 'null']))).toBeDefined();
  });
});
