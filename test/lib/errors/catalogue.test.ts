import { describe, expect, it } from 'vitest';
import {
  DynabError,
  ERROR_CATALOGUE,
  isErrorCode,
  toDynabError,
  type ErrorCode,
} from '../../../lib/errors/catalogue.ts';

const CODES = Object.keys(ERROR_CATALOGUE) as ErrorCode[];

describe('ERROR_CATALOGUE', () => {
  it('gives every code a boolean retriable flag and a non-empty summary', () => {
    expect(CODES.length).toBeGreaterThan(0);
    for (const code of CODES) {
      const entry = ERROR_CATALOGUE[code];
      expect(typeof entry.retriable, code).toBe('boolean');
      expect(typeof entry.summary, code).toBe('string');
      expect(entry.summary.trim().length, code).toBeGreaterThan(0);
    }
  });

  it('uses SCREAMING_SNAKE_CASE codes', () => {
    for (const code of CODES) expect(code).toMatch(/^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$/);
  });

  it('has exactly these retriable codes (changing the set must be a conscious decision)', () => {
    const retriable = CODES.filter((code) => ERROR_CATALOGUE[code].retriable).sort();
    expect(retriable).toEqual(
      ['BROKER_UNAVAILABLE', 'ENDPOINT_THROTTLED', 'ENDPOINT_UNAVAILABLE', 'STORE_FAILURE'].sort(),
    );
  });

  it('contains the codes the services rely on', () => {
    for (const code of [
      'MALFORMED_MESSAGE',
      'UNKNOWN_SCHEMA',
      'INVALID_FIELD',
      'UNKNOWN_EXPERIMENT',
      'UNKNOWN_VARIANT',
      'PAYLOAD_TOO_LARGE',
      'CONFIG_INVALID',
      'INTERNAL',
    ]) {
      expect(isErrorCode(code), code).toBe(true);
    }
  });
});

describe('isErrorCode', () => {
  it('accepts catalogue codes and rejects anything else, including inherited keys', () => {
    for (const code of CODES) expect(isErrorCode(code)).toBe(true);
    expect(isErrorCode('NOPE')).toBe(false);
    expect(isErrorCode('internal')).toBe(false);
    expect(isErrorCode('')).toBe(false);
    expect(isErrorCode('toString')).toBe(false);
    expect(isErrorCode('__proto__')).toBe(false);
  });
});

describe('DynabError', () => {
  it.each(CODES)('carries code %s with its catalogue retriable flag', (code) => {
    const error = new DynabError(code, 'something happened');
    expect(error).toBeInstanceOf(Error);
    expect(error).toBeInstanceOf(DynabError);
    expect(error.name).toBe('DynabError');
    expect(error.code).toBe(code);
    expect(error.retriable).toBe(ERROR_CATALOGUE[code].retriable);
    expect(error.message).toBe('something happened');
    expect(error.cause).toBeUndefined();
  });

  it('keeps the cause', () => {
    const cause = new Error('socket hang up');
    const error = new DynabError('BROKER_UNAVAILABLE', 'no broker', { cause });
    expect(error.cause).toBe(cause);
    expect(error.retriable).toBe(true);
  });
});

describe('toDynabError', () => {
  it('returns a DynabError unchanged, ignoring the fallback', () => {
    const original = new DynabError('UNKNOWN_VARIANT', 'no such variant');
    expect(toDynabError(original)).toBe(original);
    expect(toDynabError(original, 'STORE_FAILURE')).toBe(original);
  });

  it('wraps other errors as INTERNAL by default, keeping message and cause', () => {
    const cause = new TypeError('x is undefined');
    const wrapped = toDynabError(cause);
    expect(wrapped).toBeInstanceOf(DynabError);
    expect(wrapped.code).toBe('INTERNAL');
    expect(wrapped.retriable).toBe(false);
    expect(wrapped.message).toBe('x is undefined');
    expect(wrapped.cause).toBe(cause);
  });

  it('wraps with the given fallback code and its retriable flag', () => {
    const cause = new Error('disk full');
    const wrapped = toDynabError(cause, 'STORE_FAILURE');
    expect(wrapped.code).toBe('STORE_FAILURE');
    expect(wrapped.retriable).toBe(true);
    expect(wrapped.cause).toBe(cause);
  });

  it('wraps thrown non-errors, stringifying them as the message', () => {
    const wrapped = toDynabError('plain string');
    expect(wrapped.code).toBe('INTERNAL');
    expect(wrapped.message).toBe('plain string');
    expect(wrapped.cause).toBe('plain string');
    expect(toDynabError(42, 'MALFORMED_MESSAGE').message).toBe('42');
    expect(toDynabError(undefined).message).toBe('undefined');
  });
});
