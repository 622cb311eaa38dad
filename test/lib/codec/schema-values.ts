// Schemas that use every Avro type the codec meets, and seeded values of them, shared by the
// body reader's and body writer's tests (both are compared with avsc on them).
import avro, { type Type } from 'avsc';

export const type = (schema: unknown): Type =>
  avro.Type.forSchema(schema as never, { wrapUnions: false });

const item = {
  type: 'record',
  name: 'Item',
  fields: [
    { name: 'name', type: 'string' },
    { name: 'weight', type: 'double' },
  ],
};
export const rich = type({
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
export const list = type({
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
export function randomValue(t: Type, random: Random): unknown {
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
export function plain(value: unknown): unknown {
  if (Buffer.isBuffer(value)) return new Uint8Array(value);
  if (Array.isArray(value)) return value.map(plain);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, plain(inner)]));
  }
  return value;
}

/** `rich` without its union of several non-null branches (which only avsc writes), and with defaults. */
export const writable = type({
  type: 'record',
  name: 'Writable',
  fields: [
    ...(rich as Type & { fields: { name: string; type: Type }[] }).fields
      .filter((field) => field.name !== 'either')
      .map((field) => ({ name: field.name, type: field.type })),
    { name: 'names', type: { type: 'array', items: 'string' }, default: [] },
    { name: 'revision', type: ['null', 'long'], default: null },
    { name: 'label', type: 'string', default: 'none' },
  ],
});
