// The aggregator on the real broker, for what issue 4 added: shadow predictions scored with the
// label of the request they shadow and counted apart, decisions counted against the allocation
// they were drawn from, and real-valued rewards.
import { describe, expect, it } from 'vitest';
import { shadowRequestId } from '../../../lib/contracts/experiment-defaults.ts';
import type { PosteriorPublished, RewardResolved } from '../../../lib/contracts/events.ts';
import { mergeExperimentTotals } from '../../../lib/contracts/posterior-totals.ts';
import { uniqueName, waitFor } from '../../support/kafka-test-kit.ts';
import {
  experimentFixture,
  labelFixture,
  openPipeline,
  predictionFixture,
  startTestAggregator,
} from '../../support/pipeline-harness.ts';

describe('aggregator: shadows, decisions and real-valued rewards', () => {
  it('scores shadow copies with the original label, apart from the served counts', async () => {
    const pipeline = await openPipeline(2);
    const { topics, codecs } = pipeline;
    await pipeline.defineExperiment(experimentFixture({ shadowVariants: ['candidate'] }));
    await startTestAggregator(pipeline, await pipeline.tempDir(), uniqueName('agg'), {
      now: 1_700_000_005_000,
      snapshotIntervalMs: 0,
    });
    const posteriors = await pipeline.collect(topics.posteriors);
    const rewards = await pipeline.collect(topics.rewards);
    const labels = await pipeline.collect(topics.labels);

    // s1: served champion right (spam); the candidate said ham: wrong. Label after both.
    // s2: label first (ham); champion said spam: wrong; candidate said ham: right.
    const allocation = [
      { variant: 'champion', probability: 0.5 },
      { variant: 'challenger', probability: 0.5 },
    ];
    const served = (id: string) =>
      predictionFixture(id, { shadowVariants: ['candidate'], allocation });
    const shadow = (id: string, label: string) =>
      predictionFixture(shadowRequestId(id, 'candidate'), {
        requestedVariant: 'candidate',
        invokedVariant: 'candidate',
        predictedLabel: label,
        propensity: 1,
        allocation: [],
        shadowOf: id,
      });
    await pipeline.send([
      { topic: topics.predictions, key: 's1', value: codecs.prediction.encode(served('s1')) },
      {
        topic: topics.predictions,
        key: 's1',
        value: codecs.prediction.encode(shadow('s1', 'ham')),
      },
      {
        topic: topics.labels,
        key: 's2',
        value: codecs.label.encode(labelFixture('s2', { label: 'ham' })),
      },
    ]);
    await pipeline.send([
      { topic: topics.labels, key: 's1', value: codecs.label.encode(labelFixture('s1')) },
      { topic: topics.predictions, key: 's2', value: codecs.prediction.encode(served('s2')) },
      {
        topic: topics.predictions,
        key: 's2',
        value: codecs.prediction.encode(shadow('s2', 'ham')),
      },
    ]);

    const decoded = (): RewardResolved[] =>
      rewards.map((r) => codecs.reward.decode(r.value ?? Buffer.alloc(0)));
    const all = await waitFor('four rewards', () =>
      decoded().length === 4 ? decoded() : undefined,
    );
    const byId = new Map(all.map((r) => [r.requestId, r]));
    expect(byId.get('s1')).toMatchObject({ variant: 'champion', reward: 1 });
    expect(byId.get('s2')).toMatchObject({ variant: 'champion', reward: 0 });
    expect(byId.get(shadowRequestId('s1', 'candidate'))).toMatchObject({
      variant: 'candidate',
      reward: 0,
    });
    expect(byId.get(shadowRequestId('s2', 'candidate'))).toMatchObject({
      variant: 'candidate',
      reward: 1,
    });
    // The copies of the labels went through the labels topic, keyed by the original request.
    const copies = labels
      .map((r) => ({
        key: r.key?.toString(),
        label: codecs.label.decode(r.value ?? Buffer.alloc(0)),
      }))
      .filter((c) => c.label.source.startsWith('shadow-of:'));
    expect(copies.map((c) => c.key).sort()).toEqual(['s1', 's2']);

    const totals = await waitFor('the shadow counts published', () => {
      const partials = posteriors.map((r): PosteriorPublished =>
        codecs.posterior.decode(r.value ?? Buffer.alloc(0)),
      );
      const merged = mergeExperimentTotals(partials, 'spam-filter', null);
      return merged.shadows.get('candidate')?.count === 2 ? merged : undefined;
    });
    expect(totals.served.get('champion')).toMatchObject({
      count: 2,
      successes: 1,
      assigned: 2,
      expectedAssigned: 1,
    });
    expect(totals.served.get('challenger')).toMatchObject({ count: 0, expectedAssigned: 1 });
    expect(totals.shadows.get('candidate')).toMatchObject({ count: 2, successes: 1, assigned: 2 });
    expect(totals.served.has('candidate')).toBe(false);
  });

  it('accepts any finite reward for a real-valued experiment and keeps Σr and Σr²', async () => {
    const pipeline = await openPipeline(2);
    const { topics, codecs } = pipeline;
    await pipeline.defineExperiment(
      experimentFixture({ rewardKind: 'real', policy: 'gaussian-thompson-sampling' }),
    );
    await startTestAggregator(pipeline, await pipeline.tempDir(), uniqueName('agg'), {
      now: 1_700_000_005_000,
      snapshotIntervalMs: 0,
    });
    const posteriors = await pipeline.collect(topics.posteriors);
    const revenue = [12.5, 0, 99.99, -5];
    await pipeline.send(
      revenue.flatMap((reward, i) => [
        {
          topic: topics.predictions,
          key: `v${i}`,
          value: codecs.prediction.encode(predictionFixture(`v${i}`)),
        },
        {
          topic: topics.labels,
          key: `v${i}`,
          value: codecs.label.encode(labelFixture(`v${i}`, { reward, label: null })),
        },
      ]),
    );
    const champion = await waitFor('four real rewards', () => {
      const partials = posteriors.map((r) => codecs.posterior.decode(r.value ?? Buffer.alloc(0)));
      const t = mergeExperimentTotals(partials, 'spam-filter', null).served.get('champion');
      return t?.count === 4 ? t : undefined;
    });
    expect(champion.rewardSum).toBeCloseTo(107.49, 9);
    expect(champion.rewardSumSquares).toBeCloseTo(156.25 + 99.99 ** 2 + 25, 9);
  });
});
