// The aggregator: joins predictions and labels by request id in event time, turns them into
// rewards, folds them into per-variant counts kept in the key-value store, and publishes partial
// posteriors keyed by (experiment, partition).
//
// It is a stateful processor on the generic runner (lib/stream/stateful-runner.ts): the runner
// restores each owned partition's state from the aggregator's changelog, hands it the batches of
// predictions and labels of one partition number, and commits the outputs (rewards, late labels,
// dead letters, shadow label copies, labels forwarded to their partition), the state changes and
// the consumed offsets in one Kafka transaction. Closing windows is part of the same change as the records that moved the
// watermark, or a punctuation of its own (idle labels stream, a long backlog of due windows).
// Posterior snapshots are state, not events: they are published from the committed counts on a
// timer, outside the transactions, and a repeated snapshot changes nothing.
import { randomUUID } from 'node:crypto';
import type { ExperimentDefined } from '../../lib/contracts/events.ts';
import type { TopicNames } from '../../lib/contracts/topics.ts';
import { validExperimentOf } from '../../lib/contracts/validate-experiment.ts';
import type { Codecs } from '../../lib/codec/avro-codec.ts';
import type { EventLog, LogProducer } from '../../lib/event-log/event-log.ts';
import { partitionForKey } from '../../lib/event-log/murmur2.ts';
import type { Logger } from '../../lib/log/logger.ts';
import { discardMetrics, type Metrics } from '../../lib/metrics/metrics.ts';
import type { Readiness } from '../../lib/metrics/readiness.ts';
import { AGGREGATOR_SERIES } from '../../lib/metrics/series.ts';
import type { KeyValueStore } from '../../lib/store/key-value-store.ts';
import {
  startStatefulRunner,
  type RunningStatefulRunner,
  type StateChange,
  type StatefulRunnerStats,
} from '../../lib/stream/stateful-runner.ts';
import { startTableReader, type TableReader } from '../../lib/stream/table-reader.ts';
import { createAggregatorProcessor, type AggregatorStats } from './aggregator-processor.ts';

export type { AggregatorStats } from './aggregator-processor.ts';

export interface AggregatorDeps {
  readonly eventLog: EventLog;
  readonly store: KeyValueStore;
  readonly codecs: Codecs;
  readonly topics: TopicNames;
  readonly groupId: string;
  /**
   * Unique per instance and stable across its restarts, so Kafka fences the previous one and
   * aborts its open transaction at once. Default: a random id (a restart then waits for the
   * broker to abort the dead instance's transaction).
   */
  readonly transactionalId?: string;
  readonly logger: Logger;
  readonly now: () => number;
  /** Publish changed posteriors at most this often (ms); 0 publishes after every batch. */
  readonly snapshotIntervalMs: number;
  /** A label still without a prediction this long (event time) after it is an orphan. */
  readonly orphanAfterMs: number;
  /**
   * How far a label's event time may lie beyond its record's broker timestamp before the label
   * is dead-lettered. Absent: 5 minutes, the default of DYNAB_EVENT_TIME_ALLOWANCE_MS.
   */
  readonly eventTimeAllowanceMs?: number;
  /**
   * After this long without any label on a partition (processing time), its watermark advances
   * with processing time, so windows close on an idle labels stream. 0 or absent: never (the
   * watermark then moves only with label event times, which keeps processing deterministic).
   */
  readonly idleCloseMs?: number;
  /** Called when consumption stopped for good; the process should exit so it gets restarted. */
  readonly onFatal?: (error: Error) => void;
  /** Where the series go (rewards, pending joins, late/orphan/forwarded labels, the runner's). */
  readonly metrics?: Metrics;
  /** Gets the readiness conditions: experiments read, partitions assigned and restored. */
  readonly readiness?: Readiness;
}

export interface RunningAggregator {
  readonly stats: Readonly<AggregatorStats>;
  /** The runner's counters: transactions, restored changelog records, resyncs. */
  readonly runnerStats: Readonly<StatefulRunnerStats>;
  /** Publishes pending posterior snapshots now. */
  flushSnapshots(): Promise<void>;
  stop(): Promise<void>;
}

export async function startAggregator(deps: AggregatorDeps): Promise<RunningAggregator> {
  const { store, codecs, topics, logger } = deps;
  const metrics = deps.metrics ?? discardMetrics;
  const rewards = metrics.counter(AGGREGATOR_SERIES.rewards);
  const rewardSum = metrics.gauge(AGGREGATOR_SERIES.rewardSum);
  const experimentsRead = deps.readiness?.condition('experiments table not read to its end yet');
  const experiments: TableReader<ExperimentDefined> = await startTableReader({
    eventLog: deps.eventLog,
    topic: topics.experiments,
    // An invalid definition is ignored: the previous valid one stays in force.
    decode: (r) =>
      validExperimentOf(
        r.key?.toString() ?? '',
        codecs.experiment.decode(r.value ?? new Uint8Array()),
      ),
    onInvalid: (r, error) => {
      logger.warn(
        { topic: r.topic, offset: r.offset, err: error },
        'invalid experiment record ignored',
      );
    },
    groupPrefix: `${deps.groupId}-experiments`,
  });
  await experiments.waitForCatchUp(30_000);
  // The join's partition count: predictions are keyed by request id, so a request's label
  // belongs on murmur2(request id) mod this.
  const partitions = (await deps.eventLog.fetchOffsets(topics.predictions)).length;
  const processor = createAggregatorProcessor({
    store,
    codecs,
    topics,
    logger,
    now: deps.now,
    experiment: (name) => experiments.get(name),
    orphanAfterMs: deps.orphanAfterMs,
    eventTimeAllowanceMs: deps.eventTimeAllowanceMs ?? 5 * 60 * 1000,
    partitionOf: (requestId) => partitionForKey(requestId, partitions),
    onRewardCommitted: (reward) => {
      rewards.labels(reward.experiment, reward.variant).inc();
      rewardSum.labels(reward.experiment, reward.variant).inc(reward.reward);
    },
  });
  const { stats } = processor;
  metrics.gaugeFrom(AGGREGATOR_SERIES.pendingJoins, (set) => set(processor.pendingJoins()));
  metrics.counterFrom(AGGREGATOR_SERIES.lateLabels, () => stats.late);
  metrics.counterFrom(AGGREGATOR_SERIES.orphanLabels, () => stats.orphaned);
  metrics.counterFrom(AGGREGATOR_SERIES.labelsForwarded, () => stats.forwarded);

  /** Snapshots are published by a plain producer: they are state, repeated harmlessly. */
  const producer: LogProducer = await deps.eventLog.createProducer();
  const publishSnapshots = async (): Promise<void> => {
    const snapshots = processor.takeSnapshots();
    if (snapshots.length === 0) return;
    try {
      await producer.send(
        snapshots.map((snapshot) => ({
          topic: topics.posteriors,
          key: `${snapshot.experiment}/${snapshot.partition}`,
          value: codecs.posterior.encode(snapshot),
        })),
      );
      stats.snapshotsPublished += snapshots.length;
    } catch (error) {
      processor.retrySnapshots(snapshots);
      throw error;
    }
  };

  // Set right before the runner registers its own condition (no await in between).
  experimentsRead?.set(true);
  const runner: RunningStatefulRunner = await startStatefulRunner(
    {
      eventLog: deps.eventLog,
      store,
      groupId: deps.groupId,
      topics: [topics.predictions, topics.labels, topics.labelsRepartition],
      changelogTopic: topics.aggregatorChangelog,
      transactionalId: deps.transactionalId ?? `${deps.groupId}-${randomUUID()}`,
      // A dead instance's open transaction holds back the next owner's restore this long.
      transactionTimeoutMs: 15_000,
      logger,
      ...(deps.onFatal !== undefined ? { onFatal: deps.onFatal } : {}),
      metrics,
      ...(deps.readiness !== undefined ? { readiness: deps.readiness } : {}),
    },
    {
      ...processor,
      process: async (p, batches) => {
        const change = await processor.process(p, batches);
        return {
          ...change,
          afterCommit: () => {
            change.afterCommit?.();
            if (deps.snapshotIntervalMs === 0) void publishSnapshots().catch(() => undefined);
          },
        };
      },
    },
  );

  const punctuate = (work: () => Promise<Map<number, StateChange>>, what: string): void => {
    runner.punctuate(work).catch((error: unknown) => {
      logger.warn({ err: error }, `${what} failed; will retry`);
    });
  };
  const timer =
    deps.snapshotIntervalMs > 0
      ? setInterval(() => {
          publishSnapshots().catch((error: unknown) => {
            logger.warn({ err: error }, 'snapshot publication failed; will retry');
          });
        }, deps.snapshotIntervalMs)
      : null;
  const idleCloseMs = deps.idleCloseMs ?? 0;
  // Checked a few times per idle period (at least once a second); leftovers every 100 ms.
  const idleTimer =
    idleCloseMs > 0
      ? setInterval(
          () => punctuate(() => processor.closeIdleWindows(idleCloseMs), 'closing idle windows'),
          Math.min(1_000, Math.max(10, idleCloseMs / 4)),
        )
      : null;
  // Forwarded labels mean a producer partitions labels differently from predictions: worth a
  // line in the log, at most every 10 s, rather than one per label.
  let forwardedLogged = 0;
  const forwardedTimer = setInterval(() => {
    if (stats.forwarded === forwardedLogged) return;
    logger.warn(
      {
        topic: topics.labels,
        forwarded: stats.forwarded,
        since: stats.forwarded - forwardedLogged,
      },
      "labels arrived on a partition other than their request id's and were forwarded to it (producers should key labels by request id)",
    );
    forwardedLogged = stats.forwarded;
  }, 10_000);
  const leftoverTimer = setInterval(() => {
    if (processor.hasLeftovers())
      punctuate(() => processor.closeLeftovers(), 'closing due windows');
  }, 100);

  return {
    stats,
    runnerStats: runner.stats,
    flushSnapshots: publishSnapshots,
    async stop() {
      if (timer !== null) clearInterval(timer);
      if (idleTimer !== null) clearInterval(idleTimer);
      clearInterval(leftoverTimer);
      clearInterval(forwardedTimer);
      await runner.stop();
      await publishSnapshots().catch(() => undefined);
      await producer.close();
      await experiments.stop();
    },
  };
}
