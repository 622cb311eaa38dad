// A transaction whose commit the client gives up on while the broker completes it later (an
// unanswered commit), on the real broker. The aggregator resynchronises the partition before its
// next batch; the commit must land either wholly before its reads or not at all. Here it lands
// at the first moment the broker would finish it: when the client closes the producer, starts a
// new one with the same transactional id, or reads the group's committed offsets. Reading the
// changelog before that commit and the offsets after it lost the transaction's state changes: a
// label's join forgotten while its input was skipped as committed.
import { describe, expect, it, onTestFinished } from 'vitest';
import type { EventLog, LogProducer, OutRecord } from '../../../lib/event-log/event-log.ts';
import { openRocksDbStore } from '../../../lib/store/rocksdb-store.ts';
import { startAggregator } from '../../../services/aggregator/build-aggregator.ts';
import { uniqueName, waitFor } from '../../support/kafka-test-kit.ts';
import {
  experimentFixture,
  labelFixture,
  mergePosteriors,
  openPipeline,
  predictionFixture,
} from '../../support/pipeline-harness.ts';

/** The event log with one transaction that fails on the client and commits later on the broker. */
function withUnansweredCommit(
  eventLog: EventLog,
  failsWhen: (records: readonly OutRecord[]) => boolean,
): { eventLog: EventLog; arm(): void; readonly landed: boolean } {
  let armed = false;
  let landed = false;
  let pending: (() => Promise<void>) | null = null;
  const land = async (): Promise<void> => {
    const commit = pending;
    pending = null;
    if (commit === null) return;
    await commit();
    landed = true;
  };
  const wrap = (real: LogProducer): LogProducer => ({
    send: (records) => real.send(records),
    async sendWithOffsets(records, groupId, offsets, options) {
      if (armed && failsWhen(records)) {
        armed = false;
        pending = async () => {
          await real.sendWithOffsets(records, groupId, offsets, options);
        };
        throw new Error('simulated: the commit was sent but never answered');
      }
      return real.sendWithOffsets(records, groupId, offsets, options);
    },
    async close() {
      await land();
      await real.close();
    },
  });
  const proxy = new Proxy(eventLog, {
    get(target, property, receiver) {
      if (property === 'createProducer') {
        return async (options?: Parameters<EventLog['createProducer']>[0]) => {
          if (options?.transactionalId === undefined) return target.createProducer(options);
          // A producer with the same transactional id: the broker finishes the earlier
          // transaction before it answers the new one's InitProducerId.
          await land();
          return wrap(await target.createProducer(options));
        };
      }
      if (property === 'fetchCommittedOffsets') {
        return async (...args: Parameters<EventLog['fetchCommittedOffsets']>) => {
          await land();
          return target.fetchCommittedOffsets(...args);
        };
      }
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      const method = value as (...args: unknown[]) => unknown;
      return method.bind(target);
    },
  });
  return {
    eventLog: proxy,
    arm: () => {
      armed = true;
    },
    get landed() {
      return landed;
    },
  };
}

describe('aggregator after an unanswered commit', () => {
  it('keeps the join of a transaction the broker committed after the client gave up on it', async () => {
    const pipeline = await openPipeline(1);
    const { topics, codecs } = pipeline;
    await pipeline.defineExperiment(experimentFixture());
    const faulty = withUnansweredCommit(pipeline.eventLog, (records) =>
      records.some((r) => r.topic === topics.rewards),
    );
    const store = await openRocksDbStore(await pipeline.tempDir());
    const aggregator = await startAggregator({
      eventLog: faulty.eventLog,
      store,
      codecs,
      topics,
      groupId: uniqueName('agg'),
      transactionalId: uniqueName('agg-tx'),
      logger: pipeline.logger,
      now: Date.now,
      snapshotIntervalMs: 0,
      orphanAfterMs: 3_600_000,
    });
    onTestFinished(async () => {
      await aggregator.stop();
      await store.close();
    });
    const rewards = await pipeline.collect(topics.rewards);
    const posteriors = await pipeline.collect(topics.posteriors);
    const prediction = (id: string): OutRecord => ({
      topic: topics.predictions,
      key: id,
      value: codecs.prediction.encode(predictionFixture(id)),
    });
    const label = (id: string): OutRecord => ({
      topic: topics.labels,
      key: id,
      value: codecs.label.encode(labelFixture(id)),
    });

    await pipeline.send([prediction('r1')]);
    await waitFor('the first prediction stored', () =>
      aggregator.stats.predictions === 1 ? true : undefined,
    );
    // The transaction that joins r1's label fails on the client and commits later.
    faulty.arm();
    await pipeline.send([label('r1')]);
    await waitFor('the partition resynchronised', () =>
      aggregator.runnerStats.resyncs >= 1 ? true : undefined,
    );
    await pipeline.send([prediction('r2'), label('r2')]);
    const rewardIds = (): string[] =>
      rewards.map((r) => codecs.reward.decode(r.value ?? Buffer.alloc(0)).requestId).sort();
    await waitFor('both rewards', () => (rewardIds().length >= 2 ? true : undefined));
    await aggregator.flushSnapshots();
    const count = (): number =>
      mergePosteriors(posteriors, codecs, 'spam-filter').get('champion')?.count ?? 0;
    await waitFor('the posterior of both joins', () => (count() >= 2 ? true : undefined), 15_000);

    expect(faulty.landed).toBe(true);
    expect(rewardIds()).toEqual(['r1', 'r2']);
    expect(count()).toBe(2);
    expect(mergePosteriors(posteriors, codecs, 'spam-filter').get('champion')?.implicit).toBe(0);
  });
});
