import { describe, expect, it } from 'vitest';
import {
  MAX_PATH_SEGMENTS,
  parseJsonPath,
  readPath,
  type JsonPath,
} from '../../../../services/label-ingestion/core/json-path.ts';

function path(text: string): JsonPath {
  const parsed = parseJsonPath(text);
  if ('problem' in parsed) throw new Error(parsed.problem);
  return parsed;
}

describe('parseJsonPath', () => {
  it('reads members, quoted members and indexes', () => {
    expect(path('$').segments).toEqual([]);
    expect(path('$.a.b_c-d[2]["x y"]').segments).toEqual([
      { member: 'a' },
      { member: 'b_c-d' },
      { index: 2 },
      { member: 'x y' },
    ]);
    expect(path('$["a\\"b"]').segments).toEqual([{ member: 'a"b' }]);
  });

  it.each([
    ['a.b', 'must start with $'],
    ['$.*', 'member name'],
    ['$..a', 'member name'],
    ['$[*]', 'no wildcards'],
    ['$[?(@.a)]', 'no wildcards'],
    ['$[01]', 'array index'],
    ['$.a b', 'expected "." or "["'],
    ['$["a"', 'quoted name'],
  ])('rejects %s', (text, problem) => {
    const parsed = parseJsonPath(text);
    expect('problem' in parsed && parsed.problem).toContain(problem);
  });

  it('bounds the length and the number of steps', () => {
    expect(parseJsonPath(`$${'.a'.repeat(MAX_PATH_SEGMENTS + 1)}`)).toHaveProperty('problem');
    expect(parseJsonPath(`$.${'a'.repeat(300)}`)).toHaveProperty('problem');
  });
});

describe('readPath', () => {
  const doc = { a: { b: [10, { c: 'x' }] }, 'x y': true };
  it('follows the steps and gives undefined for a missing one', () => {
    expect(readPath(doc, path('$.a.b[1].c'))).toBe('x');
    expect(readPath(doc, path('$["x y"]'))).toBe(true);
    expect(readPath(doc, path('$.a.b[5]'))).toBeUndefined();
    expect(readPath(doc, path('$.a[0]'))).toBeUndefined();
    expect(readPath(doc, path('$.a.b.c'))).toBeUndefined();
  });
  it('never reaches prototypes', () => {
    expect(readPath({}, path('$.constructor'))).toBeUndefined();
    expect(readPath({}, path('$.__proto__'))).toBeUndefined();
  });
});
