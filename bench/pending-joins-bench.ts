// Pending joins live in RocksDB, not in memory: this benchmark holds N predictions pending
// (1M by default) in one aggregator and samples the process's resident memory as the pending
// count grows, then measures the join rate when the N labels arrive.
//   phase 1: N predictions are produced first; the aggregator consumes them (pending joins);
//   phase 2: the aggregator is stopped, N labels are produced, and the aggregator restarted on
//            the same store joins them all (one reward per label).
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { startEmbeddedKafka, type EmbeddedKafka } from '../infra/kafka/embedded-kafka.ts';
import { loadCodecs } from '../lib/codec/avro-codec.ts';
import { CHAMPION_CHALLENGER, defineExperiment } from '../lib/contracts/experiment-defaults.ts';
import { topicNames, topicSpecs } from '../lib/contracts/topics.ts';
import type { OutRecord } from '../lib/event-log/event-log.ts';
import { KafkaEventLog } from '../lib/event-log/kafka-event-log.ts';
import { createLogger } from '../lib/log/logger.ts';
import { openRocksDbStore } from '../lib/store/rocksdb-store.ts';
import { predictionRecord } from './restore-bench.ts';
import {
  startAggregator,
  type RunningAggregator,
} from '../services/aggregator/build-aggregator.ts';

export interface PendingJoinsResult {
  readonly pending: number;
  /** [pending joins, RSS MiB, JS heap used MiB] samples while predictions accumulate. */
  readonly rssSamples: readonly (readonly [number, number, number])[];
  readonly predictionsPerSecond: number;
  readonly joinsPerSecond: number;
  readonly rssAfterJoinsMiB: number;
}

/**
 * RSS after a full garbage collection when the process runs with --expose-gc (npm run bench does),
 * so what is measured is what is retained, not garbage the collector has not visited yet.
 */
const rssMiB = (): number => {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().rss / 2 ** 20;
};
const heapMiB = (): number => process.memoryUsage().heapUsed / 2 ** 20;

async function waitUntil(
  check: () => boolean,
  onTick: () => void,
  timeoutMs: number,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > deadline) throw new Error('pending-joins benchmark timed out');
    onTick();
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export async function runPendingJoinsBench(
  pending: number,
  brokersGiven: readonly string[],
): Promise<PendingJoinsResult> {
  const runDir = await mkdtemp(join(tmpdir(), 'dynab-pending-'));
  let kafka: EmbeddedKafka | null = null;
  let brokers = [...brokersGiven];
  if (brokers.length === 0) {
    kafka = await startEmbeddedKafka({ dataDir: join(runDir, 'kafka') });
    brokers = kafka.brokers;
  }
  const prefix = `pending-${randomUUID().slice(0, 8)}.`;
  const topics = topicNames(prefix);
  const codecs = loadCodecs();
  const eventLog = new KafkaEventLog({ brokers, clientId: 'dynab-pending-bench' });
  const logger = createLogger('bench', 'warn');
  try {
    await eventLog.waitUntilReady(60_000);
    await eventLog.ensureTopics(topicSpecs(topics, 4));
    const experiment = defineExperiment({
      experiment: 'spam-filter',
      variants: CHAMPION_CHALLENGER,
      warmUpRewards: 0,
      attributionWindowMs: 7 * 86_400_000,
      graceMs: 0,
      updatedAt: Date.now(),
    });
    const producer = await eventLog.createProducer();
    await producer.send([
      {
        topic: topics.experiments,
        key: experiment.experiment,
        value: codecs.experiment.encode(experiment),
      },
    ]);
    // Event times one per millisecond, ending now: a label dated after its record's timestamp
    // (plus the aggregator's allowance) would be refused.
    const t0 = Date.now() - pending - 1;
    const produce = async (make: (i: number) => OutRecord): Promise<void> => {
      const chunk = 5_000;
      for (let i = 0; i < pending; i += chunk) {
        await producer.send(
          Array.from({ length: Math.min(chunk, pending - i) }, (_, j) => make(i + j)),
        );
      }
    };
    await produce((i) => predictionRecord(topics, codecs, i, t0));

    const storeDir = join(runDir, 'store');
    const startOne = async (): Promise<{
      aggregator: RunningAggregator;
      close: () => Promise<void>;
    }> => {
      const store = await openRocksDbStore(storeDir);
      const aggregator = await startAggregator({
        eventLog,
        store,
        codecs,
        topics,
        groupId: `${prefix}aggregator`,
        logger,
        now: Date.now,
        snapshotIntervalMs: 1_000,
        orphanAfterMs: 30 * 86_400_000,
      });
      return {
        aggregator,
        close: async () => {
          await aggregator.stop();
          await store.close();
        },
      };
    };

    const rssSamples: [number, number, number][] = [[0, rssMiB(), heapMiB()]];
    const step = Math.max(1, Math.floor(pending / 10));
    let first = await startOne();
    const p1 = performance.now();
    await waitUntil(
      () => first.aggregator.stats.predictions >= pending,
      () => {
        const done = first.aggregator.stats.predictions;
        const last = rssSamples[rssSamples.length - 1];
        if (last !== undefined && done >= last[0] + step)
          rssSamples.push([done, rssMiB(), heapMiB()]);
      },
      30 * 60_000,
    );
    const predictionsPerSecond = pending / ((performance.now() - p1) / 1000);
    rssSamples.push([pending, rssMiB(), heapMiB()]);
    await first.close();

    await produce((i) => ({
      topic: topics.labels,
      key: `p${i}`,
      value: codecs.label.encode({
        requestId: `p${i}`,
        reward: null,
        label: i % 3 === 0 ? 'ham' : 'spam',
        eventTime: t0 + i + 1,
        source: 'bench',
      }),
    }));
    first = await startOne();
    const p2 = performance.now();
    await waitUntil(
      () => first.aggregator.stats.rewards >= pending,
      () => undefined,
      30 * 60_000,
    );
    const joinsPerSecond = pending / ((performance.now() - p2) / 1000);
    const rssAfterJoinsMiB = rssMiB();
    await first.close();
    await producer.close();
    return { pending, rssSamples, predictionsPerSecond, joinsPerSecond, rssAfterJoinsMiB };
  } finally {
    await eventLog.close().catch(() => undefined);
    await kafka?.stop();
    await rm(runDir, { recursive: true, force: true });
  }
}
