// The aggregator on the real broker: joins in either order, exact counts, duplicates, dead
// letters, restart from its store and restore from an empty store.
import { Kafka, logLevel } from 'kafkajs';
import { describe, expect, it, onTestFinished } from 'vitest';
import type { RunningAggregator } from '../../../services/aggregator/build-aggregator.ts';
import { testBrokers, uniqueName, waitFor } from '../../support/kafka-test-kit.ts';
import {
  ExpectedTally,
  experimentFixture,
  foldedCount,
  mergePosteriors,
  labelFixture,
  openPipeline,
  predictionFixture,
  type Pipeline,
  startTestAggregator,
} from '../../support/pipeline-harness.ts';

const runAggregator = (
  pipeline: Pipeline,
  stateDir: string,
  groupId: string,
): Promise<RunningAggregator> =>
  startTestAggregator(pipeline, stateDir, groupId, {
    now: 1_700_000_005_000,
    snapshotIntervalMs: 0,
  });

/** The Kafka timestamp of r4's JSON label (inside the fixtures' attribution window). */
const R4_LABEL_TIME = 1_700_000_002_000;

describe('aggregator', () => {
  it('joins predictions and labels in either order and publishes exact counts', async () => {
    const pipeline = await openPipeline(2);
    const { topics, codecs } = pipeline;
    await pipeline.defineExperiment(experimentFixture());
    await runAggregator(pipeline, await pipeline.tempDir(), uniqueName('agg'));

    // r1: prediction first, correct → champion 1. r2: label first, wrong → challenger 0.
    // r3: explicit fractional reward 0.25 for challenger. r4: label as JSON, correct → champion 1.
    await pipeline.send([
      {
        topic: topics.predictions,
        key: 'r1',
        value: codecs.prediction.encode(predictionFixture('r1')),
      },
      {
        topic: topics.labels,
        key: 'r2',
        value: codecs.label.encode(labelFixture('r2', { label: 'ham' })),
      },
      {
        topic: topics.predictions,
        key: 'r3',
        value: codecs.prediction.encode(
          predictionFixture('r3', { requestedVariant: 'challenger', invokedVariant: 'challenger' }),
        ),
      },
      {
        topic: topics.predictions,
        key: 'r4',
        value: codecs.prediction.encode(predictionFixture('r4')),
      },
    ]);
    await pipeline.send([
      { topic: topics.labels, key: 'r1', value: codecs.label.encode(labelFixture('r1')) },
      {
        topic: topics.predictions,
        key: 'r2',
        value: codecs.prediction.encode(
          predictionFixture('r2', { requestedVariant: 'challenger', invokedVariant: 'challenger' }),
        ),
      },
      {
        topic: topics.labels,
        key: 'r3',
        value: codecs.label.encode(labelFixture('r3', { reward: 0.25, label: null })),
      },
      {
        topic: topics.labels,
        key: 'r4',
        value: Buffer.from(JSON.stringify({ requestId: 'r4', label: 'spam' })),
        headers: { 'content-type': 'application/json' },
        timestamp: R4_LABEL_TIME,
      },
    ]);

    const posteriors = await pipeline.collect(topics.posteriors);
    const counts = await waitFor('4 rewards folded in', () => {
      const c = mergePosteriors(posteriors, pipeline.codecs, 'spam-filter');
      return foldedCount(c) === 4 ? c : undefined;
    });
    expect(counts).toEqual(
      new ExpectedTally()
        .reward('champion', 1)
        .reward('champion', 1)
        .reward('challenger', 0)
        .reward('challenger', 0.25).byVariant,
    );

    const rewards = await pipeline.collect(topics.rewards);
    await waitFor('4 rewards', () => (rewards.length === 4 ? true : undefined));
    const byId = new Map(
      rewards.map((r) => [r.key?.toString(), codecs.reward.decode(r.value ?? Buffer.alloc(0))]),
    );
    expect(byId.get('r1')).toMatchObject({
      variant: 'champion',
      reward: 1,
      resolution: 'label',
      propensity: 0.5,
    });
    expect(byId.get('r2')).toMatchObject({ variant: 'challenger', reward: 0 });
    expect(byId.get('r3')).toMatchObject({ reward: 0.25 });
    // r4's JSON label has no event time: it takes its Kafka record's timestamp, which a replay of
    // the same records sees again (the aggregator's clock would not).
    expect(byId.get('r4')).toMatchObject({ reward: 1, labelTime: R4_LABEL_TIME });
  });

  it('ignores duplicate predictions and labels, and dead-letters what it cannot use', async () => {
    const pipeline = await openPipeline(1);
    const { topics, codecs } = pipeline;
    await pipeline.defineExperiment(experimentFixture());
    const aggregator = await runAggregator(pipeline, await pipeline.tempDir(), uniqueName('agg'));
    const p = codecs.prediction.encode(predictionFixture('d1'));
    const l = codecs.label.encode(labelFixture('d1'));
    await pipeline.send([
      { topic: topics.predictions, key: 'd1', value: p },
      { topic: topics.predictions, key: 'd1', value: p },
      { topic: topics.labels, key: 'd1', value: l },
      { topic: topics.labels, key: 'd1', value: l },
      { topic: topics.predictions, key: 'd1', value: p },
      // bad input of every kind
      { topic: topics.labels, key: 'junk', value: Buffer.from([0xde, 0xad, 0xbe, 0xef]) },
      {
        topic: topics.predictions,
        key: 'x1',
        value: codecs.prediction.encode(predictionFixture('x1', { experiment: 'nope' })),
      },
      {
        topic: topics.predictions,
        key: 'x2',
        value: codecs.prediction.encode(predictionFixture('x2', { invokedVariant: 'ghost' })),
      },
      // A reward outside [0, 1] is refused once the join knows the experiment takes rewards
      // in [0, 1] (experiments with real-valued rewards accept it).
      {
        topic: topics.labels,
        key: 'x3',
        value: codecs.label.encode(labelFixture('x3', { reward: 3 })),
      },
      {
        topic: topics.predictions,
        key: 'x3',
        value: codecs.prediction.encode(predictionFixture('x3')),
      },
      // a failed prediction cannot be scored against a truth label
      {
        topic: topics.predictions,
        key: 'e1',
        value: codecs.prediction.encode(
          predictionFixture('e1', {
            error: { code: 'MODEL_ERROR', message: 'boom' },
            predictedLabel: null,
          }),
        ),
      },
      { topic: topics.labels, key: 'e1', value: codecs.label.encode(labelFixture('e1')) },
    ]);
    const letters = await pipeline.collect(topics.deadLetters);
    await waitFor('5 dead letters', () => (letters.length === 5 ? true : undefined));
    const reasons = letters.map((r) => codecs['dead-letter'].decode(r.value ?? Buffer.alloc(0)));
    expect(reasons.map((d) => d.errorCode).sort()).toEqual([
      'INVALID_FIELD',
      'INVALID_FIELD',
      'MALFORMED_MESSAGE',
      'UNKNOWN_EXPERIMENT',
      'UNKNOWN_VARIANT',
    ]);
    const junk = reasons.find((d) => d.errorCode === 'MALFORMED_MESSAGE');
    expect(junk?.sourceTopic).toBe(topics.labels);
    expect(Buffer.from(junk?.value ?? []).equals(Buffer.from([0xde, 0xad, 0xbe, 0xef]))).toBe(true);
    expect(reasons.find((d) => d.sourceOffset !== '' && d.reason.includes('boom'))).toBeDefined();

    const posteriors = await pipeline.collect(topics.posteriors);
    const counts = await waitFor('the one reward', () => {
      const c = mergePosteriors(posteriors, pipeline.codecs, 'spam-filter');
      return foldedCount(c) === 1 ? c : undefined;
    });
    expect(counts).toEqual(new ExpectedTally().reward('champion', 1).byVariant);
    expect(aggregator.stats.duplicates).toBe(3);
  });

  it('takes a partition over from its changelog with an empty disk, with the input topics gone, and restores only the tail on a surviving disk', async () => {
    const pipeline = await openPipeline(2);
    const { topics, codecs } = pipeline;
    await pipeline.defineExperiment(experimentFixture());
    const groupId = uniqueName('agg');
    const diskA = await pipeline.tempDir();
    const first = await runAggregator(pipeline, diskA, groupId);
    const ids = Array.from({ length: 40 }, (_, i) => `q${i}`);
    const variantOf = (i: number): string => (i % 3 === 0 ? 'challenger' : 'champion');
    const labels = (slice: string[]) =>
      slice.map((id, i) => ({
        topic: topics.labels,
        key: id,
        value: codecs.label.encode(labelFixture(id, { label: i % 2 === 0 ? 'spam' : 'ham' })),
      }));
    await pipeline.send(
      ids.map((id, i) => ({
        topic: topics.predictions,
        key: id,
        value: codecs.prediction.encode(
          predictionFixture(id, { invokedVariant: variantOf(i), requestedVariant: variantOf(i) }),
        ),
      })),
    );
    await pipeline.send(labels(ids.slice(0, 20)));
    await waitFor('20 rewards', () => (first.stats.rewards === 20 ? true : undefined));
    // Offsets are committed to the group with each transaction: lag tools see them, and they
    // decide where the next owner resumes.
    const admin = new Kafka({ brokers: testBrokers(), logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    onTestFinished(() => admin.disconnect());
    const committed = async (topic: string): Promise<number> => {
      const [found] = await admin.fetchOffsets({ groupId, topics: [topic] });
      return (found?.partitions ?? []).reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
    };
    expect(await committed(topics.predictions)).toBe(40);
    expect(await committed(topics.labels)).toBe(20);
    expect(first.runnerStats.fullRestores).toBe(2);
    expect(first.runnerStats.restoredRecords).toBe(0);
    await first.stop();

    // The second half of the labels arrives while it is down. An instance on an empty disk
    // takes both partitions over: it restores the pending predictions from the changelog and
    // joins the new labels, reading nothing of the input topics before the committed offsets.
    await pipeline.send(labels(ids.slice(20)));
    const second = await runAggregator(pipeline, await pipeline.tempDir(), groupId);
    await waitFor('the other 20 rewards', () => (second.stats.rewards === 20 ? true : undefined));
    expect(second.stats.predictions + second.stats.labels).toBe(20);
    expect(second.runnerStats.fullRestores).toBe(2);
    const fullRestore = second.runnerStats.restoredRecords;
    expect(fullRestore).toBeGreaterThan(0);
    await second.stop();

    const tally = new ExpectedTally();
    ids.forEach((_, i) => tally.reward(variantOf(i), (i < 20 ? i : i - 20) % 2 === 0 ? 1 : 0));
    const expected = tally.byVariant;

    // Retention: the input topics lose everything, so replaying them could not rebuild state.
    for (const topic of [topics.predictions, topics.labels]) {
      await admin.deleteTopicRecords({
        topic,
        partitions: [0, 1].map((partition) => ({ partition, offset: '-1' })),
      });
    }

    // Disk A survives: it restores only what the other instance changed meanwhile.
    const posteriors = await pipeline.collect(topics.posteriors);
    const expectRestoredPosteriors = async (aggregator: RunningAggregator): Promise<void> => {
      const before = posteriors.length;
      // Loaded partitions publish their counts once; flushing also covers a load still under way.
      await waitFor('snapshots of both partitions', async () => {
        await aggregator.flushSnapshots();
        return posteriors.length >= before + 2 ? true : undefined;
      });
      expect(mergePosteriors(posteriors, pipeline.codecs, 'spam-filter')).toEqual(expected);
    };
    const third = await runAggregator(pipeline, diskA, groupId);
    await waitFor('partitions restored', () =>
      third.runnerStats.restores === 2 ? true : undefined,
    );
    expect(third.runnerStats.fullRestores).toBe(0);
    expect(third.runnerStats.restoredRecords).toBeGreaterThan(0);
    expect(third.runnerStats.restoredRecords).toBeLessThan(fullRestore);
    await expectRestoredPosteriors(third);
    expect(third.stats.predictions + third.stats.labels).toBe(0);
    await third.stop();

    // A fresh disk after retention: the whole state comes from the changelog alone.
    const fourth = await runAggregator(pipeline, await pipeline.tempDir(), groupId);
    await waitFor('partitions restored', () =>
      fourth.runnerStats.restores === 2 ? true : undefined,
    );
    expect(fourth.runnerStats.fullRestores).toBe(2);
    await expectRestoredPosteriors(fourth);
    expect(fourth.stats.rewards).toBe(0);
  });
});
