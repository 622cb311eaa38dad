// Each bad record is dead-lettered once: the aggregator commits its dead letters with its state
// and its consumed offsets in one transaction, so neither a rebalance nor a restart on the same
// state directory publishes a dead letter again.
import { describe, expect, it, onTestFinished } from 'vitest';
import type { OutRecord } from '../../../lib/event-log/event-log.ts';
import type { KeyValueStore } from '../../../lib/store/key-value-store.ts';
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
  startTestAggregator,
} from '../../support/pipeline-harness.ts';

const startInstance = async (
  pipeline: Pipeline,
  stateDir: string,
  groupId: string,
): Promise<RunningAggregator> =>
  startTestAggregator(pipeline, stateDir, groupId, {
    now: 1_700_000_009_000,
    snapshotIntervalMs: 50,
  });

describe('aggregator dead letters', () => {
  it('are published once per bad record across rebalances and a restart', async () => {
    const pipeline = await openPipeline(4);
    const { topics, codecs } = pipeline;
    await pipeline.defineExperiment(experimentFixture());
    const groupId = uniqueName('agg');
    const letters = await pipeline.collect(topics.deadLetters);
    const rewards = await pipeline.collect(topics.rewards);
    let bad = 0;
    let good = 0;
    // Per request: a valid prediction and label, or one of three kinds of bad record.
    const wave = (from: number, to: number): OutRecord[] =>
      Array.from({ length: to - from }, (_, k) => from + k).flatMap((i): OutRecord[] => {
        const id = `w${i}`;
        switch (i % 4) {
          case 0:
            bad++;
            return [{ topic: topics.labels, key: id, value: Buffer.from(`not a label ${i}`) }];
          case 1:
            bad++;
            return [
              {
                topic: topics.predictions,
                key: id,
                value: codecs.prediction.encode(predictionFixture(id, { experiment: 'nobody' })),
              },
            ];
          case 2:
            bad++;
            good++;
            // An out-of-range reward: dead-lettered, and the valid label after it still counts.
            return [
              {
                topic: topics.predictions,
                key: id,
                value: codecs.prediction.encode(predictionFixture(id)),
              },
              {
                topic: topics.labels,
                key: id,
                value: codecs.label.encode(labelFixture(id, { reward: 1.7 })),
              },
              {
                topic: topics.labels,
                key: id,
                value: codecs.label.encode(labelFixture(id, { reward: 1 })),
              },
            ];
          default:
            good++;
            return [
              {
                topic: topics.predictions,
                key: id,
                value: codecs.prediction.encode(predictionFixture(id)),
              },
              { topic: topics.labels, key: id, value: codecs.label.encode(labelFixture(id)) },
            ];
        }
      });
    const settled = async (what: string): Promise<void> => {
      await waitFor(
        what,
        () => (letters.length >= bad && rewards.length >= good ? true : undefined),
        60_000,
      );
    };

    const dirA = await pipeline.tempDir();
    const dirB = await pipeline.tempDir();
    const a = await startInstance(pipeline, dirA, groupId);
    await pipeline.send(wave(0, 200));
    await settled('the first wave');
    const b = await startInstance(pipeline, dirB, groupId); // joins: a rebalance
    await pipeline.send(wave(200, 400));
    await settled('the second wave with two instances');
    await a.stop(); // leaves: its partitions move to b with their changelog
    await pipeline.send(wave(400, 600));
    await settled('the third wave after a left');
    await b.stop();
    await startInstance(pipeline, dirB, groupId); // restarts on its own state directory
    await pipeline.send(wave(600, 800));
    await settled('the fourth wave after the restart');

    const sources = letters.map((l) => {
      const letter = codecs['dead-letter'].decode(l.value ?? Buffer.alloc(0));
      // A label held for its prediction is dead-lettered from the store (offset -1): its bytes
      // tell it apart.
      const bytes =
        letter.sourceOffset === '-1' ? Buffer.from(letter.value ?? []).toString('hex') : '';
      return `${letter.sourceTopic}/${letter.sourcePartition}/${letter.sourceOffset}/${bytes}`;
    });
    expect(new Set(sources).size).toBe(sources.length);
    expect(sources).toHaveLength(bad);
    expect(rewards).toHaveLength(good);
  });

  it('are published once, and rewards counted once, when an instance is evicted mid-batch', async () => {
    const pipeline = await openPipeline(1);
    const { topics, codecs } = pipeline;
    await pipeline.defineExperiment(experimentFixture());
    const groupId = uniqueName('agg');
    const letters = await pipeline.collect(topics.deadLetters);
    const rewards = await pipeline.collect(topics.rewards);
    // The first instance's store stalls once, past the session timeout (10 s), while it reads
    // the join slots of a batch that holds a bad record: the group evicts it meanwhile.
    const inner = await openRocksDbStore(await pipeline.tempDir());
    let stalled = false;
    const stalling: KeyValueStore = {
      get: (key) => inner.get(key),
      async getMany(keys) {
        if (!stalled && keys.some((key) => key.endsWith('/stall'))) {
          stalled = true;
          await new Promise((resolve) => setTimeout(resolve, 14_000));
        }
        return inner.getMany(keys);
      },
      write: (operations) => inner.write(operations),
      entries: (prefix) => inner.entries(prefix),
      range: (gte, lt, limit) => inner.range(gte, lt, limit),
      close: () => inner.close(),
    };
    const a = await startAggregator({
      eventLog: pipeline.eventLog,
      store: stalling,
      codecs,
      topics,
      groupId,
      logger: pipeline.logger,
      now: () => 1_700_000_009_000,
      snapshotIntervalMs: 50,
      orphanAfterMs: 3_600_000,
    });
    onTestFinished(async () => {
      await a.stop();
      await inner.close();
    });
    await pipeline.send([
      { topic: topics.labels, key: 'stall', value: Buffer.from('not a label') },
      {
        topic: topics.predictions,
        key: 'stall',
        value: codecs.prediction.encode(predictionFixture('stall')),
      },
      { topic: topics.labels, key: 'stall', value: codecs.label.encode(labelFixture('stall')) },
    ]);
    await waitFor('the stall', () => (stalled ? true : undefined));
    const b = await startInstance(pipeline, await pipeline.tempDir(), groupId);
    await waitFor('the second instance', () => (b.stats.rewards === 1 ? true : undefined), 60_000);
    // The first instance wakes after 14 s and tries to commit what the second one committed.
    await waitFor(
      'the first instance to try',
      () => (a.runnerStats.batches > 0 ? true : undefined),
      30_000,
    );
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(letters).toHaveLength(1);
    expect(rewards).toHaveLength(1);
  }, 120_000);
});
