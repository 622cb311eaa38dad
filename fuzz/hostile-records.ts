// Hostile records for every topic a dynab service reads, drawn from a seeded random source. Each
// record says which category it belongs to, so the fuzz run can report per category. Nothing
// here can legitimately change the valid experiment ('spam-filter') of the run: hostile records
// use other request ids, other experiment names, unknown variants or invalid values, except the
// deliberate "invalid label before the valid one" category, which targets valid ids and must
// change nothing either. Pure (no I/O): the caller sends the records.
import type { Codecs } from '../lib/codec/avro-codec.ts';
import type { ExperimentDefined } from '../lib/contracts/events.ts';
import type { TopicNames } from '../lib/contracts/topics.ts';
import type { OutRecord } from '../lib/event-log/event-log.ts';

export type HostileCategory =
  | 'random-bytes'
  | 'truncated-avro'
  | 'bit-flipped-avro'
  | 'wrong-fingerprint'
  | 'json-wrong-types'
  | 'bad-reward'
  | 'odd-ids'
  | 'huge-id'
  | 'null-key'
  | 'tombstone'
  | 'unknown-experiment'
  | 'unknown-variant'
  | 'future-event-time'
  | 'ancient-event-time'
  | 'invalid-experiment'
  | 'duplicate';

export interface HostileRecord {
  readonly category: HostileCategory;
  readonly record: OutRecord;
}

export interface HostileContext {
  readonly topics: TopicNames;
  readonly codecs: Codecs;
  readonly random: () => number;
  /** The wall clock of the run (event times are relative to it). */
  readonly now: () => number;
  /** A valid request id that has a prediction but no label yet, if any. */
  readonly pendingValidId: () => string | null;
  /** The valid experiment's definition (its broken copies must be ignored). */
  readonly validExperiment: ExperimentDefined;
}

const JSON_HEADERS = { 'content-type': 'application/json' };
const DAY_MS = 86_400_000;

export function createHostileGenerator(context: HostileContext): () => HostileRecord {
  const { topics, codecs, random } = context;
  let serial = 0;
  const sent: OutRecord[] = [];
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const id = (): string => `fuzz-${serial++}`;
  const randomBytes = (n: number): Buffer =>
    Buffer.from(Array.from({ length: n }, () => Math.floor(random() * 256)));

  const request = (requestId: string, overrides: Record<string, unknown> = {}): Buffer =>
    codecs.request.encode({
      requestId,
      experiment: 'spam-filter',
      payload: Buffer.from('Subject: fuzz'),
      contentType: 'text/plain',
      userId: null,
      targetVariant: null,
      eventTime: context.now(),
      ...overrides,
    });
  const label = (requestId: string, overrides: Record<string, unknown> = {}): Buffer =>
    codecs.label.encode({
      requestId,
      reward: null,
      label: 'spam',
      eventTime: context.now(),
      source: 'fuzz',
      ...overrides,
    });
  const prediction = (requestId: string, overrides: Record<string, unknown> = {}): Buffer =>
    codecs.prediction.encode({
      requestId,
      experiment: 'fuzz-unknown',
      requestedVariant: 'nope',
      invokedVariant: 'nope',
      output: Buffer.from('{"label":"spam"}'),
      outputContentType: 'application/json',
      predictedLabel: 'spam',
      latencyMs: 1,
      error: null,
      propensity: 0.5,
      snapshotVersion: -1,
      policy: 'static-weights',
      requestTime: context.now(),
      eventTime: context.now(),
      allocation: [],
      shadowVariants: [],
      shadowOf: null,
      ...overrides,
    });
  /**
   * A valid Avro record of a data topic, for the mangling categories (never for a valid id). Its
   * request names another experiment: a flipped bit that leaves a request decodable changes
   * its event time at random, and the driver cannot tell which side of the aggregator's dedup
   * horizon such a request falls on.
   */
  const someAvro = (): OutRecord => {
    const requestId = id();
    return pick<OutRecord>([
      {
        topic: topics.requests,
        key: requestId,
        value: request(requestId, { experiment: 'fuzz-mangled' }),
      },
      { topic: topics.labels, key: requestId, value: label(requestId) },
      { topic: topics.predictions, key: requestId, value: prediction(requestId) },
    ]);
  };
  const anyInputTopic = (): string =>
    pick([
      topics.requests,
      topics.assignments,
      topics.predictions,
      topics.labels,
      topics.experiments,
      topics.posteriors,
      topics.decisions,
    ]);
  /** Keys for control topics never name the valid experiment (writing it would be legitimate). */
  const keyFor = (topic: string): string =>
    topic === topics.experiments || topic === topics.decisions
      ? `fuzz-exp-${serial++}`
      : topic === topics.posteriors
        ? `fuzz-exp-${serial++}/0`
        : id();

  const make = (category: HostileCategory): OutRecord | null => {
    switch (category) {
      case 'random-bytes': {
        const topic = anyInputTopic();
        return { topic, key: keyFor(topic), value: randomBytes(1 + Math.floor(random() * 300)) };
      }
      case 'truncated-avro': {
        const r = someAvro();
        const value = r.value ?? Buffer.alloc(0);
        return { ...r, value: value.subarray(0, Math.floor(random() * value.length)) };
      }
      case 'bit-flipped-avro': {
        const r = someAvro();
        const value = Buffer.from(r.value ?? Buffer.alloc(0));
        for (let i = 0; i < 3; i++) {
          const at = 10 + Math.floor(random() * Math.max(1, value.length - 10));
          if (at < value.length) value[at] = (value[at] ?? 0) ^ (1 << Math.floor(random() * 8));
        }
        return { ...r, value };
      }
      case 'wrong-fingerprint': {
        const r = someAvro();
        const value = Buffer.from(r.value ?? Buffer.alloc(0));
        for (let i = 2; i < 10 && i < value.length; i++) value[i] = Math.floor(random() * 256);
        return { ...r, value };
      }
      case 'json-wrong-types': {
        const requestId = id();
        const bodies: unknown[] = [
          { requestId: 5, experiment: 'spam-filter', payload: 'x' },
          { requestId, experiment: ['spam-filter'], payload: { a: 1 } },
          { requestId, label: 7, reward: 'high' },
          { requestId, reward: '1e309' },
          [1, 2, 3],
          'just a string',
          null,
        ];
        return {
          topic: pick([topics.requests, topics.labels]),
          key: requestId,
          value: Buffer.from(JSON.stringify(pick(bodies))),
          headers: JSON_HEADERS,
        };
      }
      case 'bad-reward': {
        // NaN, ±Infinity, negative or above 1 for a unit-interval experiment. For a valid
        // request still waiting for its label, this invalid label comes first: it must not take
        // the slot of the valid label that follows.
        const valid = random() < 0.3 ? context.pendingValidId() : null;
        const requestId = valid ?? id();
        const reward = pick([Number.NaN, Infinity, -Infinity, -0.5, 1.7, 1e300]);
        return {
          topic: topics.labels,
          key: requestId,
          value: label(requestId, { reward, label: null }),
        };
      }
      case 'odd-ids': {
        const odd = pick([
          '',
          ' ',
          'Ω漢字🙂',
          '\u200b\u200f',
          'a/b/c',
          '\ud800',
          'x'.repeat(65),
          '\u0000',
        ]);
        const requestId = `${odd}${serial++}`;
        return pick<OutRecord>([
          { topic: topics.requests, key: requestId, value: request(requestId) },
          { topic: topics.labels, key: requestId, value: label(requestId) },
        ]);
      }
      case 'huge-id': {
        const requestId = `fuzz-huge-${serial++}-${'h'.repeat(20_000 + Math.floor(random() * 180_000))}`;
        return pick<OutRecord>([
          {
            topic: topics.requests,
            key: random() < 0.5 ? null : requestId,
            value: request(requestId),
          },
          { topic: topics.labels, key: requestId, value: label(requestId) },
        ]);
      }
      case 'null-key': {
        const r = someAvro();
        return { ...r, key: null };
      }
      case 'tombstone': {
        const topic = anyInputTopic();
        return { topic, key: keyFor(topic), value: null };
      }
      case 'unknown-experiment': {
        const requestId = id();
        return {
          topic: topics.requests,
          key: requestId,
          value: request(requestId, { experiment: `fuzz-exp-${serial++}` }),
        };
      }
      case 'unknown-variant': {
        const requestId = id();
        return pick<OutRecord>([
          {
            topic: topics.requests,
            key: requestId,
            value: request(requestId, { targetVariant: 'no-such-variant' }),
          },
          {
            topic: topics.predictions,
            key: requestId,
            value: prediction(requestId, {
              experiment: 'spam-filter',
              requestedVariant: 'no-such-variant',
              invokedVariant: 'no-such-variant',
            }),
          },
        ]);
      }
      case 'future-event-time': {
        const requestId = id();
        return {
          topic: topics.labels,
          key: requestId,
          value: label(requestId, { eventTime: context.now() + 2 * DAY_MS }),
        };
      }
      case 'ancient-event-time': {
        const requestId = id();
        return pick<OutRecord>([
          { topic: topics.labels, key: requestId, value: label(requestId, { eventTime: 0 }) },
          { topic: topics.requests, key: requestId, value: request(requestId, { eventTime: 0 }) },
        ]);
      }
      case 'invalid-experiment': {
        // A definition that decodes but breaks the rules, under the valid experiment's own key
        // (ignored: the previous valid revision stays), or under another name than its own.
        const broken = pick<ExperimentDefined>([
          { ...context.validExperiment, variants: [] },
          { ...context.validExperiment, priorAlpha: -1 },
          { ...context.validExperiment, attributionWindowMs: 0 },
        ]);
        return {
          topic: topics.experiments,
          key: random() < 0.8 ? 'spam-filter' : `fuzz-exp-${serial++}`,
          value: codecs.experiment.encode(broken),
        };
      }
      case 'duplicate':
        return sent.length === 0 ? null : pick(sent);
    }
  };

  const categories: readonly HostileCategory[] = [
    'random-bytes',
    'truncated-avro',
    'bit-flipped-avro',
    'wrong-fingerprint',
    'json-wrong-types',
    'bad-reward',
    'odd-ids',
    'huge-id',
    'null-key',
    'tombstone',
    'unknown-experiment',
    'unknown-variant',
    'future-event-time',
    'ancient-event-time',
    'invalid-experiment',
    'duplicate',
  ];
  return () => {
    for (;;) {
      // Huge ids are expensive to produce: one in fifty draws.
      const category = pick(categories);
      if (category === 'huge-id' && random() > 0.2) continue;
      const record = make(category);
      if (record === null) continue;
      if (category !== 'duplicate' && sent.length < 2_000) sent.push(record);
      return { category, record };
    }
  };
}
