// Scale-out: two aggregator instances in one consumer group over four partitions. An instance
// joins in mid-stream and the first one leaves later; each rebalance moves partitions between
// instances with separate stores, and the merged posterior still counts every reward once.
import { describe, expect, it } from 'vitest';
import type { OutRecord } from '../../../lib/event-log/event-log.ts';
import type { RunningAggregator } from '../../../services/aggregator/build-aggregator.ts';
import { uniqueName, waitFor } from '../../support/kafka-test-kit.ts';
import {
  ExpectedTally,
  experimentFixture,
  foldedCount,
  labelFixture,
  mergePosteriors,
  openPipeline,
  predictionFixture,
  type Pipeline,
  startTestAggregator,
} from '../../support/pipeline-harness.ts';

const startInstance = async (pipeline: Pipeline, groupId: string): Promise<RunningAggregator> =>
  startTestAggregator(pipeline, await pipeline.tempDir(), groupId, {
    now: 1_700_000_009_000,
    snapshotIntervalMs: 50,
  });

describe('aggregator scale-out', () => {
  it('neither loses nor double-counts when an instance joins and another leaves', async () => {
    const pipeline = await openPipeline(4);
    const { topics, codecs } = pipeline;
    await pipeline.defineExperiment(experimentFixture());
    const groupId = uniqueName('agg');
    const posteriors = await pipeline.collect(topics.posteriors);
    const expected = new ExpectedTally();
    const wave = (from: number, to: number): OutRecord[] =>
      Array.from({ length: to - from }, (_, k) => from + k).flatMap((i) => {
        const id = `w${i}`;
        const variant = i % 4 === 0 ? 'challenger' : 'champion';
        const reward = i % 3 === 0 ? 0 : 1;
        expected.reward(variant, reward);
        return [
          {
            topic: topics.predictions,
            key: id,
            value: codecs.prediction.encode(
              predictionFixture(id, { invokedVariant: variant, requestedVariant: variant }),
            ),
          },
          {
            topic: topics.labels,
            key: id,
            value: codecs.label.encode(labelFixture(id, { label: reward === 1 ? 'spam' : 'ham' })),
          },
        ];
      });
    const folded = (): number => foldedCount(mergePosteriors(posteriors, codecs, 'spam-filter'));

    const a = await startInstance(pipeline, groupId);
    await pipeline.send(wave(0, 400));
    await waitFor('the first wave', () => (folded() === 400 ? true : undefined));

    const b = await startInstance(pipeline, groupId);
    await pipeline.send(wave(400, 700));
    await waitFor(
      'the second wave with two instances',
      () => (folded() === 700 ? true : undefined),
      60_000,
    );
    // Both instances took part.
    expect(a.stats.rewards).toBeGreaterThan(0);
    expect(b.stats.rewards).toBeGreaterThan(0);

    await a.stop();
    await pipeline.send(wave(700, 1000));
    await waitFor(
      'the third wave after the first instance left',
      () => (folded() === 1000 ? true : undefined),
      60_000,
    );
    expect(mergePosteriors(posteriors, codecs, 'spam-filter')).toEqual(expected.byVariant);
  });
});
