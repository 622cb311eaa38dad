import { describe, expect, it } from 'vitest';

import {
  ANSWER_CONTENT_TYPES,
  assembleBatchAnswer,
  assembleBatchBody,
  BATCH_CONTENT_TYPES,
  BATCH_FORMATS,
  batchBodyLength,
  decodeBatchBody,
  encodeBatchEntry,
  payloadKindOf,
  splitBatchAnswer,
  type AnswerFormat,
  type BatchFormat,
  type Payload,
} from '../../../lib/model-batch/batch-format.ts';
import { parseCsvFields } from '../../../lib/model-batch/csv.ts';
import { createSeededRandom } from '../../../lib/bandit/random.ts';

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);
const textOf = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);
const json = (value: unknown): Payload => ({
  body: utf8(JSON.stringify(value)),
  contentType: 'application/json',
});
const text = (value: string): Payload => ({ body: utf8(value), contentType: 'text/plain' });

/** The caller's request body, read back by the container. */
function roundTrip(format: BatchFormat, records: readonly Payload[]): readonly Payload[] {
  const entries = records.map((record) => {
    const entry = encodeBatchEntry(format, record.body, record.contentType);
    if (entry === null) throw new Error(`no ${format} entry for ${textOf(record.body)}`);
    return entry;
  });
  const body = assembleBatchBody(format, entries);
  expect(body.length).toBe(
    batchBodyLength(
      format,
      entries.length,
      entries.reduce((sum, entry) => sum + entry.length, 0),
    ),
  );
  const decoded = decodeBatchBody(body, BATCH_CONTENT_TYPES[format]);
  if (decoded.kind !== 'batch') throw new Error(`expected a batch, got ${decoded.kind}`);
  expect(decoded.format).toBe(format);
  return decoded.records;
}

// Payloads that break naive framing: line breaks, commas, quotes, backslashes, non-ASCII.
const AWKWARD_TEXT = 'Subject: "free", now\r\nline two\\n\n\tünïcödé ✓, end "';

describe('payloadKindOf', () => {
  it.each([
    ['application/json', 'json'],
    ['application/vnd.api+json; charset=utf-8', 'json'],
    ['text/csv', 'csv'],
    ['text/plain', 'text'],
    ['Text/Plain; charset="UTF-8"', 'text'],
    ['message/rfc822', 'text'],
    ['text/plain; charset=iso-8859-1', 'binary'],
    ['application/octet-stream', 'binary'],
    ['image/png', 'binary'],
    ['', 'binary'],
  ])('%j is %s', (contentType, kind) => {
    expect(payloadKindOf(contentType)).toBe(kind);
  });
});

describe('a text entry (jsonlines, instances)', () => {
  const strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  /** What the entry must be: the UTF-8 of JSON.stringify of the text, or none for invalid UTF-8. */
  const reference = (bytes: Uint8Array): Uint8Array | null => {
    let decoded: string;
    try {
      decoded = strict.decode(bytes);
    } catch {
      return null;
    }
    return utf8(JSON.stringify(decoded));
  };
  const expectReference = (bytes: Uint8Array): void => {
    for (const format of ['jsonlines', 'instances'] as const) {
      const entry = encodeBatchEntry(format, bytes, 'text/plain; charset=utf-8');
      const expected = reference(bytes);
      if (expected === null) {
        expect(entry).toBeNull();
        continue;
      }
      const actual = entry === null ? null : Buffer.from(entry);
      // The deep comparison only on a mismatch, to show where: on texts of a few hundred
      // kilobytes it takes seconds, Buffer.equals microseconds.
      if (!actual?.equals(expected)) expect(actual).toEqual(Buffer.from(expected));
    }
  };

  it('is the UTF-8 of JSON.stringify of the text, byte for byte, for every byte value', () => {
    for (let b = 0; b < 256; b++) expectReference(Uint8Array.of(0x61, b, 0x62));
    expectReference(utf8(`\uFEFF${AWKWARD_TEXT}\u2028\u2029\u007f\u0000😀`));
    expectReference(new Uint8Array(0));
  });

  it('refuses invalid UTF-8 as the strict decoder does (overlong, surrogate, truncated, too high)', () => {
    for (const bad of [
      [0xc0, 0xaf],
      [0xed, 0xa0, 0x80],
      [0xe2, 0x82],
      [0xf4, 0x90, 0x80, 0x80],
      [0xff],
    ]) {
      expectReference(Uint8Array.from(bad));
      expect(encodeBatchEntry('jsonlines', Uint8Array.from(bad), 'text/plain')).toBeNull();
    }
  });

  it('matches at every alignment of the bytes, with the odd byte before, inside or after the words', () => {
    // Texts long enough for the four-byte scan, viewed at offsets 0-3 of a larger buffer: the
    // bytes before the first aligned address take another path than the words.
    const body = 'plain words, "quoted", a\\b, caf\u00e9 \u2713 \u{1F600}\n'.repeat(3);
    const ascii = 'plain words, "quoted", a\\b\n'.repeat(3);
    const texts = [
      utf8(body),
      // An invalid byte, and nothing else above 0x7F: only it can call for the check.
      Uint8Array.from([0xff, ...utf8(ascii)]),
      Uint8Array.from([0x61, 0x62, 0xc3, ...utf8(ascii)]),
      Uint8Array.from([0xff, ...utf8(body)]),
      Uint8Array.from([0x61, 0xc3, ...utf8(body)]),
      Uint8Array.from([...utf8(body), 0xe2, 0x82]),
      Uint8Array.from([0xc3, 0xa9, ...utf8(body)]),
    ];
    for (const text of texts)
      for (let offset = 0; offset < 4; offset++) {
        const wider = new Uint8Array(text.length + 8);
        wider.set(text, offset);
        expectReference(wider.subarray(offset, offset + text.length));
      }
  });

  it('matches on seeded random texts, short and long (beyond the scratch buffer)', () => {
    const random = createSeededRandom(12);
    // Mostly ASCII with control characters, quotes and backslashes, some multi-byte characters,
    // and now and then a random byte (often invalid UTF-8).
    const alphabet = [
      'a',
      'Z',
      ' ',
      '"',
      '\\',
      '\n',
      '\r',
      '\t',
      '\u0001',
      '\u001f',
      'é',
      '✓',
      '😀',
    ];
    for (let round = 0; round < 200; round++) {
      const long = round % 50 === 0;
      const parts: Uint8Array[] = [];
      const count = long ? 60_000 : Math.floor(random() * 80);
      for (let i = 0; i < count; i++) {
        if (!long && random() < 0.01) parts.push(Uint8Array.of(Math.floor(random() * 256)));
        else parts.push(utf8(alphabet[Math.floor(random() * alphabet.length)] ?? ''));
      }
      const bytes = Buffer.concat(parts);
      if (long) expect(bytes.length).toBeGreaterThan(64 * 1024);
      expectReference(bytes);
      // The same text at each alignment in memory (long texts are read four bytes at a time
      // from the first aligned address).
      const shift = 1 + (round % 3);
      const padded = new Uint8Array(bytes.length + shift);
      padded.set(bytes, shift);
      expectReference(padded.subarray(shift));
    }
  });
});

describe('request round trips (caller encodes, container decodes)', () => {
  it.each(['jsonlines', 'instances'] as const)(
    '%s: text arrives as the same text, JSON as the same value',
    (format) => {
      const multiline = '{\n  "text": "a\\nb",\n  "n": [1, 2.5e3]\n}';
      const records: Payload[] = [
        text(AWKWARD_TEXT),
        { body: utf8(multiline), contentType: 'application/json' },
        text(''),
        json([1, { deep: [null, true] }]),
        { body: utf8('x, y'), contentType: 'message/rfc822' },
      ];
      const decoded = roundTrip(format, records);
      expect(decoded).toHaveLength(records.length);
      // A text entry carries its text as read, and the same text as UTF-8 bytes.
      expect(decoded[0]?.body).toEqual(utf8(AWKWARD_TEXT));
      expect(decoded[0]?.contentType).toBe('text/plain; charset=utf-8');
      expect(decoded[0]?.text).toBe(AWKWARD_TEXT);
      expect(decoded[1]?.contentType).toBe('application/json');
      expect(JSON.parse(textOf(decoded[1]?.body ?? utf8('')))).toEqual(JSON.parse(multiline));
      expect(textOf(decoded[2]?.body ?? utf8('x'))).toBe('');
      expect(JSON.parse(textOf(decoded[3]?.body ?? utf8('')))).toEqual([1, { deep: [null, true] }]);
      expect(textOf(decoded[4]?.body ?? utf8(''))).toBe('x, y');
    },
  );

  it('jsonlines: a newline inside a text record is escaped, so the body has one line per record', () => {
    const entry = encodeBatchEntry('jsonlines', utf8('one\ntwo'), 'text/plain');
    expect(textOf(entry ?? utf8(''))).toBe('"one\\ntwo"');
    const body = assembleBatchBody('jsonlines', [entry ?? utf8(''), utf8('{}')]);
    expect(textOf(body)).toBe('"one\\ntwo"\n{}\n');
  });

  it('csv: a text record is one quoted field, a CSV record its own row', () => {
    const row = 'a,"b\nc, ""d""",3';
    const decoded = roundTrip('csv', [
      text(AWKWARD_TEXT),
      { body: utf8(`${row}\r\n`), contentType: 'text/csv' },
      json({ text: 'q"uote' }),
    ]);
    expect(decoded.map((record) => record.contentType)).toEqual([
      'text/csv',
      'text/csv',
      'text/csv',
    ]);
    expect(parseCsvFields(textOf(decoded[0]?.body ?? utf8('')))).toEqual([AWKWARD_TEXT]);
    expect(textOf(decoded[1]?.body ?? utf8(''))).toBe(row);
    expect(parseCsvFields(textOf(decoded[2]?.body ?? utf8('')))).toEqual(['{"text":"q\\"uote"}']);
  });

  it.each<[BatchFormat, Payload]>([
    ['jsonlines', { body: utf8('\u0000\u0001'), contentType: 'application/octet-stream' }],
    ['jsonlines', { body: new Uint8Array([0x66, 0xff, 0x6f]), contentType: 'text/plain' }],
    ['jsonlines', { body: utf8('{"open": '), contentType: 'application/json' }],
    ['jsonlines', { body: utf8('a,b'), contentType: 'text/csv' }],
    ['jsonlines', { body: utf8('caf\u00e9'), contentType: 'text/plain; charset=latin1' }],
    ['instances', { body: utf8('not json'), contentType: 'application/json' }],
    ['csv', { body: utf8('a,b\nc,d'), contentType: 'text/csv' }],
    ['csv', { body: utf8('a,"b'), contentType: 'text/csv' }],
    ['csv', { body: utf8('a"b,c'), contentType: 'text/csv' }],
    ['csv', { body: utf8(''), contentType: 'text/csv' }],
    ['csv', { body: utf8('\n'), contentType: 'text/csv' }],
    ['csv', { body: new Uint8Array([0x89, 0x50]), contentType: 'image/png' }],
  ])('%s cannot carry %j: the record is sent alone', (format, record) => {
    expect(encodeBatchEntry(format, record.body, record.contentType)).toBeNull();
  });

  it('keeps a JSON record byte for byte where the format allows', () => {
    const body = utf8('{"id": 12345678901234567890, "x": 1.10}');
    expect(encodeBatchEntry('jsonlines', body, 'application/json')).toBe(body);
    expect(encodeBatchEntry('instances', body, 'application/json')).toBe(body);
  });
});

describe('answer round trips (container assembles, caller splits)', () => {
  const outputs: Payload[] = [
    json({ label: 'spam', score: 0.97 }),
    {
      body: utf8('{\n "label": "ham",\n "id": 12345678901234567890\n}'),
      contentType: 'application/json',
    },
    json('just a string, with "quotes"\n'),
  ];

  it.each<[AnswerFormat]>([['jsonlines'], ['predictions']])(
    '%s: one JSON output per record, in order, numbers untouched',
    (format) => {
      const body = assembleBatchAnswer(format, outputs);
      if (body === null) throw new Error('expected an answer');
      const split = splitBatchAnswer({ body, contentType: ANSWER_CONTENT_TYPES[format] }, 3);
      expect(split?.map((output) => output.contentType)).toEqual([
        'application/json',
        'application/json',
        'application/json',
      ]);
      expect(split?.map((output) => JSON.parse(textOf(output.body)) as unknown)).toEqual([
        { label: 'spam', score: 0.97 },
        { label: 'ham', id: 12345678901234567890 },
        'just a string, with "quotes"\n',
      ]);
      // The integer above 2^53 keeps its digits: entries are cut from the text, not re-printed.
      expect(textOf(split?.[1]?.body ?? utf8(''))).toContain('12345678901234567890');
    },
  );

  it('csv: one row per record, JSON outputs as quoted fields', () => {
    const body = assembleBatchAnswer('csv', [
      { body: utf8('spam,0.9'), contentType: 'text/csv' },
      json({ label: 'ham' }),
    ]);
    if (body === null) throw new Error('expected an answer');
    const split = splitBatchAnswer({ body, contentType: 'text/csv' }, 2);
    expect(split?.map((output) => textOf(output.body))).toEqual([
      'spam,0.9',
      '"{""label"":""ham""}"',
    ]);
  });

  it('refuses to carry a binary output', () => {
    const binary = { body: new Uint8Array([0, 1, 2]), contentType: 'application/octet-stream' };
    for (const format of ['jsonlines', 'csv', 'predictions'] as const) {
      expect(assembleBatchAnswer(format, [json(1), binary])).toBeNull();
    }
  });

  it('accepts a bare JSON array and CRLF-separated JSON lines', () => {
    expect(
      splitBatchAnswer(
        { body: utf8(' [1, {"a": [2, "]"]}] '), contentType: 'application/json' },
        2,
      )?.map((output) => textOf(output.body)),
    ).toEqual(['1', '{"a": [2, "]"]}']);
    expect(
      splitBatchAnswer(
        { body: utf8('{"a":1}\r\n{"b":2}'), contentType: 'application/x-jsonlines' },
        2,
      )?.map((output) => textOf(output.body)),
    ).toEqual(['{"a":1}', '{"b":2}']);
  });
});

describe('an answer that does not hold one output per record', () => {
  const lines = (n: number): Payload => ({
    body: utf8(Array.from({ length: n }, (_, i) => `{"i":${i}}\n`).join('')),
    contentType: 'application/jsonlines',
  });

  it('is refused when it has too few or too many entries, in every format', () => {
    expect(splitBatchAnswer(lines(3), 3)).toHaveLength(3);
    expect(splitBatchAnswer(lines(2), 3)).toBeNull();
    expect(splitBatchAnswer(lines(4), 3)).toBeNull();
    const predictions = (n: number): Payload =>
      json({ predictions: Array.from({ length: n }, (_, i) => i) });
    expect(splitBatchAnswer(predictions(3), 3)).toHaveLength(3);
    expect(splitBatchAnswer(predictions(1), 3)).toBeNull();
    expect(splitBatchAnswer({ body: utf8('a\nb\n'), contentType: 'text/csv' }, 3)).toBeNull();
  });

  it.each<[string, Payload]>([
    [
      'a blank line between JSON lines',
      { body: utf8('{}\n\n{}\n'), contentType: 'application/jsonlines' },
    ],
    ['one JSON document for the whole batch', json({ label: 'spam' })],
    ['predictions that are not an array', json({ predictions: 'x' })],
    [
      'JSON that does not parse',
      { body: utf8('{"predictions": [1, 2'), contentType: 'application/json' },
    ],
    [
      'an unquoted CSV answer with an open quote',
      { body: utf8('a\n"b\n'), contentType: 'text/csv' },
    ],
    [
      'an answer type with no per-record split',
      { body: utf8('1\n2\n'), contentType: 'text/plain' },
    ],
  ])('is refused for %s', (_, answer) => {
    expect(splitBatchAnswer(answer, 2)).toBeNull();
  });
});

describe('decodeBatchBody (the container side)', () => {
  it.each<[string, Payload]>([
    ['plain text', text('a\nb\nc')],
    ['JSON without instances', json({ text: 'hi', instances: 'not a list' })],
    [
      'JSON that does not parse',
      { body: utf8('{"instances": ['), contentType: 'application/json' },
    ],
    ['a single CSV row', { body: utf8('a,b\n'), contentType: 'text/csv' }],
    ['binary', { body: new Uint8Array([1, 2]), contentType: 'application/octet-stream' }],
  ])('leaves %s as one record, as before batching', (_, payload) => {
    expect(decodeBatchBody(payload.body, payload.contentType)).toEqual({ kind: 'single' });
  });

  it.each<[string, Payload]>([
    ['a line that is not JSON', { body: utf8('{}\nnope\n'), contentType: 'application/jsonlines' }],
    ['an empty JSON lines body', { body: utf8(''), contentType: 'application/jsonlines' }],
    ['CSV with an open quote', { body: utf8('a\n"b\n'), contentType: 'text/csv' }],
    ['CSV with an empty row', { body: utf8('a\n\nb\n'), contentType: 'text/csv' }],
    ['empty instances', json({ instances: [] })],
  ])('reports %s as malformed', (_, payload) => {
    expect(decodeBatchBody(payload.body, payload.contentType)).toMatchObject({ kind: 'malformed' });
  });

  it('reads every format the caller writes', () => {
    for (const format of BATCH_FORMATS) {
      expect(roundTrip(format, [text('a'), text('b')])).toHaveLength(2);
    }
  });
});
