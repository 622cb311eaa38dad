import { describe, expect, it } from 'vitest';
import { parsingCanonicalForm } from '../../../lib/codec/avro-codec.ts';
import {
  CRC64_AVRO_EMPTY,
  crc64Avro,
  fingerprintFromBytes,
  fingerprintToBytes,
  fingerprintToHex,
  fingerprintToSigned,
  rabinFingerprint,
} from '../../../lib/codec/rabin-fingerprint.ts';
import { randomBytes, seededRandom } from './helpers.ts';

// An independent, table-free rendering of the spec's description: start from the empty
// fingerprint, xor each byte into the low end, then do 8 single-bit reflected shifts, folding
// the polynomial back in whenever a 1 bit falls out.
function referenceFingerprint(bytes: Uint8Array): bigint {
  const poly = 0xc15d213aa4d7a795n;
  let fp = poly;
  for (const byte of bytes) {
    fp ^= BigInt(byte);
    for (let i = 0; i < 8; i++) fp = fp & 1n ? (fp >> 1n) ^ poly : fp >> 1n;
  }
  return fp;
}

// Signed 64-bit values as published in the Avro project's test data (schema-tests.txt) for the
// canonical forms of the primitive schemas and the empty record "foo".
const PUBLISHED: readonly (readonly [string, bigint])[] = [
  ['"null"', 7195948357588979594n],
  ['"boolean"', -6970731678124411036n],
  ['"int"', 8247732601305521295n],
  ['"long"', -3434872931120570953n],
  ['"float"', 5583340709985441680n],
  ['"double"', -8181574048448539266n],
  ['"bytes"', 5746618253357095269n],
  ['"string"', -8142146995180207161n],
  ['{"name":"foo","type":"record","fields":[]}', -4824392279771201922n],
];

describe('CRC-64-AVRO', () => {
  it('fingerprints the empty input as the spec constant', () => {
    expect(crc64Avro(new Uint8Array(0))).toBe(CRC64_AVRO_EMPTY);
  });

  it.each(PUBLISHED)('matches the published fingerprint of %s', (canonical, expected) => {
    expect(fingerprintToSigned(rabinFingerprint(canonical))).toBe(expected);
    expect(rabinFingerprint(canonical)).toBe(BigInt.asUintN(64, expected));
  });

  it('agrees with the bitwise reference algorithm on random inputs', () => {
    const random = seededRandom(64);
    for (let i = 0; i < 200; i++) {
      const bytes = randomBytes(random, Math.floor(random() * 64));
      expect(crc64Avro(bytes)).toBe(referenceFingerprint(bytes));
    }
  });

  it('fingerprints text as UTF-8', () => {
    const text = '{"name":"é€😀","type":"record","fields":[]}';
    expect(rabinFingerprint(text)).toBe(referenceFingerprint(new TextEncoder().encode(text)));
  });

  it('lays out "int" as the single-object header bytes of the Avro reference implementations', () => {
    // 0x7275d51a3f395c8f little-endian.
    expect(Array.from(fingerprintToBytes(rabinFingerprint('"int"')))).toEqual([
      0x8f, 0x5c, 0x39, 0x3f, 0x1a, 0xd5, 0x75, 0x72,
    ]);
    expect(fingerprintToHex(rabinFingerprint('"int"'))).toBe('7275d51a3f395c8f');
    expect(fingerprintToHex(rabinFingerprint('"null"'))).toBe('63dd24e7cc258f8a');
  });

  it('round-trips fingerprints through bytes, also at an offset', () => {
    const random = seededRandom(7);
    for (let i = 0; i < 50; i++) {
      const fp = crc64Avro(randomBytes(random, 16));
      const padded = new Uint8Array(11);
      padded.set(fingerprintToBytes(fp), 3);
      expect(fingerprintFromBytes(fingerprintToBytes(fp))).toBe(fp);
      expect(fingerprintFromBytes(padded, 3)).toBe(fp);
    }
    expect(() => fingerprintFromBytes(new Uint8Array(7))).toThrow(RangeError);
  });

  it('pads hex to 16 digits', () => {
    expect(fingerprintToHex(0x1fn)).toBe('000000000000001f');
  });
});

describe('Parsing Canonical Form', () => {
  it('uses full names, strips non-parsing attributes and orders keys as the spec says', () => {
    const schema = {
      doc: 'dropped',
      fields: [
        {
          default: 0,
          doc: 'dropped',
          name: 'at',
          order: 'descending',
          type: { logicalType: 'timestamp-millis', type: 'long' },
        },
        { name: 'kind', type: { symbols: ['A', 'B'], name: 'Kind', type: 'enum', default: 'A' } },
        { name: 'again', type: 'Kind' },
        {
          default: null,
          name: 'blob',
          type: [
            'null',
            {
              type: 'array',
              items: { type: 'map', values: { type: 'fixed', size: 4, name: 'F', namespace: 'z' } },
            },
          ],
        },
        { name: 'raw', type: { type: 'bytes' } },
      ],
      aliases: ['Old'],
      name: 'R',
      namespace: 'x.y',
      type: 'record',
    };
    expect(parsingCanonicalForm(schema)).toBe(
      '{"name":"x.y.R","type":"record","fields":[{"name":"at","type":"long"},' +
        '{"name":"kind","type":{"name":"x.y.Kind","type":"enum","symbols":["A","B"]}},' +
        '{"name":"again","type":"x.y.Kind"},' +
        '{"name":"blob","type":["null",{"type":"array","items":{"type":"map","values":{"name":"z.F","type":"fixed","size":4}}}]},' +
        '{"name":"raw","type":"bytes"}]}',
    );
  });

  it('reproduces the published fingerprint of a record from a non-canonical text', () => {
    const fp = rabinFingerprint(parsingCanonicalForm({ fields: [], type: 'record', name: 'foo' }));
    expect(fingerprintToSigned(fp)).toBe(-4824392279771201922n);
  });
});
