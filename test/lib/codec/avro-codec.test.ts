import { readFileSync, readdirSync } from 'node:fs';
import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import {
  loadCodecs,
  parsingCanonicalForm,
  peekFingerprintHex,
  SINGLE_OBJECT_HEADER_LENGTH,
  STREAM_NAMES,
  type StreamName,
} from '../../../lib/codec/avro-codec.ts';
import { fingerprintToBytes, rabinFingerprint } from '../../../lib/codec/rabin-fingerprint.ts';
import { ENDPOINT_CHOOSES } from '../../../lib/contracts/events.ts';
import { DynabError } from '../../../lib/errors/catalogue.ts';
import {
  ALTERNATE_SAMPLES,
  expectDynabError,
  randomBytes,
  SAMPLES,
  seededRandom,
} from './helpers.ts';

const SCHEMA_DIR = new URL('../../../schemas/', import.meta.url);
const readSchema = (stream: StreamName) =>
  JSON.parse(readFileSync(new URL(`${stream}.avsc`, SCHEMA_DIR), 'utf8')) as Record<
    string,
    unknown
  >;

const codecs = loadCodecs();

/** Single-object bytes for an arbitrary avsc value, bypassing the codec's own checks. */
function rawMessage(schema: object, value: unknown): Buffer {
  const type = avro.Type.forSchema(schema as never, { wrapUnions: false });
  const fp = fingerprintToBytes(rabinFingerprint(parsingCanonicalForm(schema as never)));
  return Buffer.concat([Buffer.of(0xc3, 0x01), fp, type.toBuffer(value)]);
}

describe('schema files', () => {
  it('has exactly one schema per stream', () => {
    const files = readdirSync(SCHEMA_DIR).filter((name) => name.endsWith('.avsc'));
    expect(files.sort()).toEqual(STREAM_NAMES.map((stream) => `${stream}.avsc`).sort());
  });

  it.each(STREAM_NAMES)(
    '%s: namespace dynab.v1, every field documented, nullable fields default to null',
    (stream) => {
      const schema = readSchema(stream);
      expect(schema['namespace']).toBe('dynab.v1');
      expect(schema['doc']).toEqual(expect.any(String));
      const visit = (record: Record<string, unknown>): void => {
        for (const field of record['fields'] as Record<string, unknown>[]) {
          expect(field['doc'], `${String(record['name'])}.${String(field['name'])}`).toEqual(
            expect.any(String),
          );
          const type = field['type'];
          if (Array.isArray(type) && type[0] === 'null') {
            expect(field).toHaveProperty('default', null);
          }
          const nested: unknown[] = [type, ...(Array.isArray(type) ? (type as unknown[]) : [])];
          for (const candidate of nested) {
            if (typeof candidate !== 'object' || candidate === null) continue;
            const inner = candidate as Record<string, unknown>;
            if (inner['type'] === 'record') visit(inner);
            const items = inner['items'] as Record<string, unknown> | undefined;
            if (items?.['type'] === 'record') visit(items);
          }
        }
      };
      visit(schema);
    },
  );

  it('embeds the request schema unchanged in the assignment schema', () => {
    const assignment = readSchema('assignment');
    const field = (assignment['fields'] as { name: string; type: unknown }[]).find(
      (f) => f.name === 'request',
    );
    expect(field?.type).toEqual(readSchema('request'));
  });
});

describe('round trips', () => {
  const cases = STREAM_NAMES.flatMap((stream) => {
    const alternate = ALTERNATE_SAMPLES[stream];
    return [
      [stream, 'sample', SAMPLES[stream]] as const,
      ...(alternate === undefined ? [] : [[stream, 'alternate', alternate] as const]),
    ];
  });

  it.each(cases)('%s (%s) decodes to what was encoded', (stream, _label, value) => {
    const codec = codecs[stream] as { encode(v: unknown): Buffer; decode(b: Uint8Array): unknown };
    expect(codec.decode(codec.encode(value))).toEqual(value);
  });

  it('returns plain objects, plain number times and Uint8Array bytes that share nothing with the input', () => {
    // A small payload (avsc's pooled path) and one past its 4 KiB pool slabs.
    for (const payload of [SAMPLES.request.payload, new Uint8Array(9_000).fill(7)]) {
      const request = { ...SAMPLES.request, payload };
      const bytes = codecs.request.encode(request);
      const decoded = codecs.request.decode(bytes);
      expect(Object.getPrototypeOf(decoded)).toBe(Object.prototype);
      expect(typeof decoded.eventTime).toBe('number');
      expect(decoded.payload).toBeInstanceOf(Uint8Array);
      expect(Buffer.isBuffer(decoded.payload)).toBe(false);
      // The caller reusing its buffer must not alter the result, nor a second decode.
      bytes.fill(0, SINGLE_OBJECT_HEADER_LENGTH);
      const again = codecs.request.decode(codecs.request.encode(SAMPLES.request));
      expect(decoded.payload).toEqual(payload);
      expect(again.payload).toEqual(SAMPLES.request.payload);
    }
  });

  it('returns nested records as plain objects', () => {
    const decoded = codecs.posterior.decode(codecs.posterior.encode(SAMPLES.posterior));
    expect(Object.getPrototypeOf(decoded.variants[0])).toBe(Object.prototype);
    const prediction = codecs.prediction.decode(
      codecs.prediction.encode(ALTERNATE_SAMPLES.prediction!),
    );
    expect(Object.getPrototypeOf(prediction.error)).toBe(Object.prototype);
  });

  it('carries a fallback decision, which asks for no variant, in the variant strings', () => {
    const assignment = {
      ...SAMPLES.assignment,
      variant: ENDPOINT_CHOOSES,
      policy: 'fallback-weights' as const,
      propensity: 1,
      allocation: [],
      shadowVariants: [],
    };
    expect(codecs.assignment.decode(codecs.assignment.encode(assignment))).toEqual(assignment);
    const prediction = { ...SAMPLES.prediction, requestedVariant: ENDPOINT_CHOOSES };
    expect(codecs.prediction.decode(codecs.prediction.encode(prediction))).toEqual(prediction);
  });

  it('encodes messages of any size one after another, none overwriting another', () => {
    // Past the 64 KiB the encoder starts with, and back below it.
    const sizes = [10, 200_000, 3, 300_000, 50];
    const payloadOf = (n: number): Uint8Array => new Uint8Array(n).fill(n % 251);
    const encoded = sizes.map((n) =>
      codecs.request.encode({ ...SAMPLES.request, payload: payloadOf(n) }),
    );
    encoded.forEach((bytes, i) => {
      const n = sizes[i] ?? 0;
      const decoded = codecs.request.decode(bytes);
      expect(Buffer.from(decoded.payload).equals(Buffer.from(payloadOf(n))), `size ${n}`).toBe(
        true,
      );
    });
  });

  it('leaves the value it encodes as it was', () => {
    const payload = Uint8Array.of(1, 2, 3);
    const request = { ...SAMPLES.request, payload };
    const assignment = { ...SAMPLES.assignment, request };
    codecs.assignment.encode(assignment);
    expect(assignment.request).toBe(request);
    expect(request.payload).toBe(payload);
    expect(Buffer.isBuffer(request.payload)).toBe(false);
  });

  it('accepts Buffers and offset views for bytes fields and for input', () => {
    const backing = new Uint8Array([9, 9, 1, 2, 3, 9]);
    const view = backing.subarray(2, 5);
    const encoded = codecs.request.encode({ ...SAMPLES.request, payload: view });
    expect(codecs.request.decode(encoded).payload).toEqual(Uint8Array.of(1, 2, 3));
    expect(codecs.request.encode({ ...SAMPLES.request, payload: Buffer.of(1, 2, 3) })).toEqual(
      encoded,
    );

    const embedded = new Uint8Array(encoded.length + 8);
    embedded.set(encoded, 4);
    expect(codecs.request.decode(embedded.subarray(4, 4 + encoded.length)).payload).toEqual(
      Uint8Array.of(1, 2, 3),
    );
  });
});

describe("sharing decode and embedding encode (the router's pair)", () => {
  const requests = [
    SAMPLES.request,
    {
      ...SAMPLES.request,
      userId: 'user-ü',
      targetVariant: 'variant-a',
      payload: new Uint8Array(0),
    },
    { ...SAMPLES.request, requestId: 'r-日本', payload: new Uint8Array(9_000).fill(3) },
  ];

  it('gives the bytes and values of avsc alone (the reference) for every stream', () => {
    const reference = loadCodecs({ avscOnly: true });
    for (const stream of STREAM_NAMES) {
      const values = [SAMPLES[stream], ALTERNATE_SAMPLES[stream]].filter((v) => v !== undefined);
      const ours = codecs[stream] as { encode(v: unknown): Buffer; decode(b: Uint8Array): unknown };
      const avsc = reference[stream] as typeof ours;
      for (const value of values) {
        const bytes = ours.encode(value);
        expect(bytes.equals(avsc.encode(value)), stream).toBe(true);
        expect(ours.decode(bytes), stream).toEqual(avsc.decode(bytes));
      }
    }
  });

  it('decodeSharing gives what decode gives, with bytes that view the input', () => {
    for (const request of requests) {
      const bytes = codecs.request.encode(request);
      const shared = codecs.request.decodeSharing(bytes);
      expect(shared).toEqual(codecs.request.decode(bytes));
      expect(Buffer.isBuffer(shared.payload)).toBe(false);
      if (shared.payload.length > 0) {
        const at = bytes.indexOf(Buffer.from(request.payload), SINGLE_OBJECT_HEADER_LENGTH);
        bytes[at] = (bytes[at] ?? 0) ^ 0xff;
        expect(shared.payload[0]).toBe((request.payload[0] ?? 0) ^ 0xff);
      }
    }
  });

  it('decodeSharing reads older writers through the resolver, as decode does', () => {
    const old = JSON.parse(
      readFileSync(
        new URL('history/assignment/2026-11-24-before-allocation.avsc', SCHEMA_DIR),
        'utf8',
      ),
    ) as object;
    // The old writer has no allocation, shadow variants or revision; avsc ignores extra fields.
    const before = SAMPLES.assignment;
    const bytes = rawMessage(old, {
      ...before,
      request: { ...before.request, payload: Buffer.from(before.request.payload) },
    });
    expect(codecs.assignment.decodeSharing(bytes)).toEqual(codecs.assignment.decode(bytes));
  });

  it('encodeEmbedding gives the bytes encode gives, from the request as the requests topic carried it', () => {
    const decisions = [
      SAMPLES.assignment,
      { ...SAMPLES.assignment, allocation: [], shadowVariants: [], experimentRevision: null },
      // Past the 4 KiB the fields after the request start with.
      { ...SAMPLES.assignment, reason: 'r'.repeat(10_000) },
    ];
    for (const request of requests) {
      const carried = codecs.request.encode(request);
      const decoded = codecs.request.decodeSharing(carried);
      for (const decision of decisions) {
        const assignment = { ...decision, request: decoded };
        const embedded = codecs.assignment.encodeEmbedding(assignment, carried);
        expect(embedded.equals(codecs.assignment.encode(assignment))).toBe(true);
        expect(codecs.assignment.decode(embedded)).toEqual({ ...decision, request });
      }
    }
  });

  it('encodeEmbedding encodes afresh what it cannot carry over: no bytes, JSON, another schema', () => {
    const json = new TextEncoder().encode('{"requestId":"req-1"}');
    const label = codecs.label.encode(SAMPLES.label);
    for (const embedded of [undefined, json, label, new Uint8Array(3)]) {
      expect(
        codecs.assignment
          .encodeEmbedding(SAMPLES.assignment, embedded)
          .equals(codecs.assignment.encode(SAMPLES.assignment)),
      ).toBe(true);
    }
    // A stream whose first field is no record never embeds.
    const request = codecs.request.encode(SAMPLES.request);
    expect(codecs.label.encodeEmbedding(SAMPLES.label, request)).toEqual(
      codecs.label.encode(SAMPLES.label),
    );
  });

  it('writes the bytes avsc writes, also for a string without a UTF-8 form', () => {
    for (const requestId of ['req-é-日-🙂', 'a\ud800b']) {
      const label = { ...SAMPLES.label, requestId };
      expect(codecs.label.encode(label).equals(rawMessage(readSchema('label'), label))).toBe(true);
    }
  });

  it('encodeEmbedding refuses invalid decisions as encode does', () => {
    const carried = codecs.request.encode(SAMPLES.request);
    const invalid = [
      { ...SAMPLES.assignment, policy: 'coin-flip' },
      { ...SAMPLES.assignment, propensity: 'high' },
      { ...SAMPLES.assignment, allocation: [{ variant: 'variant-a' }] },
    ];
    for (const assignment of invalid) {
      expectDynabError(
        () => codecs.assignment.encodeEmbedding(assignment as never, carried),
        'INVALID_FIELD',
      );
    }
  });
});

describe('single-object header', () => {
  it.each(STREAM_NAMES)(
    '%s: C3 01 then the little-endian fingerprint of the schema file',
    (stream) => {
      const expected = rabinFingerprint(parsingCanonicalForm(readSchema(stream)));
      const codec = codecs[stream] as {
        encode(v: unknown): Buffer;
        fingerprint: bigint;
        fingerprintHex: string;
      };
      const bytes = codec.encode(SAMPLES[stream]);
      expect(Array.from(bytes.subarray(0, 2))).toEqual([0xc3, 0x01]);
      expect(Array.from(bytes.subarray(2, 10))).toEqual(Array.from(fingerprintToBytes(expected)));
      expect(codec.fingerprint).toBe(expected);
      expect(codec.fingerprintHex).toBe(expected.toString(16).padStart(16, '0'));
      expect(peekFingerprintHex(bytes)).toBe(codec.fingerprintHex);
    },
  );

  it('gives every stream its own fingerprint', () => {
    expect(new Set(STREAM_NAMES.map((s) => codecs[s].fingerprintHex)).size).toBe(
      STREAM_NAMES.length,
    );
  });

  it('peeks nothing from bytes without a header', () => {
    expect(peekFingerprintHex(Uint8Array.of(0xc3, 0x01, 0))).toBeUndefined();
    expect(peekFingerprintHex(new Uint8Array(12))).toBeUndefined();
  });
});

describe('malformed input', () => {
  const valid = codecs.label.encode(SAMPLES.label);

  it('rejects empty and too-short input', () => {
    expectDynabError(() => codecs.label.decode(new Uint8Array(0)), 'MALFORMED_MESSAGE');
    expectDynabError(
      () => codecs.label.decode(valid.subarray(0, 9)),
      'MALFORMED_MESSAGE',
      /header/,
    );
  });

  it('rejects a wrong marker', () => {
    const wrong = Buffer.from(valid);
    wrong[1] = 0x02;
    expectDynabError(() => codecs.label.decode(wrong), 'MALFORMED_MESSAGE', /C3 01/);
    const json = new TextEncoder().encode('{"requestId":"r","reward":1}');
    expectDynabError(() => codecs.label.decode(json), 'MALFORMED_MESSAGE');
  });

  it('rejects every truncation of a valid message', () => {
    for (const stream of STREAM_NAMES) {
      const codec = codecs[stream] as {
        encode(v: unknown): Buffer;
        decode(b: Uint8Array): unknown;
      };
      const bytes = codec.encode(SAMPLES[stream]);
      for (let length = 0; length < bytes.length; length++) {
        expectDynabError(() => codec.decode(bytes.subarray(0, length)), 'MALFORMED_MESSAGE');
      }
    }
  });

  it('rejects trailing bytes', () => {
    expectDynabError(
      () => codecs.label.decode(Buffer.concat([valid, Buffer.of(0)])),
      'MALFORMED_MESSAGE',
      /trailing/,
    );
    const posterior = codecs.posterior.encode(SAMPLES.posterior);
    expectDynabError(
      () => codecs.posterior.decode(Buffer.concat([posterior, Buffer.of(0)])),
      'MALFORMED_MESSAGE',
      /trailing/,
    );
  });

  it('reports an unknown fingerprint with its hex', () => {
    const other = Buffer.from(valid);
    other[5] = (other[5] ?? 0) ^ 0xff;
    const hex = other.readBigUInt64LE(2).toString(16).padStart(16, '0');
    expectDynabError(() => codecs.label.decode(other), 'UNKNOWN_SCHEMA', hex);
  });

  it("treats another stream's message as an unknown schema", () => {
    const request = codecs.request.encode(SAMPLES.request);
    expectDynabError(
      () => codecs.label.decode(request),
      'UNKNOWN_SCHEMA',
      codecs.request.fingerprintHex,
    );
  });

  it('maps random garbage to MALFORMED_MESSAGE or UNKNOWN_SCHEMA', () => {
    const random = seededRandom(2024);
    for (let i = 0; i < 500; i++) {
      const garbage = randomBytes(random, Math.floor(random() * 64));
      if (i % 2 === 0 && garbage.length >= 2) garbage.set([0xc3, 0x01]);
      const error = expectDynabError(
        () => codecs.request.decode(garbage),
        i % 2 === 0 && garbage.length >= 10 ? 'UNKNOWN_SCHEMA' : 'MALFORMED_MESSAGE',
      );
      expect(error).toBeInstanceOf(DynabError);
    }
  });

  it('never fails with anything but a DynabError on garbage bodies behind a known header', () => {
    const random = seededRandom(99);
    for (const stream of STREAM_NAMES) {
      const codec = codecs[stream] as {
        encode(v: unknown): Buffer;
        decode(b: Uint8Array): unknown;
      };
      const header = codec.encode(SAMPLES[stream]).subarray(0, 10);
      for (let i = 0; i < 300; i++) {
        const message = Buffer.concat([header, randomBytes(random, Math.floor(random() * 80))]);
        try {
          codec.decode(message);
        } catch (error) {
          expect(error).toBeInstanceOf(DynabError);
          expect(['MALFORMED_MESSAGE', 'INVALID_FIELD']).toContain((error as DynabError).code);
        }
      }
    }
  });

  it('fails fast on an impossible array block count instead of looping', () => {
    const header = codecs.posterior.encode(SAMPLES.posterior).subarray(0, 10);
    // experiment "e", partition 0, then a block count of 2^31 items in a few bytes.
    const body = Buffer.of(0x02, 0x65, 0x00, 0x80, 0x80, 0x80, 0x80, 0x10, 0x02, 0x61);
    const started = performance.now();
    expectDynabError(
      () => codecs.posterior.decode(Buffer.concat([header, body])),
      'MALFORMED_MESSAGE',
      /block/,
    );
    expect(performance.now() - started).toBeLessThan(100);
  });

  it('rejects closed string values it does not know when decoding', () => {
    const bytes = rawMessage(readSchema('assignment'), {
      ...SAMPLES.assignment,
      request: { ...SAMPLES.request, payload: Buffer.of(1) },
      policy: 'softmax',
    });
    expectDynabError(() => codecs.assignment.decode(bytes), 'INVALID_FIELD', /policy.*softmax/);
  });
});

describe('encoding invalid values', () => {
  const bad = <T>(value: T): T => value;

  it.each([
    ['eventTime as string', { ...SAMPLES.request, eventTime: '1700000000000' }, /eventTime/],
    ['fractional eventTime', { ...SAMPLES.request, eventTime: 1.5 }, /eventTime/],
    ['numeric requestId', { ...SAMPLES.request, requestId: 12 }, /requestId/],
    ['payload as string', { ...SAMPLES.request, payload: 'text' }, /payload/],
    ['missing experiment', { ...SAMPLES.request, experiment: undefined }, /experiment/],
    ['userId as number', { ...SAMPLES.request, userId: 5 }, /userId/],
  ])('request with %s → INVALID_FIELD', (_name, value, field) => {
    expectDynabError(() => codecs.request.encode(bad(value) as never), 'INVALID_FIELD', field);
  });

  it('names nested fields', () => {
    expectDynabError(
      () =>
        codecs.assignment.encode({
          ...SAMPLES.assignment,
          request: { ...SAMPLES.request, payload: 3 },
        } as never),
      'INVALID_FIELD',
      /request\.payload/,
    );
    expectDynabError(
      () =>
        codecs.posterior.encode({
          ...SAMPLES.posterior,
          variants: [{ variant: 'a', successes: 'x', failures: 0, count: 0 }],
        } as never),
      'INVALID_FIELD',
      /variants\.0\.successes/,
    );
  });

  it('rejects non-objects', () => {
    expectDynabError(() => codecs.label.encode(null as never), 'INVALID_FIELD');
    expectDynabError(() => codecs.label.encode('label' as never), 'INVALID_FIELD');
  });

  it('rejects values outside the closed string sets', () => {
    expectDynabError(
      () => codecs.assignment.encode({ ...SAMPLES.assignment, policy: 'greedy' } as never),
      'INVALID_FIELD',
      /policy/,
    );
    expectDynabError(
      () => codecs.prediction.encode({ ...SAMPLES.prediction, policy: 'greedy' } as never),
      'INVALID_FIELD',
      /policy/,
    );
    expectDynabError(
      () => codecs.reward.encode({ ...SAMPLES.reward, resolution: 'guess' } as never),
      'INVALID_FIELD',
      /resolution/,
    );
    expectDynabError(
      () => codecs.experiment.encode({ ...SAMPLES.experiment, policy: 'target-variant' } as never),
      'INVALID_FIELD',
      /policy/,
    );
    expectDynabError(
      () => codecs.experiment.encode({ ...SAMPLES.experiment, state: 'archived' } as never),
      'INVALID_FIELD',
      /state/,
    );
    expectDynabError(
      () => codecs.experiment.encode({ ...SAMPLES.experiment, rewardKind: 'count' } as never),
      'INVALID_FIELD',
      /rewardKind/,
    );
    expectDynabError(
      () =>
        codecs.experiment.encode({
          ...SAMPLES.experiment,
          stopping: { ...SAMPLES.experiment.stopping, rule: 'bayes-factor' },
        } as never),
      'INVALID_FIELD',
      /stopping\.rule/,
    );
    expectDynabError(
      () => codecs.decision.encode({ ...SAMPLES.decision, kind: 'tie' } as never),
      'INVALID_FIELD',
      /kind/,
    );
  });
});

describe('loading', () => {
  it('fails at load time on a writer schema that cannot be resolved', () => {
    const label = readSchema('label');
    const incompatible = {
      ...label,
      fields: (label['fields'] as { name: string }[]).map((f) =>
        f.name === 'requestId' ? { ...f, type: 'int' } : f,
      ),
    };
    expectDynabError(
      () => loadCodecs({ extraWriterSchemas: { label: [incompatible] } }),
      'CONFIG_INVALID',
      /label/,
    );
  });

  it('fails at load time on a missing schema folder', () => {
    expectDynabError(
      () => loadCodecs({ schemaDir: '/nonexistent/dynab-schemas' }),
      'CONFIG_INVALID',
      /request\.avsc/,
    );
  });

  it('lists the current fingerprint first among the known ones', () => {
    expect(codecs.label.knownFingerprints[0]).toBe(codecs.label.fingerprintHex);
  });
});
