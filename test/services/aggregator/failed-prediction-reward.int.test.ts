// A failed prediction served nothing, so nothing is credited for it: an explicit reward is
// refused the way an implicit reward is (the record that completes the join is dead-lettered
// with the reason), in either order of arrival, while the posterior counts only the predictions that succeeded.
import { describe, expect, it } from 'vitest';
import { uniqueName, waitFor } from '../../support/kafka-test-kit.ts';
import {
  ExpectedTally,
  experimentFixture,
  foldedCount,
  labelFixture,
  mergePosteriors,
  openPipeline,
  predictionFixture,
  startTestAggregator,
} from '../../support/pipeline-harness.ts';

describe('aggregator and failed predictions', () => {
  it('credits no explicit reward to a failed prediction', async () => {
    const pipeline = await openPipeline(2);
    const { topics, codecs } = pipeline;
    await pipeline.defineExperiment(experimentFixture());
    await startTestAggregator(pipeline, await pipeline.tempDir(), uniqueName('agg'), {
      now: 1_700_000_005_000,
      snapshotIntervalMs: 0,
    });
    const failed = (id: string) =>
      codecs.prediction.encode(
        predictionFixture(id, {
          invokedVariant: null,
          predictedLabel: null,
          output: Buffer.alloc(0),
          error: { code: 'ENDPOINT_VALIDATION', message: 'invalid InferenceId' },
        }),
      );
    const reward = (id: string) => codecs.label.encode(labelFixture(id, { reward: 1 }));
    await pipeline.send([
      // f1: prediction first; f2: label first; ok: a prediction that succeeded.
      { topic: topics.predictions, key: 'f1', value: failed('f1') },
      { topic: topics.labels, key: 'f1', value: reward('f1') },
      { topic: topics.labels, key: 'f2', value: reward('f2') },
      { topic: topics.predictions, key: 'f2', value: failed('f2') },
      {
        topic: topics.predictions,
        key: 'ok',
        value: codecs.prediction.encode(predictionFixture('ok')),
      },
      { topic: topics.labels, key: 'ok', value: reward('ok') },
    ]);
    const letters = await pipeline.collect(topics.deadLetters);
    await waitFor('2 dead letters', () => (letters.length === 2 ? true : undefined));
    for (const record of letters) {
      const letter = codecs['dead-letter'].decode(record.value ?? Buffer.alloc(0));
      expect(letter.errorCode).toBe('INVALID_FIELD');
      expect(letter.reason).toContain('ENDPOINT_VALIDATION');
    }
    const posteriors = await pipeline.collect(topics.posteriors);
    const counts = await waitFor('the one reward', () => {
      const c = mergePosteriors(posteriors, codecs, 'spam-filter');
      return foldedCount(c) === 1 ? c : undefined;
    });
    expect(counts).toEqual(new ExpectedTally().reward('champion', 1).byVariant);
  });
});
