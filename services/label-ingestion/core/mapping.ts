// The declarative mapping from application-log records to labels: where the request id,
// experiment, user id and event time are (JSON paths), which records count at all (a filter),
// and rules that turn a record into a reward or a ground truth. It is data, never code: a
// mapping file is checked whole at start (`compileMapping` lists every problem), and applying it
// to a record costs a bounded number of path reads and comparisons (`applyMapping`).
//
// Every rule whose conditions hold yields one label, so a record may yield zero, one or several
// labels. A record that passes no rule is "unmatched" (counted, not an error); a record that a
// rule matched but whose fields cannot make a label (no request id, a reward that is not a
// number, an unreadable event time) is "invalid", and the caller dead-letters it with the reason.
import { parseJsonPath, readPath, type JsonPath } from './json-path.ts';

export type Scalar = string | number | boolean | null;

/** A test on one field; every operator given must hold. */
export interface Condition {
  readonly path: JsonPath;
  readonly equals?: Scalar;
  readonly notEquals?: Scalar;
  readonly in?: readonly Scalar[];
  /** true: the field is there and not null; false: it is absent or null. */
  readonly exists?: boolean;
  /** The field is a number ≥ min. */
  readonly min?: number;
  /** The field is a number ≤ max. */
  readonly max?: number;
}

export type RuleOutcome =
  | { readonly kind: 'reward'; readonly value: number }
  | { readonly kind: 'rewardFrom'; readonly path: JsonPath }
  | { readonly kind: 'truth'; readonly value: string }
  | { readonly kind: 'truthFrom'; readonly path: JsonPath };

export interface MappingRule {
  readonly name: string;
  readonly when: readonly Condition[];
  readonly outcome: RuleOutcome;
}

export const EVENT_TIME_FORMATS = ['epoch-ms', 'epoch-s', 'iso-8601'] as const;
export type EventTimeFormat = (typeof EVENT_TIME_FORMATS)[number];

export const RECORD_FORMATS = ['json', 'avro'] as const;
export type RecordFormat = (typeof RECORD_FORMATS)[number];
export const AVRO_ENCODINGS = ['single-object', 'binary'] as const;
export type AvroEncoding = (typeof AVRO_ENCODINGS)[number];

export interface LabelMapping {
  /** The `source` of every label made by this mapping (e.g. `app-log:web`). */
  readonly source: string;
  readonly format: RecordFormat;
  /** The writer schema of Avro records (checked by the codec, opaque here); null for JSON. */
  readonly avroSchema: unknown;
  readonly avroEncoding: AvroEncoding;
  readonly requestId: JsonPath | null;
  readonly experiment: JsonPath | null;
  readonly userId: JsonPath | null;
  /** Where the event time is; a record without it takes its record's timestamp. */
  readonly eventTime: { readonly path: JsonPath; readonly format: EventTimeFormat } | null;
  /** Conditions every record must meet before any rule is tried. */
  readonly filter: readonly Condition[];
  readonly rules: readonly MappingRule[];
}

/** Bounds that keep a mapping, and the work per record, small. */
export const MAPPING_LIMITS = {
  rules: 100,
  conditionsPerRule: 20,
  inValues: 1_000,
  stringBytes: 1_024,
  isoTimeLength: 64,
} as const;

type Json = Readonly<Record<string, unknown>>;

const isObject = (value: unknown): value is Json =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

const isScalar = (value: unknown): value is Scalar =>
  value === null ||
  typeof value === 'string' ||
  typeof value === 'boolean' ||
  (typeof value === 'number' && Number.isFinite(value));

class Problems {
  readonly list: string[] = [];
  add(where: string, problem: string): void {
    this.list.push(`${where}: ${problem}`);
  }
  unknownKeys(where: string, value: Json, allowed: readonly string[]): void {
    for (const key of Object.keys(value)) {
      if (!allowed.includes(key)) {
        this.add(where, `unknown key ${JSON.stringify(key)} (allowed: ${allowed.join(', ')})`);
      }
    }
  }
  path(where: string, value: unknown): JsonPath | null {
    if (typeof value !== 'string') {
      this.add(where, 'must be a JSON path string such as "$.user.id"');
      return null;
    }
    const parsed = parseJsonPath(value);
    if ('problem' in parsed) {
      this.add(where, parsed.problem);
      return null;
    }
    return parsed;
  }
  text(where: string, value: unknown): string | null {
    if (typeof value !== 'string' || value.trim() === '') {
      this.add(where, 'must be a non-empty string');
      return null;
    }
    if (value.length > MAPPING_LIMITS.stringBytes) {
      this.add(where, `longer than ${MAPPING_LIMITS.stringBytes} characters`);
      return null;
    }
    return value;
  }
}

const CONDITION_KEYS = ['path', 'equals', 'notEquals', 'in', 'exists', 'min', 'max'] as const;
const OPERATORS = CONDITION_KEYS.filter((key) => key !== 'path');

function compileConditions(problems: Problems, where: string, value: unknown): Condition[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) {
    problems.add(where, 'must be a list of conditions');
    return [];
  }
  if (value.length > MAPPING_LIMITS.conditionsPerRule) {
    problems.add(where, `more than ${MAPPING_LIMITS.conditionsPerRule} conditions`);
  }
  const conditions: Condition[] = [];
  (value as readonly unknown[]).forEach((entry, i) => {
    const at = `${where}[${i}]`;
    if (!isObject(entry)) {
      problems.add(at, 'must be an object such as {"path": "$.event", "equals": "click"}');
      return;
    }
    problems.unknownKeys(at, entry, CONDITION_KEYS);
    const path = problems.path(`${at}.path`, entry['path']);
    if (!OPERATORS.some((key) => entry[key] !== undefined)) {
      problems.add(at, `needs at least one of ${OPERATORS.join(', ')}`);
    }
    const condition: {
      -readonly [K in keyof Condition]: Condition[K];
    } = { path: path ?? { text: '$', segments: [] } };
    for (const key of ['equals', 'notEquals'] as const) {
      const operand = entry[key];
      if (operand === undefined) continue;
      if (isScalar(operand)) condition[key] = operand;
      else problems.add(`${at}.${key}`, 'must be a string, a finite number, a boolean or null');
    }
    const list = entry['in'];
    if (list !== undefined) {
      if (!Array.isArray(list) || !(list as unknown[]).every(isScalar)) {
        problems.add(`${at}.in`, 'must be a list of strings, numbers, booleans or null');
      } else if (list.length > MAPPING_LIMITS.inValues) {
        problems.add(`${at}.in`, `more than ${MAPPING_LIMITS.inValues} values`);
      } else condition.in = list as Scalar[];
    }
    const exists = entry['exists'];
    if (exists !== undefined) {
      if (typeof exists === 'boolean') condition.exists = exists;
      else problems.add(`${at}.exists`, 'must be true or false');
    }
    for (const key of ['min', 'max'] as const) {
      const bound = entry[key];
      if (bound === undefined) continue;
      if (typeof bound === 'number' && Number.isFinite(bound)) condition[key] = bound;
      else problems.add(`${at}.${key}`, 'must be a finite number');
    }
    if (path !== null) conditions.push(condition);
  });
  return conditions;
}

const RULE_KEYS = ['name', 'when', 'reward', 'rewardFrom', 'truth', 'truthFrom'] as const;
const OUTCOME_KEYS = ['reward', 'rewardFrom', 'truth', 'truthFrom'] as const;

function compileRule(problems: Problems, where: string, value: unknown): MappingRule | null {
  if (!isObject(value)) {
    problems.add(where, 'must be an object');
    return null;
  }
  problems.unknownKeys(where, value, RULE_KEYS);
  const name = problems.text(`${where}.name`, value['name']);
  const when = compileConditions(problems, `${where}.when`, value['when']);
  const given = OUTCOME_KEYS.filter((key) => value[key] !== undefined);
  if (given.length !== 1) {
    problems.add(where, `needs exactly one of ${OUTCOME_KEYS.join(', ')}, got ${given.length}`);
    return null;
  }
  let outcome: RuleOutcome | null = null;
  const key = given[0];
  switch (key) {
    case 'reward': {
      const reward = value['reward'];
      if (typeof reward === 'number' && Number.isFinite(reward)) {
        outcome = { kind: 'reward', value: reward };
      } else problems.add(`${where}.reward`, 'must be a finite number');
      break;
    }
    case 'truth': {
      const truth = problems.text(`${where}.truth`, value['truth']);
      if (truth !== null) outcome = { kind: 'truth', value: truth };
      break;
    }
    case 'rewardFrom':
    case 'truthFrom': {
      const path = problems.path(`${where}.${key}`, value[key]);
      if (path !== null) outcome = { kind: key, path };
      break;
    }
    case undefined:
      break;
  }
  if (name === null || outcome === null) return null;
  return { name, when, outcome };
}

const MAPPING_KEYS = [
  'version',
  'source',
  'format',
  'avro',
  'requestId',
  'experiment',
  'userId',
  'eventTime',
  'filter',
  'rules',
] as const;

function oneOf<T extends string>(
  problems: Problems,
  where: string,
  value: unknown,
  allowed: readonly T[],
  fallback: T,
): T {
  if (value === undefined) return fallback;
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value))
    return value as T;
  problems.add(where, `must be one of ${allowed.join(', ')}`);
  return fallback;
}

/** Checks a parsed mapping document; the mapping, or every problem found in it. */
export function compileMapping(
  document: unknown,
): { readonly mapping: LabelMapping } | { readonly problems: readonly string[] } {
  const problems = new Problems();
  if (!isObject(document)) return { problems: ['mapping: must be a JSON object'] };
  problems.unknownKeys('mapping', document, MAPPING_KEYS);
  if (document['version'] !== 1) problems.add('version', 'must be 1');
  const source = problems.text('source', document['source']);
  const format = oneOf(problems, 'format', document['format'], RECORD_FORMATS, 'json');
  let avroSchema: unknown = null;
  let avroEncoding: AvroEncoding = 'single-object';
  const avro = document['avro'];
  if (format === 'avro') {
    if (!isObject(avro) || avro['schema'] === undefined) {
      problems.add('avro', 'format avro needs {"schema": <Avro schema>, "encoding"?: …}');
    } else {
      problems.unknownKeys('avro', avro, ['schema', 'encoding']);
      avroSchema = avro['schema'];
      avroEncoding = oneOf(
        problems,
        'avro.encoding',
        avro['encoding'],
        AVRO_ENCODINGS,
        avroEncoding,
      );
    }
  } else if (avro !== undefined) {
    problems.add('avro', 'only for format avro');
  }
  const optionalPath = (key: string): JsonPath | null =>
    document[key] === undefined ? null : problems.path(key, document[key]);
  const requestId = optionalPath('requestId');
  const experiment = optionalPath('experiment');
  const userId = optionalPath('userId');
  if (document['requestId'] === undefined && document['userId'] === undefined) {
    problems.add('requestId', 'a mapping needs requestId or userId (with experiment)');
  }
  if (document['userId'] !== undefined && document['experiment'] === undefined) {
    problems.add('experiment', 'required with userId: a user is credited per experiment');
  }
  let eventTime: LabelMapping['eventTime'] = null;
  const time = document['eventTime'];
  if (time !== undefined) {
    if (!isObject(time)) {
      problems.add('eventTime', 'must be {"path": "$.ts", "format": "epoch-ms"}');
    } else {
      problems.unknownKeys('eventTime', time, ['path', 'format']);
      const path = problems.path('eventTime.path', time['path']);
      const timeFormat = oneOf(
        problems,
        'eventTime.format',
        time['format'],
        EVENT_TIME_FORMATS,
        'epoch-ms',
      );
      if (path !== null) eventTime = { path, format: timeFormat };
    }
  }
  const filter = compileConditions(problems, 'filter', document['filter']);
  const rulesValue = document['rules'];
  const rules: MappingRule[] = [];
  if (!Array.isArray(rulesValue) || rulesValue.length === 0) {
    problems.add('rules', 'must be a non-empty list of rules');
  } else {
    if (rulesValue.length > MAPPING_LIMITS.rules) {
      problems.add('rules', `more than ${MAPPING_LIMITS.rules} rules`);
    }
    const names = new Set<string>();
    (rulesValue as readonly unknown[]).forEach((entry, i) => {
      const rule = compileRule(problems, `rules[${i}]`, entry);
      if (rule === null) return;
      if (names.has(rule.name)) problems.add(`rules[${i}].name`, `${rule.name} is used twice`);
      names.add(rule.name);
      rules.push(rule);
    });
  }
  if (problems.list.length > 0 || source === null) return { problems: problems.list };
  return {
    mapping: {
      source,
      format,
      avroSchema,
      avroEncoding,
      requestId,
      experiment,
      userId,
      eventTime,
      filter,
      rules,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Applying a mapping to one record.

export interface MappedLabel {
  /** The rule that made the label. */
  readonly rule: string;
  /** Null when the record carries only a user (attribution by user id decides the request). */
  readonly requestId: string | null;
  readonly experiment: string | null;
  readonly userId: string | null;
  readonly reward: number | null;
  readonly label: string | null;
  readonly eventTime: number;
  readonly source: string;
}

export type MappingResult =
  | { readonly kind: 'labels'; readonly labels: readonly MappedLabel[] }
  | { readonly kind: 'unmatched' }
  | { readonly kind: 'invalid'; readonly reason: string };

function holds(condition: Condition, record: unknown): boolean {
  const value = readPath(record, condition.path);
  if (
    condition.exists !== undefined &&
    condition.exists !== (value !== undefined && value !== null)
  ) {
    return false;
  }
  if (condition.equals !== undefined && value !== condition.equals) return false;
  if (condition.notEquals !== undefined && value === condition.notEquals) return false;
  if (condition.in !== undefined && !condition.in.some((candidate) => candidate === value)) {
    return false;
  }
  if (condition.min !== undefined || condition.max !== undefined) {
    if (typeof value !== 'number' || !Number.isFinite(value)) return false;
    if (condition.min !== undefined && value < condition.min) return false;
    if (condition.max !== undefined && value > condition.max) return false;
  }
  return true;
}

class InvalidRecord extends Error {}

/** An id: a non-empty string, or an integer (logs often write numeric ids), as text. */
function readId(record: unknown, path: JsonPath | null, field: string): string | null {
  if (path === null) return null;
  const value = readPath(record, path);
  if (value === undefined || value === null) return null;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value);
  if (typeof value !== 'string' || value.trim() === '') {
    throw new InvalidRecord(`${field} at ${path.text} must be a non-empty string or an integer`);
  }
  return value;
}

// Bounded shape before Date.parse, so that only real ISO-8601 instants with a zone are accepted
// (Date.parse alone takes many other spellings, some in local time).
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2})$/;

function readEventTime(mapping: LabelMapping, record: unknown, recordTime: number): number {
  if (mapping.eventTime === null) return recordTime;
  const { path, format } = mapping.eventTime;
  const value = readPath(record, path);
  if (value === undefined || value === null) return recordTime;
  const bad = (expected: string): InvalidRecord =>
    new InvalidRecord(`eventTime at ${path.text} must be ${expected}`);
  let ms: number;
  switch (format) {
    case 'epoch-ms':
      if (typeof value !== 'number') throw bad('epoch milliseconds (a number)');
      ms = value;
      break;
    case 'epoch-s':
      if (typeof value !== 'number') throw bad('epoch seconds (a number)');
      ms = Math.round(value * 1000);
      break;
    case 'iso-8601':
      if (
        typeof value !== 'string' ||
        value.length > MAPPING_LIMITS.isoTimeLength ||
        !ISO_INSTANT.test(value)
      ) {
        throw bad('an ISO-8601 instant with a zone, e.g. 2026-12-07T10:00:00Z');
      }
      ms = Date.parse(value);
      break;
  }
  if (!Number.isSafeInteger(ms) || ms < 0) throw bad('a time at or after 1970 (epoch ms)');
  return ms;
}

function outcomeOf(
  rule: MappingRule,
  record: unknown,
): { reward: number | null; label: string | null } {
  const { outcome } = rule;
  switch (outcome.kind) {
    case 'reward':
      return { reward: outcome.value, label: null };
    case 'truth':
      return { reward: null, label: outcome.value };
    case 'rewardFrom': {
      const value = readPath(record, outcome.path);
      if (typeof value !== 'number' || !Number.isFinite(value)) {
        throw new InvalidRecord(
          `rule ${rule.name}: reward at ${outcome.path.text} must be a finite number`,
        );
      }
      return { reward: value, label: null };
    }
    case 'truthFrom': {
      const value = readPath(record, outcome.path);
      const text =
        typeof value === 'string'
          ? value
          : typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value))
            ? String(value)
            : null;
      if (text === null || text.trim() === '') {
        throw new InvalidRecord(
          `rule ${rule.name}: truth at ${outcome.path.text} must be a non-empty string, a number or a boolean`,
        );
      }
      return { reward: null, label: text };
    }
  }
}

/**
 * Applies the mapping to one decoded record. `recordTime` is the event time of a record that
 * carries none (its Kafka timestamp, or its Kinesis arrival time), so replays agree.
 */
export function applyMapping(
  mapping: LabelMapping,
  record: unknown,
  recordTime: number,
): MappingResult {
  if (!isObject(record)) return { kind: 'invalid', reason: 'the record is not a JSON object' };
  if (!mapping.filter.every((condition) => holds(condition, record))) return { kind: 'unmatched' };
  const matched = mapping.rules.filter((rule) => rule.when.every((c) => holds(c, record)));
  if (matched.length === 0) return { kind: 'unmatched' };
  try {
    const requestId = readId(record, mapping.requestId, 'requestId');
    const experiment = readId(record, mapping.experiment, 'experiment');
    const userId = readId(record, mapping.userId, 'userId');
    if (requestId === null && (userId === null || experiment === null)) {
      const where = [mapping.requestId, mapping.userId]
        .filter((path) => path !== null)
        .map((path) => path.text);
      throw new InvalidRecord(
        `no request id (nor a user id with an experiment) at ${where.join(' or ')}`,
      );
    }
    const eventTime = readEventTime(mapping, record, recordTime);
    const labels = matched.map((rule) => ({
      rule: rule.name,
      requestId,
      experiment,
      userId,
      ...outcomeOf(rule, record),
      eventTime,
      source: mapping.source,
    }));
    return { kind: 'labels', labels };
  } catch (error) {
    if (error instanceof InvalidRecord) return { kind: 'invalid', reason: error.message };
    throw error;
  }
}
