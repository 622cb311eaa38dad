// Labels that must not change anything but themselves, on the real broker: a label dated far
// beyond its record's broker timestamp cannot move the watermark; the outcome of a request does
// not depend on whether its labels came before or after its prediction; an invalid label never
// takes the place of a valid one; a label on a partition other than its request id's is forwarded
// to that partition and joined there, not left to become an orphan.
import { describe, expect, it, onTestFinished } from 'vitest';
import type { LabelReceived, PredictionMade } from '../../../lib/contracts/events.ts';
import type { OutRecord } from '../../../lib/event-log/event-log.ts';
import { partitionForKey } from '../../../lib/event-log/murmur2.ts';
import { openRocksDbStore } from '../../../lib/store/rocksdb-store.ts';
import {
  startAggregator,
  type RunningAggregator,
} from '../../../services/aggregator/build-aggregator.ts';
import { uniqueName, waitFor } from '../../support/kafka-test-kit.ts';
import {
  experimentFixture,
  labelFixture,
  openPipeline,
  predictionFixture,
  type Pipeline,
} from '../../support/pipeline-harness.ts';

const ALLOWANCE_MS = 60_000;

async function startHostileAggregator(pipeline: Pipeline): Promise<RunningAggregator> {
  const store = await openRocksDbStore(await pipeline.tempDir());
  const aggregator = await startAggregator({
    eventLog: pipeline.eventLog,
    store,
    codecs: pipeline.codecs,
    topics: pipeline.topics,
    groupId: uniqueName('agg'),
    logger: pipeline.logger,
    now: Date.now,
    snapshotIntervalMs: 0,
    orphanAfterMs: 15_000,
    eventTimeAllowanceMs: ALLOWANCE_MS,
  });
  onTestFinished(async () => {
    await aggregator.stop();
    await store.close();
  });
  return aggregator;
}

interface Scene {
  readonly pipeline: Pipeline;
  readonly aggregator: RunningAggregator;
  readonly rewards: () => (string | number)[][];
  readonly late: () => string[];
  readonly letters: () => { errorCode: string; reason: string; label: LabelReceived }[];
  prediction(id: string, requestTime: number, overrides?: Partial<PredictionMade>): OutRecord;
  label(id: string, eventTime: number, overrides?: Partial<LabelReceived>): OutRecord;
}

async function scene(partitions = 1): Promise<Scene> {
  const pipeline = await openPipeline(partitions);
  const { topics, codecs } = pipeline;
  await pipeline.defineExperiment(
    experimentFixture({ attributionWindowMs: 10_000, graceMs: 5_000, implicitReward: 0 }),
  );
  const aggregator = await startHostileAggregator(pipeline);
  const rewards = await pipeline.collect(topics.rewards);
  const late = await pipeline.collect(topics.lateLabels);
  const letters = await pipeline.collect(topics.deadLetters);
  return {
    pipeline,
    aggregator,
    rewards: () =>
      rewards
        .map((r) => codecs.reward.decode(r.value ?? Buffer.alloc(0)))
        .map((r) => [r.requestId, r.resolution, r.reward])
        .sort(),
    late: () => late.map((r) => codecs.reward.decode(r.value ?? Buffer.alloc(0)).requestId).sort(),
    letters: () =>
      letters.map((r) => {
        const letter = codecs['dead-letter'].decode(r.value ?? Buffer.alloc(0));
        return {
          errorCode: letter.errorCode,
          reason: letter.reason,
          label: codecs.label.decode(letter.value ?? new Uint8Array()),
        };
      }),
    prediction: (id, requestTime, overrides = {}) => ({
      topic: topics.predictions,
      key: id,
      value: codecs.prediction.encode(predictionFixture(id, { requestTime, ...overrides })),
    }),
    label: (id, eventTime, overrides = {}) => ({
      topic: topics.labels,
      key: id,
      value: codecs.label.encode(labelFixture(id, { eventTime, ...overrides })),
    }),
  };
}

describe('hostile labels', () => {
  it('dead-letters a label dated two days ahead of its broker timestamp; open windows stay open', async () => {
    const s = await scene();
    const start = Date.now();
    await s.pipeline.send([s.prediction('a', start), s.prediction('b', start)]);
    await waitFor('the predictions', () =>
      s.aggregator.stats.predictions === 2 ? true : undefined,
    );
    // For a request nobody knows, dated two days ahead: before the bound it moved the
    // partition's watermark and closed a's and b's windows.
    await s.pipeline.send([s.label('ghost', start + 2 * 86_400_000)]);
    await waitFor('the dead letter', () => (s.letters().length === 1 ? true : undefined));
    const [letter] = s.letters();
    expect(letter?.errorCode).toBe('INVALID_FIELD');
    expect(letter?.reason).toContain('broker timestamp');
    expect(letter?.label.requestId).toBe('ghost');

    await s.pipeline.send([s.label('a', start + 1_000), s.label('b', start + 2_000)]);
    await waitFor('the rewards', () => (s.rewards().length === 2 ? true : undefined));
    expect(s.rewards()).toEqual([
      ['a', 'label', 1],
      ['b', 'label', 1],
    ]);
    expect(s.aggregator.stats).toMatchObject({ implicit: 0, late: 0, dropped: 0 });
  });

  it('counts an in-window label that follows a late one, whether the labels or the prediction came first', async () => {
    const s = await scene();
    const T = 1_700_000_000_000;
    // Window [T, T + 10 s], grace 5 s. The late label's truth differs from the prediction.
    const lateLabel = (id: string): OutRecord => s.label(id, T + 10_500, { label: 'ham' });
    const inWindow = (id: string): OutRecord => s.label(id, T + 1_000);
    await s.pipeline.send([s.prediction('prediction-first', T)]);
    await s.pipeline.send([lateLabel('prediction-first'), lateLabel('labels-first')]);
    await s.pipeline.send([inWindow('prediction-first'), inWindow('labels-first')]);
    await waitFor('the four labels', () => (s.aggregator.stats.labels === 4 ? true : undefined));
    await s.pipeline.send([s.prediction('labels-first', T)]);
    await waitFor('both rewards', () => (s.rewards().length === 2 ? true : undefined));
    await waitFor('both late reports', () => (s.late().length === 2 ? true : undefined));
    expect(s.rewards()).toEqual([
      ['labels-first', 'label', 1],
      ['prediction-first', 'label', 1],
    ]);
    expect(s.late()).toEqual(['labels-first', 'prediction-first']);
  });

  it('dead-letters an invalid label once and counts the valid label after it, in either order', async () => {
    const s = await scene();
    const T = 1_700_000_000_000;
    const invalid = (id: string): OutRecord => s.label(id, T + 1_000, { reward: 1.7 });
    const valid = (id: string): OutRecord => s.label(id, T + 2_000, { reward: 1 });
    await s.pipeline.send([s.prediction('prediction-first', T)]);
    await s.pipeline.send([invalid('prediction-first'), invalid('labels-first')]);
    await s.pipeline.send([valid('prediction-first'), valid('labels-first')]);
    await waitFor('the four labels', () => (s.aggregator.stats.labels === 4 ? true : undefined));
    await s.pipeline.send([s.prediction('labels-first', T)]);
    await waitFor('both rewards', () => (s.rewards().length === 2 ? true : undefined));
    await waitFor('both dead letters', () => (s.letters().length === 2 ? true : undefined));
    expect(s.rewards()).toEqual([
      ['labels-first', 'label', 1],
      ['prediction-first', 'label', 1],
    ]);
    expect(
      s
        .letters()
        .map((l) => [l.label.requestId, l.label.reward, l.errorCode])
        .sort(),
    ).toEqual([
      ['labels-first', 1.7, 'INVALID_FIELD'],
      ['prediction-first', 1.7, 'INVALID_FIELD'],
    ]);
  });

  it('forwards labels from the wrong partition, keyed by something else or by nothing, and joins them', async () => {
    const s = await scene(4);
    const T = 1_700_000_000_000;
    const ids = ['r-1', 'r-2', 'r-3', 'r-4', 'r-5', 'r-6'];
    await s.pipeline.send(ids.map((id) => s.prediction(id, T)));
    await waitFor('the predictions', () =>
      s.aggregator.stats.predictions === ids.length ? true : undefined,
    );
    const home = (id: string): number => partitionForKey(id, 4);
    const [a = '', b = '', c = '', ...inPlace] = ids;
    await s.pipeline.send([
      // On the partition after its own, by an explicit choice of the producer.
      { ...s.label(a, T + 1_000), partition: (home(a) + 1) % 4 },
      // Keyed by a user id: murmur2 of that key picks the partition.
      { ...s.label(b, T + 1_000), key: 'user-42', partition: (home(b) + 2) % 4 },
      // No key, on a partition that is not its own.
      { ...s.label(c, T + 1_000), key: null, partition: (home(c) + 3) % 4 },
      ...inPlace.map((id) => s.label(id, T + 1_000)),
    ]);
    await waitFor('every reward', () => (s.rewards().length === ids.length ? true : undefined));
    expect(s.rewards()).toEqual(ids.map((id) => [id, 'label', 1]));
    expect(s.aggregator.stats).toMatchObject({ forwarded: 3, labels: 6, orphaned: 0 });
    expect(s.letters()).toEqual([]);
    // The repartition topic holds the three, each on its request id's partition.
    const forwarded = await s.pipeline.collect(s.pipeline.topics.labelsRepartition);
    await waitFor('the forwarded records', () => (forwarded.length === 3 ? true : undefined));
    expect(
      forwarded
        .map((r) => [
          s.pipeline.codecs.label.decode(r.value ?? Buffer.alloc(0)).requestId,
          r.partition,
        ])
        .sort(),
    ).toEqual([a, b, c].map((id) => [id, home(id)]).sort());
  });

  it('dead-letters labels and predictions over their limits before joining them; the valid label counts', async () => {
    const s = await scene();
    const T = 1_700_000_000_000;
    await s.pipeline.send([s.prediction('a', T)]);
    const bigJson = Buffer.from(
      JSON.stringify({ requestId: 'a', reward: 0, eventTime: T + 500, note: 'n'.repeat(70_000) }),
    );
    await s.pipeline.send([
      // An id no request can have (the limit is 1 KiB, plus a shadow suffix).
      { ...s.label('i'.repeat(2_000), T + 1_000), key: 'i' },
      // A ground truth of 5,000 characters for a request that exists.
      s.label('a', T + 1_000, { label: 't'.repeat(5_000), reward: null }),
      // 70 KB of JSON: refused before it is parsed.
      {
        topic: s.pipeline.topics.labels,
        key: 'a',
        value: bigJson,
        headers: { 'content-type': 'application/json' },
      },
      s.label('a', T + 2_000, { reward: 1 }),
      // A prediction whose id no request can have.
      { ...s.prediction('p'.repeat(2_000), T), key: 'p' },
    ]);
    await waitFor('the reward', () => (s.rewards().length === 1 ? true : undefined));
    expect(s.rewards()).toEqual([['a', 'label', 1]]);
    const letters = await s.pipeline.collect(s.pipeline.topics.deadLetters);
    await waitFor('four dead letters', () => (letters.length === 4 ? true : undefined));
    expect(
      letters
        .map((r) => s.pipeline.codecs['dead-letter'].decode(r.value ?? Buffer.alloc(0)))
        .map((l) => [l.sourceTopic, l.errorCode, l.reason.replace(/ is .*/, '')])
        .sort(),
    ).toEqual([
      [s.pipeline.topics.labels, 'INVALID_FIELD', 'label'],
      [s.pipeline.topics.labels, 'INVALID_FIELD', 'requestId'],
      [s.pipeline.topics.labels, 'PAYLOAD_TOO_LARGE', 'label record'],
      [s.pipeline.topics.predictions, 'INVALID_FIELD', 'requestId'],
    ]);
    expect(s.aggregator.stats.predictions).toBe(1);
  });
});
