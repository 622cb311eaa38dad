// `dynab replay` on the real broker: the real aggregator joins predictions and labels and
// publishes its partial posteriors; the replay rebuilds them from the same topics with the
// aggregator's own code, finds every published version equal, gives the same state twice, and
// catches a deliberately corrupted snapshot.
import { describe, expect, it } from 'vitest';
import type { PosteriorPublished } from '../../../lib/contracts/events.ts';
import { runReplayCommand, type ReplayReport } from '../../../services/cli/replay-command.ts';
import { cliRunner } from '../../support/cli-harness.ts';
import { uniqueName, waitFor } from '../../support/kafka-test-kit.ts';
import {
  experimentFixture,
  labelFixture,
  openPipeline,
  predictionFixture,
  startTestAggregator,
} from '../../support/pipeline-harness.ts';

const T = 1_700_000_000_000;

describe('dynab replay', () => {
  it('rebuilds the published posteriors, identically twice, and reports a corrupted one', async () => {
    const pipeline = await openPipeline(2);
    const { topics, codecs } = pipeline;
    await pipeline.defineExperiment(experimentFixture());
    const aggregator = await startTestAggregator(
      pipeline,
      await pipeline.tempDir(),
      uniqueName('agg'),
      { now: T + 60_000, snapshotIntervalMs: 0 },
    );
    const ids = Array.from({ length: 40 }, (_, i) => `rp-${i}`);
    const variantOf = (i: number) => (i % 3 === 0 ? 'challenger' : 'champion');
    // Predictions first, then labels in two waves, so the aggregator publishes many versions.
    await pipeline.send(
      ids.map((id, i) => ({
        topic: topics.predictions,
        key: id,
        value: codecs.prediction.encode(
          predictionFixture(id, {
            requestedVariant: variantOf(i),
            invokedVariant: variantOf(i),
            requestTime: T + i,
            eventTime: T + i + 1,
            allocation: [
              { variant: 'champion', probability: 0.5 },
              { variant: 'challenger', probability: 0.5 },
            ],
          }),
        ),
      })),
    );
    for (const wave of [ids.slice(0, 20), ids.slice(20)]) {
      const before = aggregator.stats.rewards;
      await pipeline.send(
        wave.map((id) => ({
          topic: topics.labels,
          key: id,
          value: codecs.label.encode(
            labelFixture(id, {
              label: Number(id.slice(3)) % 4 === 0 ? 'ham' : 'spam',
              eventTime: T + 1_000 + Number(id.slice(3)),
            }),
          ),
        })),
      );
      await waitFor('the wave of rewards', () =>
        aggregator.stats.rewards === before + wave.length ? true : undefined,
      );
    }
    await waitFor('every reward', () =>
      aggregator.stats.rewards === ids.length ? true : undefined,
    );
    await aggregator.stop();
    const postersRecords = await pipeline.collect(topics.posteriors);
    const published = await waitFor('published posteriors with every reward', () => {
      const decoded = postersRecords.map((r) =>
        codecs.posterior.decode(r.value ?? Buffer.alloc(0)),
      );
      const latest = new Map<number, PosteriorPublished>();
      for (const s of decoded) latest.set(s.partition, s);
      const counted = [...latest.values()].reduce(
        (n, s) => n + s.variants.reduce((m, v) => m + v.count, 0),
        0,
      );
      return counted === ids.length ? decoded : undefined;
    });

    const run = cliRunner(pipeline, runReplayCommand);
    const range = ['--experiment', 'spam-filter', '--from', 'offset:0', '--to', 'now'];

    const first = await run(...range, '--json');
    expect(first.code, first.stderr).toBe(0);
    const report = JSON.parse(first.stdout) as ReplayReport;
    // Per prediction one decision, per label one reward: 80 inputs, 80 outcomes.
    expect(report.records).toBe(2 * ids.length);
    expect(report.divergences).toEqual([]);
    expect(report.published).toBe(published.length);
    expect(report.published).toBeGreaterThanOrEqual(4);
    expect(report.matched).toBe(published.length);
    expect(report.partitions.every((p) => p.comparable)).toBe(true);
    expect(first.stderr).toMatch(/records\/s, ETA/);

    const second = await run(...range, '--json');
    expect((JSON.parse(second.stdout) as ReplayReport).stateDigest).toBe(report.stateDigest);

    // A corrupted snapshot: the latest version of one partition, with one success too many.
    const victim = published[published.length - 1]!;
    const [first0, ...rest] = victim.variants;
    expect(first0).toBeDefined();
    const corrupted: PosteriorPublished = {
      ...victim,
      variants: [{ ...first0!, successes: first0!.successes + 1 }, ...rest],
    };
    await pipeline.send([
      {
        topic: topics.posteriors,
        key: `spam-filter/${victim.partition}`,
        value: codecs.posterior.encode(corrupted),
      },
    ]);
    const caught = await run(...range);
    expect(caught.code).toBe(1);
    expect(caught.stdout).toContain(
      `DIVERGENCE spam-filter partition ${victim.partition} version ${victim.version}: variant ${first0!.variant} successes published ${first0!.successes + 1}, replayed ${first0!.successes}`,
    );

    // Later starts cannot be compared with cumulative posteriors, and say so.
    const later = await run('--experiment', 'spam-filter', '--from', 'offset:5', '--to', 'now');
    expect(later.code).toBe(0);
    expect(later.stdout).toContain('not comparable with the published posteriors');

    const usage = await run('--experiment', 'spam-filter');
    expect(usage.code).toBe(2);
  });
});
