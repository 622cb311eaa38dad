// The whole loop on the real broker: requests → router → inference (real SDK, local endpoint
// serving the trained spam models) → predictions → labels → aggregator → posteriors → router.
// The better model must end with most of the traffic, and the published counts must equal
// exactly what the labels sent imply.
import { performance } from 'node:perf_hooks';
import { describe, expect, it, onTestFinished } from 'vitest';
import { createSeededRandom } from '../../../lib/bandit/random.ts';
import { createSageMakerEndpoint } from '../../../lib/model-endpoint/sagemaker-endpoint.ts';
import { openRocksDbStore } from '../../../lib/store/rocksdb-store.ts';
import { startAggregator } from '../../../services/aggregator/build-aggregator.ts';
import { startInference } from '../../../services/inference/build-inference.ts';
import { buildLocalEndpoint } from '../../../services/local-endpoint/local-endpoint.ts';
import { loadSpamCorpus, splitCorpus } from '../../../services/local-endpoint/spam-corpus.ts';
import { buildSpamEndpointVariants } from '../../../services/local-endpoint/spam-models.ts';
import { startRouter } from '../../../services/router/build-router.ts';
import { uniqueName, waitFor } from '../../support/kafka-test-kit.ts';
import {
  ExpectedTally,
  experimentFixture,
  foldedCount,
  mergePosteriors,
  openPipeline,
} from '../../support/pipeline-harness.ts';

const REQUESTS = 1500;

describe('closed loop', () => {
  it('shifts traffic to the better spam model and publishes exactly the counts the labels imply', async () => {
    const pipeline = await openPipeline(4);
    const { topics, codecs, eventLog, logger } = pipeline;
    const random = createSeededRandom(2026);

    const { train, serve } = splitCorpus(loadSpamCorpus());
    const local = buildLocalEndpoint({
      endpoints: [{ name: 'spam-filter', variants: buildSpamEndpointVariants(train) }],
    });
    const { url } = await local.listen(0);
    onTestFinished(() => local.close());

    await pipeline.defineExperiment(experimentFixture({ warmUpRewards: 10 }));
    const store = await openRocksDbStore(await pipeline.tempDir());
    const aggregator = await startAggregator({
      eventLog,
      store,
      codecs,
      topics,
      logger,
      groupId: uniqueName('agg'),
      now: Date.now,
      snapshotIntervalMs: 100,
      orphanAfterMs: 3_600_000,
    });
    onTestFinished(async () => {
      await aggregator.stop();
      await store.close();
    });
    const endpoint = createSageMakerEndpoint({
      region: 'us-east-1',
      endpointUrl: url,
      maxAttempts: 1,
    });
    const inference = await startInference({
      eventLog,
      endpoint,
      codecs,
      topics,
      logger,
      groupId: uniqueName('inf'),
      transactionalId: uniqueName('inf-tx'),
      concurrency: 16,
      maxAttempts: 3,
      // The real spam models, batched as `npm start` runs them.
      batching: { formats: { 'spam-filter': 'jsonlines' }, maxRecords: 100, maxBytes: 1024 * 1024 },
      predictedLabelField: 'label',
      now: Date.now,
      monotonicNow: () => performance.now(),
    });
    onTestFinished(async () => {
      await inference.stop();
      endpoint.close();
    });
    const router = await startRouter({
      eventLog,
      codecs,
      topics,
      logger,
      groupId: uniqueName('router'),
      transactionalId: uniqueName('router-tx'),
      maxPayloadBytes: 256 * 1024,
      unknownExperiment: 'fallback',
      random,
      now: Date.now,
    });
    onTestFinished(() => router.stop());

    // The user side: every prediction gets the truth as feedback, as the demo's users do.
    const truth = new Map<string, 'spam' | 'ham'>();
    const expected = new ExpectedTally();
    const traffic = new Map<string, number>();
    let labelled = 0;
    const predictions = await eventLog.createConsumer({
      groupId: uniqueName('user'),
      topics: [topics.predictions],
      fromBeginning: true,
    });
    onTestFinished(() => predictions.stop());
    await predictions.run(async (batch) => {
      const labels = [];
      for (const record of batch.records) {
        const prediction = codecs.prediction.decode(record.value ?? Buffer.alloc(0));
        const label = truth.get(prediction.requestId);
        if (label === undefined) continue;
        truth.delete(prediction.requestId);
        const variant = prediction.invokedVariant ?? prediction.requestedVariant;
        expect(prediction.error).toBeNull();
        traffic.set(variant, (traffic.get(variant) ?? 0) + 1);
        const reward = prediction.predictedLabel === label ? 1 : 0;
        expected.reward(variant, reward);
        labels.push({
          topic: topics.labels,
          key: prediction.requestId,
          value: codecs.label.encode({
            requestId: prediction.requestId,
            reward: null,
            label,
            eventTime: Date.now(),
            source: 'test-user',
          }),
        });
      }
      await pipeline.send(labels);
      labelled += labels.length;
    });

    // Requests in waves, so that the posterior learned from earlier waves steers later ones.
    const mails = [...serve].sort(() => random() - 0.5);
    for (let sent = 0; sent < REQUESTS; sent += 100) {
      const wave = Array.from({ length: 100 }, (_, i) => {
        const mail = mails[(sent + i) % mails.length];
        if (mail === undefined) throw new Error('no mail');
        const requestId = `req-${sent + i}`;
        truth.set(requestId, mail.label);
        return {
          topic: topics.requests,
          key: requestId,
          value: codecs.request.encode({
            requestId,
            experiment: 'spam-filter',
            payload: Buffer.from(mail.text),
            contentType: 'text/plain',
            userId: null,
            targetVariant: null,
            eventTime: Date.now(),
          }),
        };
      });
      await pipeline.send(wave);
      await waitFor(
        `labels for wave ${sent / 100}`,
        () => (labelled >= sent + 100 ? true : undefined),
        60_000,
      );
    }

    const posteriorRecords = await pipeline.collect(topics.posteriors);
    const merged = await waitFor(
      'every label folded into the published posterior',
      () => {
        const sums = mergePosteriors(posteriorRecords, codecs, 'spam-filter');
        return foldedCount(sums) === REQUESTS ? sums : undefined;
      },
      60_000,
    );
    expect(merged).toEqual(expected.byVariant);
    const challenger = traffic.get('challenger') ?? 0;
    const champion = traffic.get('champion') ?? 0;
    expect(challenger + champion).toBe(REQUESTS);
    expect(challenger).toBeGreaterThan(champion * 2);
    const rate = (v: string): number =>
      (merged.get(v)?.successes ?? 0) / (merged.get(v)?.count ?? 1);
    expect(rate('challenger')).toBeGreaterThan(rate('champion'));
  });
});
