// One bad experiment record affects only itself, on the real broker: an invalid definition
// (no variants) of one experiment does not stop the decider's statistics for another, keeps the
// aggregator on the previous valid definition of its own experiment, and is dead-lettered with
// its reason exactly once, even when the decider restarts and reads it again.
import { describe, expect, it, onTestFinished } from 'vitest';
import { createMetricsRegistry, type MetricsRegistry } from '../../../lib/metrics/prom-metrics.ts';
import { startDecider, type RunningDecider } from '../../../services/decider/build-decider.ts';
import { uniqueName, waitFor } from '../../support/kafka-test-kit.ts';
import {
  experimentFixture,
  labelFixture,
  openPipeline,
  predictionFixture,
  startTestAggregator,
  type Pipeline,
} from '../../support/pipeline-harness.ts';

async function runDecider(
  pipeline: Pipeline,
  groupId: string,
  metrics?: MetricsRegistry,
): Promise<RunningDecider> {
  const decider = await startDecider({
    ...(metrics !== undefined ? { metrics } : {}),
    eventLog: pipeline.eventLog,
    codecs: pipeline.codecs,
    topics: pipeline.topics,
    groupId,
    transactionalId: `${groupId}-tx`,
    logger: pipeline.logger,
    now: () => 1_700_000_900_000,
    intervalMs: 50,
  });
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await decider.stop();
  };
  onTestFinished(stop);
  return { ...decider, stop };
}

describe('hostile experiment records', () => {
  it('are dead-lettered once, leave the previous definition in force and stop no other experiment', async () => {
    const pipeline = await openPipeline(1);
    const { topics, codecs } = pipeline;
    await pipeline.defineExperiment(experimentFixture());
    await pipeline.defineExperiment(experimentFixture({ experiment: 'other' }));
    const letters = await pipeline.collect(topics.deadLetters);
    const statistics = await pipeline.collect(topics.experimentStats);
    const groupId = uniqueName('decider');
    const metrics = createMetricsRegistry({ service: 'decider', processMetrics: false });
    const first = await runDecider(pipeline, groupId, metrics);
    await waitFor('statistics of both experiments', () =>
      new Set(statistics.map((r) => r.key?.toString())).size === 2 ? true : undefined,
    );

    // Written around the CLI: 'spam-filter' without variants, and a record whose key is not the
    // name of the experiment it holds.
    await pipeline.send([
      {
        topic: topics.experiments,
        key: 'spam-filter',
        value: codecs.experiment.encode(experimentFixture({ variants: [] })),
      },
      {
        topic: topics.experiments,
        key: 'other',
        value: codecs.experiment.encode(experimentFixture({ experiment: 'spam-filter' })),
      },
    ]);
    await waitFor('two dead letters', () => (letters.length === 2 ? true : undefined));
    const reasons = letters.map((r) => codecs['dead-letter'].decode(r.value ?? Buffer.alloc(0)));
    expect(reasons.map((l) => [l.service, l.errorCode, l.sourceTopic])).toEqual([
      ['decider', 'INVALID_FIELD', topics.experiments],
      ['decider', 'INVALID_FIELD', topics.experiments],
    ]);
    expect(reasons[0]?.reason).toContain('variants: at least one variant is required');
    expect(reasons[1]?.reason).toContain('is not its experiment');
    // …and counted in its metrics, by code, once committed.
    await waitFor('the dead letters counted', async () =>
      (await metrics.exposition()).includes(
        'dynab_dead_letters_total{code="INVALID_FIELD",service="decider"} 2',
      )
        ? true
        : undefined,
    );

    // The other experiment is still evaluated: new posteriors give it new statistics.
    const before = statistics.length;
    await pipeline.send([
      {
        topic: topics.posteriors,
        key: 'other/0',
        value: codecs.posterior.encode({
          experiment: 'other',
          partition: 0,
          variants: [],
          version: 1,
          publishedAt: 1_700_000_000_000,
          decayedAt: 0,
          shadowVariants: [],
        }),
      },
    ]);
    await waitFor('new statistics for the other experiment', () =>
      statistics
        .slice(before)
        .some(
          (r) =>
            r.key?.toString() === 'other' &&
            codecs['experiment-stats'].decode(r.value ?? Buffer.alloc(0)).experiment === 'other',
        )
        ? true
        : undefined,
    );
    // The aggregator keeps the previous valid definition of 'spam-filter': it still joins.
    const aggregator = await startTestAggregator(
      pipeline,
      await pipeline.tempDir(),
      uniqueName('agg'),
      {
        now: 1_700_000_005_000,
        snapshotIntervalMs: 0,
      },
    );
    await pipeline.send([
      {
        topic: topics.predictions,
        key: 'r1',
        value: codecs.prediction.encode(predictionFixture('r1')),
      },
      { topic: topics.labels, key: 'r1', value: codecs.label.encode(labelFixture('r1')) },
    ]);
    await waitFor('the reward', () => (aggregator.stats.rewards === 1 ? true : undefined));
    expect(aggregator.stats.deadLettered).toBe(0);

    // A restarted decider reads the bad records again but does not dead-letter them twice.
    await first.stop();
    const second = await runDecider(pipeline, groupId);
    await second.evaluateNow();
    await waitFor('the restarted decider to publish statistics', () =>
      second.stats.statisticsPublished > 0 ? true : undefined,
    );
    expect(second.stats.deadLettered).toBe(0);
    expect(letters).toHaveLength(2);
  });
});
