// The aggregator's runner processes the next run while the previous run's transaction commits
// (lib/stream/stateful-runner.ts), on the real broker: the second run reads the first run's
// uncommitted change, a failed transaction discards the run processed after it, and the consumer
// moves back so that their records are read again, with nothing counted twice or lost.
import { describe, expect, it } from 'vitest';
import type { EventLog, LogProducer, OutRecord } from '../../../lib/event-log/event-log.ts';
import type { RunningAggregator } from '../../../services/aggregator/build-aggregator.ts';
import { uniqueName, waitFor } from '../../support/kafka-test-kit.ts';
import {
  experimentFixture,
  labelFixture,
  mergePosteriors,
  labelRecord,
  openPipeline,
  predictionRecord,
  predictionFixture,
  startTestAggregator,
  type Pipeline,
} from '../../support/pipeline-harness.ts';

/** The transactional producers of `eventLog`, with each transaction passed through `gate`. */
function gated(
  eventLog: EventLog,
  gate: (records: readonly OutRecord[]) => Promise<void>,
): EventLog {
  const wrap = (real: LogProducer): LogProducer => ({
    send: (records) => real.send(records),
    async sendWithOffsets(records, groupId, offsets, options) {
      await gate(records);
      return real.sendWithOffsets(records, groupId, offsets, options);
    },
    close: () => real.close(),
  });
  return new Proxy(eventLog, {
    get(target, property, receiver) {
      if (property === 'createProducer') {
        return async (options?: Parameters<EventLog['createProducer']>[0]) => {
          const producer = await target.createProducer(options);
          return options?.transactionalId === undefined ? producer : wrap(producer);
        };
      }
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      const method = value as (...args: unknown[]) => unknown;
      return method.bind(target);
    },
  });
}

/**
 * A gate that holds the first transaction `matches` picks until released, then lets it go on
 * (or fail, with `fail`); every other transaction passes.
 */
function holdFirst(
  matches: (records: readonly OutRecord[]) => boolean,
  fail = false,
): { gate: (records: readonly OutRecord[]) => Promise<void>; held(): boolean; release(): void } {
  let holding = false;
  let release: () => void = () => undefined;
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  return {
    async gate(records) {
      if (holding || !matches(records)) return;
      holding = true;
      await released;
      if (fail) throw new Error('simulated: the transaction failed');
    },
    held: () => holding,
    release: () => release(),
  };
}

/** An aggregator whose transactions go through `gate`. */
const start = async (
  pipeline: Pipeline,
  gate: (records: readonly OutRecord[]) => Promise<void>,
): Promise<RunningAggregator> =>
  startTestAggregator(pipeline, await pipeline.tempDir(), uniqueName('agg'), {
    now: 1_700_000_009_000,
    snapshotIntervalMs: 0,
    eventLog: gated(pipeline.eventLog, gate),
  });

describe('aggregator transactions in a pipeline', () => {
  it('processes the next run against the change still committing, and counts both once', async () => {
    const pipeline = await openPipeline(1);
    const { topics, codecs } = pipeline;
    await pipeline.defineExperiment(experimentFixture());
    // The first transaction that carries a changelog record waits until released.
    const hold = holdFirst((records) =>
      records.some((r) => r.topic === topics.aggregatorChangelog),
    );
    const aggregator = await start(pipeline, hold.gate);
    const rewards = await pipeline.collect(topics.rewards);
    const posteriors = await pipeline.collect(topics.posteriors);

    await pipeline.send([
      {
        topic: topics.predictions,
        key: 'p1',
        value: codecs.prediction.encode(predictionFixture('p1')),
      },
    ]);
    await waitFor('the first transaction held', () => (hold.held() ? true : undefined));
    // Its label comes while p1's slot is only staged: the join reads it from there.
    await pipeline.send([
      { topic: topics.labels, key: 'p1', value: codecs.label.encode(labelFixture('p1')) },
    ]);
    await waitFor('the label processed beside the held transaction', () =>
      aggregator.runnerStats.pipelined >= 1 ? true : undefined,
    );
    expect(aggregator.stats.predictions).toBe(0);
    expect(rewards).toHaveLength(0);
    hold.release();

    await waitFor('the reward', () => (rewards.length >= 1 ? true : undefined));
    await waitFor('both runs committed', () => (aggregator.stats.labels === 1 ? true : undefined));
    await aggregator.flushSnapshots();
    const champion = () => mergePosteriors(posteriors, codecs, 'spam-filter').get('champion');
    await waitFor('the posterior', () => (champion()?.count === 1 ? true : undefined));
    expect(rewards.map((r) => codecs.reward.decode(r.value ?? Buffer.alloc(0)).requestId)).toEqual([
      'p1',
    ]);
    expect(aggregator.stats).toMatchObject({ predictions: 1, labels: 1, rewards: 1 });
    expect(aggregator.runnerStats.resyncs).toBe(0);
  });

  it('reads the records of a failed transaction again, and of the run behind it, with no new input', async () => {
    const pipeline = await openPipeline(1);
    const { topics, codecs } = pipeline;
    await pipeline.defineExperiment(experimentFixture());
    // The transaction that publishes the first reward waits, then fails before it sends anything.
    const hold = holdFirst((records) => records.some((r) => r.topic === topics.rewards), true);
    const aggregator = await start(pipeline, hold.gate);
    const rewards = await pipeline.collect(topics.rewards);
    const prediction = (id: string): OutRecord => predictionRecord(pipeline, id);
    const label = (id: string): OutRecord => labelRecord(pipeline, id);

    await pipeline.send([prediction('f1'), prediction('f2')]);
    await waitFor('both predictions committed', () =>
      aggregator.stats.predictions === 2 ? true : undefined,
    );
    await pipeline.send([label('f1')]);
    await waitFor('the failing transaction held', () => (hold.held() ? true : undefined));
    // Processed behind the held transaction, so discarded with it.
    await pipeline.send([label('f2')]);
    await waitFor('the second label processed behind it', () =>
      aggregator.runnerStats.pipelined >= 1 ? true : undefined,
    );
    hold.release();

    // Nothing more is sent: only moving the consumer back brings both labels again.
    await waitFor('both rewards', () => (rewards.length >= 2 ? true : undefined), 20_000);
    await waitFor('both labels counted', () => (aggregator.stats.labels === 2 ? true : undefined));
    const ids = rewards.map((r) => codecs.reward.decode(r.value ?? Buffer.alloc(0)).requestId);
    expect(ids.sort()).toEqual(['f1', 'f2']);
    expect(aggregator.stats).toMatchObject({ predictions: 2, labels: 2, rewards: 2 });
    expect(aggregator.runnerStats.resyncs).toBeGreaterThanOrEqual(1);
  });
});
