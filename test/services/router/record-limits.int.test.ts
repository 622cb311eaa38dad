// The router against hostile requests on the real broker: a giant request id with a null key,
// an assignment that would exceed the broker's message size, and ids without a UTF-8 form. Each
// is dead-lettered with its reason, and the valid requests around it are routed.
import { describe, expect, it } from 'vitest';
import type { DeadLettered, InferenceRequested } from '../../../lib/contracts/events.ts';
import type { LogRecord } from '../../../lib/event-log/event-log.ts';
import { waitFor } from '../../support/kafka-test-kit.ts';
import {
  experimentFixture,
  openPipeline,
  startTestRouter,
  type Pipeline,
  type TopicOverrides,
} from '../../support/pipeline-harness.ts';

function request(
  requestId: string,
  overrides: Partial<InferenceRequested> = {},
): InferenceRequested {
  return {
    requestId,
    experiment: 'spam-filter',
    payload: Buffer.from('Subject: hello'),
    contentType: 'text/plain',
    userId: null,
    targetVariant: null,
    eventTime: 1_700_000_000_000,
    ...overrides,
  };
}

async function sendValid(pipeline: Pipeline, prefix: string, count: number): Promise<void> {
  const { topics, codecs } = pipeline;
  await pipeline.send(
    Array.from({ length: count }, (_, i) => ({
      topic: topics.requests,
      key: `${prefix}${i}`,
      value: codecs.request.encode(request(`${prefix}${i}`)),
    })),
  );
}

/** A dead letter must read back byte for byte: strings that were not UTF-8 would not. */
function expectValidAvro(pipeline: Pipeline, record: LogRecord): void {
  const codec = pipeline.codecs['dead-letter'];
  const bytes = record.value ?? Buffer.alloc(0);
  expect(Buffer.from(codec.encode(codec.decode(bytes))).equals(bytes)).toBe(true);
}

/**
 * Routes one request `big` with a payload of `payloadBytes` and five valid ones on a pipeline
 * with these topic settings; the valid ones must be routed. Returns the one dead letter.
 */
async function routeOversized(
  overrides: TopicOverrides,
  maxPayloadBytes: number,
  payloadBytes: number,
): Promise<DeadLettered> {
  const pipeline = await openPipeline(1, overrides);
  const { topics, codecs } = pipeline;
  await pipeline.defineExperiment(experimentFixture());
  await startTestRouter(pipeline, { seed: 3, now: 1_700_000_000_500, maxPayloadBytes });
  const assignments = await pipeline.collect(topics.assignments);
  const letters = await pipeline.collect(topics.deadLetters);
  const big = request('big', { payload: Buffer.alloc(payloadBytes, 0x61) });
  await pipeline.send([{ topic: topics.requests, key: 'big', value: codecs.request.encode(big) }]);
  await sendValid(pipeline, 'ok', 5);
  await waitFor(
    '5 assignments and 1 dead letter',
    () => (assignments.length === 5 && letters.length === 1 ? true : undefined),
    20_000,
  );
  return codecs['dead-letter'].decode(letters[0]?.value ?? Buffer.alloc(0));
}

describe('router limits', () => {
  it('dead-letters a 600 KB request id with a null key and keeps routing every partition', async () => {
    const pipeline = await openPipeline(2);
    const { topics, codecs } = pipeline;
    await pipeline.defineExperiment(experimentFixture());
    // The default payload limit, so the value alone is not over the limit: the id is.
    const router = await startTestRouter(pipeline, {
      seed: 3,
      now: 1_700_000_000_500,
      maxPayloadBytes: 256 * 1024,
    });
    const assignments = await pipeline.collect(topics.assignments);
    const letters = await pipeline.collect(topics.deadLetters);

    // The assignment would carry the id twice (key and value): over the broker's 1 MiB.
    const hugeId = 'x'.repeat(600 * 1024);
    await pipeline.send([
      { topic: topics.requests, key: null, value: codecs.request.encode(request(hugeId)) },
    ]);
    await sendValid(pipeline, 'after', 12);

    await waitFor(
      '12 assignments and 1 dead letter',
      () => (assignments.length === 12 && letters.length === 1 ? true : undefined),
      20_000,
    );
    const [letter] = letters;
    if (letter === undefined) throw new Error('unreachable');
    expectValidAvro(pipeline, letter);
    const decoded = codecs['dead-letter'].decode(letter.value ?? Buffer.alloc(0));
    expect(decoded).toMatchObject({ errorCode: 'INVALID_FIELD', key: null, service: 'router' });
    expect(decoded.reason).toBe('requestId is 614400 characters; the limit is 1024');
    expect(router.stats.deadLettered).toBe(1);
  });

  it('dead-letters a request whose assignment would exceed the assignments topic', async () => {
    // An operator may let the requests topic take larger records than the assignments topic.
    const letter = await routeOversized(
      { requests: { 'max.message.bytes': String(4 * 1024 * 1024) } },
      2 * 1024 * 1024,
      1_500_000,
    );
    expect(letter.errorCode).toBe('PAYLOAD_TOO_LARGE');
    expect(letter.reason).toMatch(/^the assignment would take \d+ bytes; the topic accepts/);
    expect(Buffer.from(letter.key ?? []).toString()).toBe('big');
  });

  it('takes max.message.bytes of the assignments topic from the broker, below the default too', async () => {
    // Within the payload limit and Kafka's default message size, over this topic's 64 KiB.
    const letter = await routeOversized(
      { assignments: { 'max.message.bytes': String(64 * 1024) } },
      256 * 1024,
      100_000,
    );
    expect(letter.errorCode).toBe('PAYLOAD_TOO_LARGE');
    expect(letter.reason).toMatch(/the topic accepts at most 65536 \(max.message.bytes\)$/);
  });

  it('dead-letters a request id without a UTF-8 form (a lone surrogate) instead of routing it', async () => {
    const pipeline = await openPipeline(1);
    const { topics } = pipeline;
    await pipeline.defineExperiment(experimentFixture());
    await startTestRouter(pipeline, { seed: 3, now: 1_700_000_000_500 });
    const assignments = await pipeline.collect(topics.assignments);
    const letters = await pipeline.collect(topics.deadLetters);

    // JSON can spell a lone surrogate; the Avro encoder would write it into the assignment as
    // bytes that are not UTF-8, which the next reader would turn into another id.
    const json = '{"requestId":"a\\ud800b","experiment":"spam-filter","payload":"hi"}';
    await pipeline.send([
      {
        topic: topics.requests,
        key: 'lone',
        value: Buffer.from(json),
        headers: { 'content-type': 'application/json' },
      },
    ]);
    await sendValid(pipeline, 'ok', 3);
    await waitFor('3 assignments and 1 dead letter', () =>
      assignments.length === 3 && letters.length === 1 ? true : undefined,
    );
    const [letter] = letters;
    if (letter === undefined) throw new Error('unreachable');
    expectValidAvro(pipeline, letter);
    const decoded = pipeline.codecs['dead-letter'].decode(letter.value ?? Buffer.alloc(0));
    expect(decoded.errorCode).toBe('INVALID_FIELD');
    expect(decoded.reason).toBe('requestId holds a lone surrogate: it has no UTF-8 form');
    for (const assignment of assignments) {
      const codec = pipeline.codecs.assignment;
      const bytes = assignment.value ?? Buffer.alloc(0);
      expect(Buffer.from(codec.encode(codec.decode(bytes))).equals(bytes)).toBe(true);
    }
  });
});
