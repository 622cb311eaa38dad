import { describe, expect, it } from 'vitest';

import { parseCsvFields, quoteCsvField, splitCsvRows } from '../../../lib/model-batch/csv.ts';

describe('quoteCsvField', () => {
  it('quotes a field so that commas, quotes and line breaks come back from parsing', () => {
    const value = 'say "hi",\r\nthen\nleave';
    const quoted = quoteCsvField(value);
    expect(quoted).toBe('"say ""hi"",\r\nthen\nleave"');
    expect(splitCsvRows(quoted)).toEqual([quoted]);
    expect(parseCsvFields(quoted)).toEqual([value]);
  });

  it('quotes the empty string as a field, not as nothing', () => {
    expect(parseCsvFields(quoteCsvField(''))).toEqual(['']);
  });
});

describe('splitCsvRows', () => {
  it('splits at LF and CRLF outside quotes and keeps line breaks inside quoted fields', () => {
    expect(splitCsvRows('a,b\r\n"x\ny",z\nlast')).toEqual(['a,b', '"x\ny",z', 'last']);
  });

  it('does not make an empty row of the line break that ends the text', () => {
    expect(splitCsvRows('a\n')).toEqual(['a']);
    expect(splitCsvRows('a\n\n')).toEqual(['a', '']);
    expect(splitCsvRows('')).toEqual([]);
  });

  it('returns null when a quote is left open', () => {
    expect(splitCsvRows('a,"b\nc')).toBeNull();
  });
});

describe('parseCsvFields', () => {
  it('unquotes quoted fields and keeps empty ones', () => {
    expect(parseCsvFields('a,"b""c",,"d,e"')).toEqual(['a', 'b"c', '', 'd,e']);
    expect(parseCsvFields('')).toEqual(['']);
    expect(parseCsvFields('a,')).toEqual(['a', '']);
  });

  it.each(['a"b', '"a"b', '"a', 'x,"y"z'])('rejects malformed quoting in %j', (row) => {
    expect(parseCsvFields(row)).toBeNull();
  });
});
