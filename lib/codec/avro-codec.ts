// Avro single-object encoding of every dynab stream, without a schema registry.
//
// Wire form (Avro spec, "Single-object encoding"): C3 01, the 8-byte little-endian CRC-64-AVRO
// fingerprint of the writer schema's Parsing Canonical Form, then the Avro binary body. The
// fingerprint lets a reader pick the writer schema among the versions it ships with (the
// current `schemas/<stream>.avsc` plus `schemas/history/<stream>/*.avsc`), and avsc's resolver
// then maps writer → reader, so producers and consumers can be upgraded independently.
//
// Values are converted between avsc's representation and the plain shapes of
// `lib/contracts/events.ts`: bytes are Buffer for avsc and Uint8Array for callers, records come
// back as plain objects, and `["null", T]` unions are plain values (wrapUnions: false).
//
// Logical types (timestamp-millis) are deliberately not registered: avsc then reads the
// underlying long, so times stay plain epoch-millisecond numbers as the contracts expect,
// while the annotation still documents the field for other Avro tools.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import avro from 'avsc';
import type { Type } from 'avsc';
import type {
  DeadLettered,
  ExperimentHistoryEntry,
  HistoryEntryKind,
  DecisionKind,
  DecisionMade,
  ExperimentDefined,
  ExperimentGoal,
  ExperimentPolicy,
  ExperimentStatistics,
  ExperimentState,
  InferenceRequested,
  LabelReceived,
  PolicyName,
  PosteriorPublished,
  PredictionMade,
  Resolution,
  RewardKind,
  RewardResolved,
  StoppingRuleName,
  VariantAssigned,
} from '../contracts/events.ts';
import { DynabError } from '../errors/catalogue.ts';
import type { ArrayView, MapView, RecordView, UnionView } from './avsc-views.ts';
import { readBody, type BytesMode } from './body-reader.ts';
import { compileWriter, Output, RefusedValue, type Write } from './body-writer.ts';
import { fingerprintToBytes, fingerprintToHex, rabinFingerprint } from './rabin-fingerprint.ts';
import { checkWireShape, hasBlocks, WireShapeError } from './wire-guard.ts';

/** The TypeScript shape carried by each stream; the key is also the schema file's base name. */
export interface StreamTypes {
  request: InferenceRequested;
  assignment: VariantAssigned;
  prediction: PredictionMade;
  label: LabelReceived;
  reward: RewardResolved;
  posterior: PosteriorPublished;
  experiment: ExperimentDefined;
  'experiment-stats': ExperimentStatistics;
  decision: DecisionMade;
  'dead-letter': DeadLettered;
  'experiment-history': ExperimentHistoryEntry;
}

export type StreamName =
  | 'request'
  | 'assignment'
  | 'prediction'
  | 'label'
  | 'reward'
  | 'posterior'
  | 'experiment'
  | 'experiment-stats'
  | 'decision'
  | 'dead-letter'
  | 'experiment-history';

// Fails to compile if StreamName and StreamTypes ever list different streams.
type SameKeys<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never;
// eslint-disable-next-line @typescript-eslint/no-unused-vars -- exists only to be type-checked
const streamNamesMatch: SameKeys<StreamName, keyof StreamTypes> = true;

export const STREAM_NAMES: readonly StreamName[] = [
  'request',
  'assignment',
  'prediction',
  'label',
  'reward',
  'posterior',
  'experiment',
  'experiment-stats',
  'decision',
  'dead-letter',
  'experiment-history',
];

export interface StreamCodec<T> {
  readonly stream: StreamName;
  /** Single-object encoding with the current schema. Invalid values → INVALID_FIELD. */
  encode(value: T): Buffer;
  /**
   * Decodes any known writer version into the current shape. Bad header or body →
   * MALFORMED_MESSAGE; fingerprint not known for this stream → UNKNOWN_SCHEMA.
   */
  decode(bytes: Uint8Array): T;
  /**
   * `decode`, except that the bytes fields of a message written with the current schema are
   * views of `bytes` instead of copies. For a caller that is done with the value before it would
   * matter that the value holds on to the input (the router, which encodes its assignment at
   * once); `decode` stays the default.
   */
  decodeSharing(bytes: Uint8Array): T;
  /**
   * `encode`, copying the first field's body from `embedded` instead of encoding it again when
   * `embedded` is a single-object message whose fingerprint is that field's schema (the request
   * inside an assignment, as the requests topic carried it). The caller vouches that `embedded`
   * decodes to the value's first field; any other `embedded`, or none, gives `encode`.
   */
  encodeEmbedding(value: T, embedded: Uint8Array | undefined): Buffer;
  /** CRC-64-AVRO of the current schema, unsigned. */
  readonly fingerprint: bigint;
  /** The same as 16 hex digits, most significant first (the wire holds it little-endian). */
  readonly fingerprintHex: string;
  /** Fingerprints (hex) of every writer schema `decode` accepts, the current one first. */
  readonly knownFingerprints: readonly string[];
}

export type Codecs = { readonly [S in StreamName]: StreamCodec<StreamTypes[S]> };

/** A parsed Avro schema, as found in an `.avsc` file. */
export type AvroSchemaJson = Record<string, unknown> | readonly unknown[] | string;

export interface LoadCodecsOptions {
  /** Folder with `<stream>.avsc` and `history/<stream>/*.avsc`; defaults to the repo's `schemas/`. */
  readonly schemaDir?: string | URL;
  /** More writer schemas to accept per stream (e.g. versions from a newer producer). */
  readonly extraWriterSchemas?: Partial<Record<StreamName, readonly AvroSchemaJson[]>>;
  /**
   * Read and write with avsc alone, without the codec's own body reader and writer: the
   * reference those are compared with (tests and `npm run bench -- codec`). Same bytes, same values.
   */
  readonly avscOnly?: boolean;
}

export const SINGLE_OBJECT_MARKER: readonly [number, number] = [0xc3, 0x01];
export const SINGLE_OBJECT_HEADER_LENGTH = 10;

const DEFAULT_SCHEMA_DIR = new URL('../../schemas/', import.meta.url);

/** Parsing Canonical Form of a schema: the exact text whose fingerprint identifies it. */
export function parsingCanonicalForm(schema: AvroSchemaJson | Type): string {
  const type = avro.Type.isType(schema) ? (schema as Type) : parseSchema(schema as AvroSchemaJson);
  // avsc's default `schema()` export is the canonical form: full names, no namespace/doc/
  // default/aliases/logicalType, keys in the spec's order, first use of a name expanded.
  return JSON.stringify(type.schema());
}

/** Hex fingerprint from a single-object header, or undefined when `bytes` has no such header. */
export function peekFingerprintHex(bytes: Uint8Array): string | undefined {
  if (!hasHeader(bytes)) return undefined;
  return fingerprintToHex(asBuffer(bytes).readBigUInt64LE(2));
}

export function loadCodecs(options: LoadCodecsOptions = {}): Codecs {
  const dir = toPath(options.schemaDir ?? DEFAULT_SCHEMA_DIR);
  const build = <S extends StreamName>(stream: S): StreamCodec<StreamTypes[S]> =>
    createStreamCodec<StreamTypes[S]>(
      stream,
      readSchemaFile(join(dir, `${stream}.avsc`)),
      [...readHistory(dir, stream), ...(options.extraWriterSchemas?.[stream] ?? [])],
      options.avscOnly === true,
    );
  return {
    request: build('request'),
    assignment: build('assignment'),
    prediction: build('prediction'),
    label: build('label'),
    reward: build('reward'),
    posterior: build('posterior'),
    experiment: build('experiment'),
    'experiment-stats': build('experiment-stats'),
    decision: build('decision'),
    'dead-letter': build('dead-letter'),
    'experiment-history': build('experiment-history'),
  };
}

// ---------------------------------------------------------------------------------------------
// Closed string sets. They are Avro strings rather than enums (see the schema docs: a new enum
// symbol breaks resolution of the whole writer schema in older readers), so the codec enforces
// the TypeScript unions itself, on encode and on decode, as per-message INVALID_FIELD errors.

const EXPERIMENT_POLICIES = {
  'thompson-sampling': true,
  'gaussian-thompson-sampling': true,
  'epsilon-greedy': true,
  ucb1: true,
  'static-weights': true,
} as const satisfies Record<ExperimentPolicy, true>;
const POLICIES = {
  ...EXPERIMENT_POLICIES,
  'target-variant': true,
  'fallback-weights': true,
} as const satisfies Record<PolicyName, true>;
const REWARD_KINDS = { 'unit-interval': true, real: true } as const satisfies Record<
  RewardKind,
  true
>;
const DECISION_KINDS = {
  winner: true,
  'within-tolerance': true,
  'canary-rollback': true,
} as const satisfies Record<DecisionKind, true>;
const STOPPING_RULES = {
  none: true,
  'expected-loss': true,
  glr: true,
  'probability-best': true,
} as const satisfies Record<StoppingRuleName, true>;
const GOALS = { earn: true, decide: true } as const satisfies Record<ExperimentGoal, true>;
const RESOLUTIONS = { label: true, implicit: true, late: true } as const satisfies Record<
  Resolution,
  true
>;
const STATES = {
  running: true,
  paused: true,
  stopped: true,
  promoted: true,
} as const satisfies Record<ExperimentState, true>;

const HISTORY_KINDS = {
  revision: true,
  posterior: true,
  plan: true,
  decision: true,
} as const satisfies Record<HistoryEntryKind, true>;

const CLOSED_FIELDS: Readonly<Record<StreamName, readonly (readonly [string, object])[]>> = {
  request: [],
  assignment: [['policy', POLICIES]],
  prediction: [['policy', POLICIES]],
  label: [],
  reward: [['resolution', RESOLUTIONS]],
  posterior: [],
  experiment: [
    ['policy', EXPERIMENT_POLICIES],
    ['state', STATES],
    ['rewardKind', REWARD_KINDS],
    ['stopping.rule', STOPPING_RULES],
    ['stopping.goal', GOALS],
  ],
  'experiment-stats': [
    ['state', STATES],
    ['stopping.rule', STOPPING_RULES],
  ],
  decision: [['kind', DECISION_KINDS]],
  'dead-letter': [],
  'experiment-history': [
    ['kind', HISTORY_KINDS],
    ['state', STATES],
  ],
};

/**
 * CLOSED_FIELDS as one check per stream, built once: each dotted name split (it reaches into a
 * nested record) and each allowed set made a Set, so a message costs a lookup per closed field.
 */
const CLOSED_CHECKS: Readonly<Record<StreamName, (value: unknown) => void>> = Object.fromEntries(
  Object.entries(CLOSED_FIELDS).map(([stream, fields]) => {
    const checks = fields.map(([field, allowed]) => {
      const path = field.split('.');
      const symbols = new Set(Object.keys(allowed));
      return (value: object): void => {
        let actual: unknown = value;
        for (const part of path) {
          actual =
            actual !== null && typeof actual === 'object'
              ? (actual as Record<string, unknown>)[part]
              : undefined;
        }
        if (typeof actual !== 'string' || !symbols.has(actual)) {
          throw new DynabError(
            'INVALID_FIELD',
            `${stream}.${field}: ${describe(actual)} is not one of ${[...symbols].join(', ')}`,
          );
        }
      };
    });
    return [
      stream,
      (value: unknown): void => {
        if (value === null || typeof value !== 'object') return;
        for (const check of checks) check(value);
      },
    ];
  }),
) as Record<StreamName, (value: unknown) => void>;

function checkClosedFields(stream: StreamName, value: unknown): void {
  CLOSED_CHECKS[stream](value);
}

// ---------------------------------------------------------------------------------------------
// Codec construction.

interface WriterEntry {
  readonly type: Type;
  /** Absent when the writer is the reader schema itself. */
  readonly resolver: ReturnType<Type['createResolver']> | undefined;
  /** Whether the body needs the bounds walk before avsc reads it (arrays or maps inside). */
  readonly guard: boolean;
}

function createStreamCodec<T>(
  stream: StreamName,
  readerSchema: AvroSchemaJson,
  writerSchemas: readonly AvroSchemaJson[],
  avscOnly: boolean,
): StreamCodec<T> {
  const reader = parseSchema(readerSchema, `${stream} schema`);
  const fingerprint = rabinFingerprint(parsingCanonicalForm(reader));
  const fingerprintBytes = fingerprintToBytes(fingerprint);
  const header = Buffer.concat([Buffer.from(SINGLE_OBJECT_MARKER), fingerprintBytes]);
  /** Where encode writes a message before copying it out: the header, then the body. */
  let scratch = Buffer.allocUnsafe(64 * 1024);
  header.copy(scratch, 0);

  // Keyed by the unsigned fingerprint; bigint keys compare by value in a Map.
  const writers = new Map<bigint, WriterEntry>();
  writers.set(fingerprint, { type: reader, resolver: undefined, guard: hasBlocks(reader) });
  writerSchemas.forEach((schema, index) => {
    const type = parseSchema(schema, `${stream} writer schema #${index + 1}`);
    const writerFingerprint = rabinFingerprint(parsingCanonicalForm(type));
    // Same canonical form = same binary layout: nothing to resolve (docs/defaults may differ).
    if (writers.has(writerFingerprint)) return;
    let resolver: WriterEntry['resolver'];
    try {
      resolver = reader.createResolver(type);
    } catch (cause) {
      // Fail at start-up rather than on the first old message.
      throw new DynabError(
        'CONFIG_INVALID',
        `${stream}: writer schema ${fingerprintToHex(writerFingerprint)} cannot be read with the current schema: ${errorMessage(cause)}`,
        { cause },
      );
    }
    writers.set(writerFingerprint, { type, resolver, guard: hasBlocks(type) });
  });

  const toWire = compileToWire(reader);
  const fromWire = compileFromWire(reader);
  const fingerprintHex = fingerprintToHex(fingerprint);
  const knownFingerprints = [...writers.keys()].map(fingerprintToHex);

  const malformed = (detail: string, cause?: unknown): DynabError =>
    new DynabError(
      'MALFORMED_MESSAGE',
      `${stream}: ${detail}`,
      cause === undefined ? {} : { cause },
    );

  const embedding = embeddingOf(reader);
  /** The fast writer of the whole body (absent for schemas only avsc writes), and its output. */
  const write = avscOnly ? undefined : compileWriter(reader);
  const output = new Output(64 * 1024);
  header.copy(output.buffer, 0);
  /** The same for the fields after an embedded first field. */
  const writeRest = embedding === undefined || avscOnly ? undefined : compileWriter(embedding.rest);
  const restOutput = new Output(embedding === undefined ? 0 : 4 * 1024);

  return {
    stream,
    fingerprint,
    fingerprintHex,
    knownFingerprints,
    encode,

    decode(bytes: Uint8Array): T {
      return decode(bytes, 'copy');
    },

    decodeSharing(bytes: Uint8Array): T {
      return decode(bytes, 'view');
    },

    encodeEmbedding(value: T, embedded: Uint8Array | undefined): Buffer {
      if (
        embedding === undefined ||
        writeRest === undefined ||
        embedded === undefined ||
        !hasHeader(embedded) ||
        !hasFingerprint(embedded, embedding.fingerprint)
      ) {
        return encode(value);
      }
      restOutput.pos = 0;
      if (!writeWith(writeRest, restOutput, value)) {
        // The full encode fails too, naming the offending field.
        return encode(value);
      }
      checkClosedFields(stream, value);
      const bodyEnd = embedded.length;
      const restLength = restOutput.pos;
      const out = Buffer.allocUnsafe(bodyEnd + restLength);
      // Plain views for the native copies (Buffer.copy checks its arguments in JS first, and a
      // Buffer's subarray goes through its species); short runs by a loop.
      for (let i = 0; i < SINGLE_OBJECT_HEADER_LENGTH; i++) out[i] = header[i] ?? 0;
      out.set(
        new Uint8Array(
          embedded.buffer,
          embedded.byteOffset + SINGLE_OBJECT_HEADER_LENGTH,
          bodyEnd - SINGLE_OBJECT_HEADER_LENGTH,
        ),
        SINGLE_OBJECT_HEADER_LENGTH,
      );
      const rest = restOutput.buffer;
      if (restLength < 64) {
        for (let i = 0; i < restLength; i++) out[bodyEnd + i] = rest[i] ?? 0;
      } else {
        out.set(new Uint8Array(rest.buffer, rest.byteOffset, restLength), bodyEnd);
      }
      return out;
    },
  };

  function encode(value: T): Buffer {
    output.pos = SINGLE_OBJECT_HEADER_LENGTH;
    if (write === undefined || !writeWith(write, output, value)) return encodeWithAvsc(value);
    checkClosedFields(stream, value);
    const out = Buffer.allocUnsafe(output.pos);
    output.buffer.copy(out, 0, 0, output.pos);
    return out;
  }

  /** avsc's encode: the reference, and the one whose errors name the offending field. */
  function encodeWithAvsc(value: T): Buffer {
    const wire = toWire(value);
    let end: number;
    try {
      // Written once into a scratch buffer after the header, then copied out at its size.
      end = reader.encode(wire, scratch, SINGLE_OBJECT_HEADER_LENGTH);
      if (end < 0) {
        // avsc answers how many bytes were missing, as a negative number.
        scratch = Buffer.allocUnsafe(Math.max(2 * scratch.length, scratch.length - end));
        header.copy(scratch, 0);
        end = reader.encode(wire, scratch, SINGLE_OBJECT_HEADER_LENGTH);
      }
    } catch (cause) {
      throw new DynabError(
        'INVALID_FIELD',
        `${stream}: ${invalidFieldDetail(reader, wire, cause)}`,
        {
          cause,
        },
      );
    }
    checkClosedFields(stream, value);
    const out = Buffer.allocUnsafe(end);
    scratch.copy(out, 0, 0, end);
    return out;
  }

  function decode(bytes: Uint8Array, mode: BytesMode): T {
    if (!(bytes instanceof Uint8Array)) throw malformed('expected bytes');
    if (bytes.length < SINGLE_OBJECT_HEADER_LENGTH) {
      throw malformed(`${bytes.length} bytes is shorter than the single-object header`);
    }
    if (!hasHeader(bytes)) {
      throw malformed('missing the Avro single-object marker C3 01');
    }
    const buf = asBuffer(bytes);
    if (!avscOnly && hasFingerprint(buf, fingerprintBytes)) {
      // Written with the current schema: one checked pass straight into the plain shapes.
      let value: T;
      try {
        value = readBody(reader, buf, SINGLE_OBJECT_HEADER_LENGTH, mode) as T;
      } catch (cause) {
        if (cause instanceof WireShapeError) throw malformed(`bad body: ${cause.message}`, cause);
        throw cause;
      }
      checkClosedFields(stream, value);
      return value;
    }
    const writerFingerprint = buf.readBigUInt64LE(2);
    const writer = writers.get(writerFingerprint);
    if (writer === undefined) {
      throw new DynabError(
        'UNKNOWN_SCHEMA',
        `${stream}: unknown writer schema fingerprint ${fingerprintToHex(writerFingerprint)} (known: ${knownFingerprints.join(', ')})`,
      );
    }
    if (writer.guard) {
      try {
        checkWireShape(writer.type, buf, SINGLE_OBJECT_HEADER_LENGTH);
      } catch (cause) {
        if (cause instanceof WireShapeError) throw malformed(`bad body: ${cause.message}`, cause);
        throw cause;
      }
    }
    let decoded: { value: unknown; offset: number };
    try {
      decoded = reader.decode(buf, SINGLE_OBJECT_HEADER_LENGTH, writer.resolver);
    } catch (cause) {
      throw malformed(`bad body: ${errorMessage(cause)}`, cause);
    }
    if (decoded.offset < 0) throw malformed('truncated body');
    if (decoded.offset !== buf.length) {
      throw malformed(`${buf.length - decoded.offset} trailing bytes after the body`);
    }
    const value = fromWire(decoded.value) as T;
    checkClosedFields(stream, value);
    return value;
  }
}

/** How a record whose first field is itself a record is encoded around that field's body. */
interface Embedding {
  /** Fingerprint (wire bytes) of the first field's schema, as its own stream writes it. */
  readonly fingerprint: Uint8Array;
  /** A record of the remaining fields, in order: what follows the first field's body. */
  readonly rest: Type;
}

function embeddingOf(reader: Type): Embedding | undefined {
  if (reader.typeName !== 'record') return undefined;
  const [first, ...others] = (reader as RecordView).fields;
  if (first?.type.typeName !== 'record') return undefined;
  const rest = avro.Type.forSchema(
    {
      type: 'record',
      name: `${reader.name ?? 'Record'}Rest`,
      fields: others.map((field) => ({ name: field.name, type: field.type })),
    } as unknown as Parameters<typeof avro.Type.forSchema>[0],
    { wrapUnions: false },
  );
  return {
    fingerprint: fingerprintToBytes(rabinFingerprint(parsingCanonicalForm(first.type))),
    rest,
  };
}

// ---------------------------------------------------------------------------------------------
// Value conversion, compiled once per schema into closures so the per-message work is a walk
// over the fields that actually need it.

type Convert = (value: unknown) => unknown;
const identity: Convert = (value) => value;

function nonNullBranches(type: Type): readonly Type[] {
  return (type as UnionView).types.filter((branch) => branch.typeName !== 'null');
}

function containsBytes(type: Type, seen = new Set<Type>()): boolean {
  if (seen.has(type)) return false;
  seen.add(type);
  switch (type.typeName) {
    case 'bytes':
      return true;
    case 'record':
    case 'error':
      return (type as RecordView).fields.some((field) => containsBytes(field.type, seen));
    case 'array':
      return containsBytes((type as ArrayView).itemsType, seen);
    case 'map':
      return containsBytes((type as MapView).valuesType, seen);
    case 'union:unwrapped':
      return (type as UnionView).types.some((branch) => containsBytes(branch, seen));
    default:
      return false;
  }
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object';

/** TS value → avsc value. Only bytes need changing; invalid input is passed on for avsc to reject. */
function compileToWire(type: Type, memo = new Map<Type, Convert>()): Convert {
  if (!containsBytes(type)) return identity;
  const known = memo.get(type);
  if (known !== undefined) return known;
  switch (type.typeName) {
    case 'bytes':
      return (value) =>
        value instanceof Uint8Array && !Buffer.isBuffer(value)
          ? Buffer.from(value.buffer, value.byteOffset, value.byteLength)
          : value;
    case 'record':
    case 'error': {
      // Only the fields that may hold bytes; the value is copied only when one of them changes
      // (avsc reads a record's own fields and ignores any others).
      const fields: [string, Convert][] = [];
      const convert: Convert = (value) => {
        if (!isObject(value)) return value;
        let out: Record<string, unknown> | null = null;
        for (const [name, field] of fields) {
          const before = value[name];
          const after = field(before);
          if (after !== before) (out ??= { ...value })[name] = after;
        }
        return out ?? value;
      };
      memo.set(type, convert); // before the fields, so recursive schemas terminate
      for (const field of (type as RecordView).fields) {
        const inner = compileToWire(field.type, memo);
        if (inner !== identity) fields.push([field.name, inner]);
      }
      return convert;
    }
    case 'array': {
      const item = compileToWire((type as ArrayView).itemsType, memo);
      return (value) => (Array.isArray(value) ? value.map((entry) => item(entry)) : value);
    }
    case 'map': {
      const entry = compileToWire((type as MapView).valuesType, memo);
      return (value) =>
        isObject(value)
          ? Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, entry(inner)]))
          : value;
    }
    case 'union:unwrapped': {
      const branches = nonNullBranches(type);
      const only = branches.length === 1 ? branches[0] : undefined;
      if (only !== undefined) {
        const branch = compileToWire(only, memo);
        return (value) => (value === null || value === undefined ? value : branch(value));
      }
      // Several non-null branches: only a bytes branch can need conversion.
      return (value) =>
        value instanceof Uint8Array && !Buffer.isBuffer(value)
          ? Buffer.from(value.buffer, value.byteOffset, value.byteLength)
          : value;
    }
    default:
      return identity;
  }
}

/**
 * avsc value → TS value: plain objects for records, plain Uint8Array views for bytes. avsc reads
 * bytes out of the input into buffers of its own (Tap.readFixed copies into its pool), so a view
 * of what it returns shares nothing with the caller's input; copying again cost an allocation
 * and a copy of every payload on every decode.
 */
const asPlainBytes = (value: unknown): Uint8Array => {
  const bytes = value as Buffer;
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
};

function compileFromWire(type: Type, memo = new Map<Type, Convert>()): Convert {
  const known = memo.get(type);
  if (known !== undefined) return known;
  switch (type.typeName) {
    case 'bytes':
    case 'fixed':
      return asPlainBytes;
    case 'record':
    case 'error': {
      // A spread copies avsc's record (its fields are its own properties, its methods are on
      // the prototype) into a plain object in one step; then only the fields that need it are
      // converted.
      const converting: [string, Convert][] = [];
      const convert: Convert = (value) => {
        const out: Record<string, unknown> = { ...(value as Record<string, unknown>) };
        for (const [name, field] of converting) out[name] = field(out[name]);
        return out;
      };
      memo.set(type, convert);
      for (const field of (type as RecordView).fields) {
        const fieldConvert = compileFromWire(field.type, memo);
        if (fieldConvert !== identity) converting.push([field.name, fieldConvert]);
      }
      return convert;
    }
    case 'array': {
      const item = compileFromWire((type as ArrayView).itemsType, memo);
      return item === identity
        ? identity
        : (value) => (value as unknown[]).map((entry) => item(entry));
    }
    case 'map': {
      const entry = compileFromWire((type as MapView).valuesType, memo);
      return entry === identity
        ? identity
        : (value) =>
            Object.fromEntries(
              Object.entries(value as Record<string, unknown>).map(([key, inner]) => [
                key,
                entry(inner),
              ]),
            );
    }
    case 'union:unwrapped': {
      const branches = nonNullBranches(type);
      const only = branches.length === 1 ? branches[0] : undefined;
      if (only !== undefined) {
        const branch = compileFromWire(only, memo);
        return branch === identity ? identity : (value) => (value === null ? null : branch(value));
      }
      return (value) => (Buffer.isBuffer(value) ? asPlainBytes(value) : value);
    }
    default:
      return identity;
  }
}

// ---------------------------------------------------------------------------------------------
// Helpers.

function parseSchema(schema: AvroSchemaJson, what = 'schema'): Type {
  try {
    // A fresh options object per call: avsc stores its name registry in it, and a shared one
    // would make two versions of the same record collide. Plain values for nullable unions;
    // no logical types (see the top of this file).
    return avro.Type.forSchema(schema as Parameters<typeof avro.Type.forSchema>[0], {
      wrapUnions: false,
    });
  } catch (cause) {
    throw new DynabError('CONFIG_INVALID', `invalid ${what}: ${errorMessage(cause)}`, { cause });
  }
}

function readSchemaFile(path: string): AvroSchemaJson {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new DynabError('CONFIG_INVALID', `cannot read schema ${path}: ${errorMessage(cause)}`, {
      cause,
    });
  }
  try {
    return JSON.parse(text) as AvroSchemaJson;
  } catch (cause) {
    throw new DynabError('CONFIG_INVALID', `schema ${path} is not JSON: ${errorMessage(cause)}`, {
      cause,
    });
  }
}

function readHistory(dir: string, stream: StreamName): AvroSchemaJson[] {
  const historyDir = join(dir, 'history', stream);
  if (!existsSync(historyDir)) return [];
  return readdirSync(historyDir)
    .filter((name) => name.endsWith('.avsc'))
    .sort()
    .map((name) => readSchemaFile(join(historyDir, name)));
}

function toPath(dir: string | URL): string {
  return dir instanceof URL ? fileURLToPath(dir) : dir;
}

function hasHeader(bytes: Uint8Array): boolean {
  return (
    bytes.length >= SINGLE_OBJECT_HEADER_LENGTH &&
    bytes[0] === SINGLE_OBJECT_MARKER[0] &&
    bytes[1] === SINGLE_OBJECT_MARKER[1]
  );
}

/** Writes `value` with a fast writer; false when the writer refuses it (avsc then says why). */
function writeWith(write: Write, output: Output, value: unknown): boolean {
  try {
    write(output, value);
    return true;
  } catch (error) {
    if (error instanceof RefusedValue) return false;
    throw error;
  }
}

/** Whether the header of `bytes` (known to have the marker) carries `fingerprint`. */
function hasFingerprint(bytes: Uint8Array, fingerprint: Uint8Array): boolean {
  for (let i = 0; i < 8; i++) if (bytes[2 + i] !== fingerprint[i]) return false;
  return true;
}

/** A Buffer view of the same memory (avsc reads Buffers only); no copy. */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes)
    ? bytes
    : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Names the first offending field path, so producers see what to fix. */
function invalidFieldDetail(type: Type, wire: unknown, cause: unknown): string {
  const problems: string[] = [];
  type.isValid(wire, {
    errorHook: (path, value) => {
      if (problems.length < 3) {
        problems.push(
          `${path.length === 0 ? '(value)' : path.join('.')}: invalid ${describe(value)}`,
        );
      }
    },
  });
  return problems.length > 0 ? problems.join('; ') : `cannot encode: ${errorMessage(cause)}`;
}

/** A short description of a value for error messages, never dumping payloads. */
function describe(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (typeof value === 'string') {
    return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  }
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') {
    return `${typeof value} ${String(value)}`;
  }
  if (Array.isArray(value)) return `array(${value.length})`;
  if (value instanceof Uint8Array) return `bytes(${value.length})`;
  return typeof value;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
