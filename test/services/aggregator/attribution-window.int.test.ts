// Attribution windows on the real broker, driven entirely by event times: labels inside the
// window join, labels after it are published as late and counted, predictions whose window
// closes without a label resolve implicitly (or are dropped), and labels that never meet their
// prediction become orphans.
import { describe, expect, it, onTestFinished } from 'vitest';
import type { LabelReceived, PredictionMade } from '../../../lib/contracts/events.ts';
import type { OutRecord } from '../../../lib/event-log/event-log.ts';
import { openRocksDbStore } from '../../../lib/store/rocksdb-store.ts';
import {
  startAggregator,
  type RunningAggregator,
} from '../../../services/aggregator/build-aggregator.ts';
import { uniqueName, waitFor } from '../../support/kafka-test-kit.ts';
import {
  ExpectedTally,
  experimentFixture,
  labelFixture,
  mergePosteriors,
  openPipeline,
  predictionFixture,
  type Pipeline,
} from '../../support/pipeline-harness.ts';

const T = 1_700_000_000_000;

/** An aggregator on a fresh store with a 15 s orphan horizon, stopped when the test ends. */
async function startWindowedAggregator(
  pipeline: Pipeline,
  now: () => number,
  idleCloseMs?: number,
  groupId = uniqueName('agg'),
): Promise<RunningAggregator> {
  const store = await openRocksDbStore(await pipeline.tempDir());
  const aggregator = await startAggregator({
    eventLog: pipeline.eventLog,
    store,
    codecs: pipeline.codecs,
    topics: pipeline.topics,
    groupId,
    logger: pipeline.logger,
    now,
    snapshotIntervalMs: 0,
    orphanAfterMs: 15_000,
    ...(idleCloseMs === undefined ? {} : { idleCloseMs }),
  });
  onTestFinished(async () => {
    await aggregator.stop();
    await store.close();
  });
  return aggregator;
}

describe('attribution windows', () => {
  it('joins in-window labels, reports late ones, closes windows implicitly and dead-letters orphans', async () => {
    const pipeline: Pipeline = await openPipeline(1);
    const { topics, codecs } = pipeline;
    const window = { attributionWindowMs: 10_000, graceMs: 1_000 };
    await pipeline.defineExperiment(experimentFixture({ ...window, implicitReward: 0 }));
    await pipeline.defineExperiment(
      experimentFixture({ ...window, experiment: 'drop-exp', implicitReward: null }),
    );
    const aggregator = await startWindowedAggregator(pipeline, () => T + 50_000);
    const rewards = await pipeline.collect(topics.rewards);
    const late = await pipeline.collect(topics.lateLabels);
    const letters = await pipeline.collect(topics.deadLetters);
    const posteriors = await pipeline.collect(topics.posteriors);

    const prediction = (id: string, overrides: Partial<PredictionMade> = {}): OutRecord => ({
      topic: topics.predictions,
      key: id,
      value: codecs.prediction.encode(predictionFixture(id, { requestTime: T, ...overrides })),
    });
    const label = (
      id: string,
      eventTime: number,
      overrides: Partial<LabelReceived> = {},
    ): OutRecord => ({
      topic: topics.labels,
      key: id,
      value: codecs.label.encode(labelFixture(id, { eventTime, ...overrides })),
    });

    await pipeline.send([
      prediction('a'),
      prediction('b'),
      prediction('c/1'), // a '/' in the id must not break its window key
      prediction('e', { experiment: 'drop-exp' }),
      prediction('f'),
      label('a', T + 5_000), // inside the window: reward 1
      label('b', T + 10_001), // 1 ms after the window: late
      label('d', T + 1_000), // no prediction will ever come: orphan
    ]);
    await waitFor('the late label', () => (late.length === 1 ? true : undefined));
    expect(aggregator.stats.implicit).toBe(0);

    // A label far ahead in event time moves the watermark past every window (end + grace) and
    // past d's orphan deadline.
    await pipeline.send([label('tick', T + 20_000)]);
    await waitFor('the windows to close', () =>
      aggregator.stats.implicit === 3 ? true : undefined,
    );
    // f's label is inside its window by event time but arrives after the window closed: late.
    await pipeline.send([label('f', T + 2_000)]);
    await waitFor('the second late label', () => (late.length === 2 ? true : undefined));
    // A prediction whose window the watermark passed already: it closes in the pass that stores
    // it, below where the earlier closing scans ended.
    await pipeline.send([prediction('g')]);
    await waitFor('the stale window to close', () =>
      aggregator.stats.implicit === 4 ? true : undefined,
    );

    // The stats count a change once committed; the collector reads it a moment later.
    await waitFor('the rewards', () => (rewards.length === 5 ? true : undefined));
    const decodedRewards = rewards.map((r) => codecs.reward.decode(r.value ?? Buffer.alloc(0)));
    expect(decodedRewards.map((r) => [r.requestId, r.resolution, r.reward]).sort()).toEqual([
      ['a', 'label', 1],
      ['b', 'implicit', 0],
      ['c/1', 'implicit', 0],
      ['f', 'implicit', 0],
      ['g', 'implicit', 0],
    ]);
    const decodedLate = late.map((r) => codecs.reward.decode(r.value ?? Buffer.alloc(0)));
    expect(decodedLate.map((r) => [r.requestId, r.resolution, r.labelTime])).toEqual([
      ['b', 'late', T + 10_001],
      ['f', 'late', T + 2_000],
    ]);
    await waitFor('the orphan', () => (letters.length === 1 ? true : undefined));
    const orphan = codecs['dead-letter'].decode(letters[0]?.value ?? Buffer.alloc(0));
    expect(orphan).toMatchObject({ errorCode: 'ORPHAN_LABEL', sourceTopic: topics.labels });
    expect(codecs.label.decode(orphan.value ?? new Uint8Array()).requestId).toBe('d');

    const expected = new ExpectedTally()
      .reward('champion', 1)
      .late('champion')
      .reward('champion', 0, true)
      .reward('champion', 0, true)
      .reward('champion', 0, true)
      .late('champion')
      .reward('champion', 0, true);
    await waitFor('the final posterior', () => {
      const merged = mergePosteriors(posteriors, codecs, 'spam-filter');
      return merged.get('champion')?.late === 2 ? true : undefined;
    });
    expect(mergePosteriors(posteriors, codecs, 'spam-filter')).toEqual(expected.byVariant);
    expect(mergePosteriors(posteriors, codecs, 'drop-exp')).toEqual(
      new ExpectedTally().dropped('champion').byVariant,
    );
    expect(aggregator.stats).toMatchObject({
      rewards: 1,
      implicit: 4,
      dropped: 1,
      late: 2,
      orphaned: 1,
      purged: 0,
    });

    // Forgetting: once the watermark passes a resolved slot's window end plus the orphan horizon
    // (15 s here), the slot is deleted (a tombstone on the changelog), so the store holds only
    // what can still change. 'tick' is still a label waiting: orphaned now, forgotten later.
    await pipeline.send([label('tock', T + 100_000)]);
    await waitFor('the resolved slots to be forgotten', () =>
      aggregator.stats.purged === 7 ? true : undefined,
    );
    expect(aggregator.stats.orphaned).toBe(2);
    expect(mergePosteriors(posteriors, codecs, 'spam-filter')).toEqual(expected.byVariant);
  });

  it('closes windows by processing time once the labels stream has been idle long enough', async () => {
    const pipeline: Pipeline = await openPipeline(1);
    const { topics, codecs } = pipeline;
    await pipeline.defineExperiment(
      experimentFixture({ attributionWindowMs: 10_000, graceMs: 1_000, implicitReward: 0 }),
    );
    let clock = T + 50_000;
    const aggregator = await startWindowedAggregator(pipeline, () => clock, 200);
    const rewards = await pipeline.collect(topics.rewards);
    const predict = (id: string): OutRecord => ({
      topic: topics.predictions,
      key: id,
      value: codecs.prediction.encode(predictionFixture(id, { requestTime: T })),
    });
    await pipeline.send([
      predict('answered'),
      predict('unanswered'),
      {
        topic: topics.labels,
        key: 'answered',
        value: codecs.label.encode(labelFixture('answered', { eventTime: T + 1_000 })),
      },
    ]);
    await waitFor('the answered reward', () => (rewards.length === 1 ? true : undefined));

    // The watermark is T + 1 s. Processing time moves on while no label comes: once the stream
    // has been idle for 200 ms, the watermark follows the clock from T + 1 s, and "unanswered"
    // closes (window end T + 10 s, plus 1 s grace) once 10 s more have passed.
    clock += 5_000;
    await waitFor('an idle advance', () => (aggregator.stats.idleAdvances > 0 ? true : undefined));
    expect(aggregator.stats.implicit).toBe(0);
    clock += 10_000;
    await waitFor('the idle window to close', () =>
      aggregator.stats.implicit === 1 ? true : undefined,
    );
    await waitFor('the implicit reward', () => (rewards.length === 2 ? true : undefined));
    const published = rewards.map((r) => codecs.reward.decode(r.value ?? Buffer.alloc(0)));
    expect(published.map((r) => [r.requestId, r.resolution]).sort()).toEqual([
      ['answered', 'label'],
      ['unanswered', 'implicit'],
    ]);
  });
  it('closes the windows of predictions restored from the changelog onto an empty disk', async () => {
    const pipeline: Pipeline = await openPipeline(1);
    const { topics, codecs } = pipeline;
    await pipeline.defineExperiment(
      experimentFixture({ attributionWindowMs: 10_000, graceMs: 1_000, implicitReward: 0 }),
    );
    const groupId = uniqueName('agg');
    const rewards = await pipeline.collect(topics.rewards);
    const first = await startWindowedAggregator(pipeline, () => T + 50_000, undefined, groupId);
    const ids = ['p1', 'p2', 'p3'];
    await pipeline.send(
      ids.map((id) => ({
        topic: topics.predictions,
        key: id,
        value: codecs.prediction.encode(predictionFixture(id, { requestTime: T })),
      })),
    );
    await waitFor('3 pending predictions', () =>
      first.stats.predictions === 3 ? true : undefined,
    );
    await first.stop();

    // The window index is kept on the first disk only; the second instance derives it from the
    // restored slots, so a label whose event time passes their windows closes them.
    const second = await startWindowedAggregator(pipeline, () => T + 50_000, undefined, groupId);
    await waitFor('the restore', () => (second.runnerStats.restores === 1 ? true : undefined));
    expect(second.runnerStats.fullRestores).toBe(1);
    expect(second.runnerStats.restoredRecords).toBeGreaterThan(0);
    await pipeline.send([
      {
        topic: topics.labels,
        key: 'later',
        value: codecs.label.encode(labelFixture('later', { eventTime: T + 20_000 })),
      },
    ]);
    await waitFor('the restored windows to close', () =>
      second.stats.implicit === 3 ? true : undefined,
    );
    await waitFor('3 implicit rewards', () => (rewards.length === 3 ? true : undefined));
    const decoded = rewards.map((r) => codecs.reward.decode(r.value ?? Buffer.alloc(0)));
    expect(decoded.map((r) => [r.requestId, r.resolution]).sort()).toEqual(
      ids.map((id) => [id, 'implicit']),
    );
  });
});
