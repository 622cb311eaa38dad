// Restoring the aggregator's state from its changelog: how long a takeover takes against the size
// of the state, on an empty disk and on a surviving one. For each size N:
//   1. N predictions (a 7-day window, so all stay pending) are folded by instance A;
//   2. instance B starts on an empty disk in the same group: it restores every partition from the
//      changelog (timed by the runner, counted in records), then joins N labels (join rate);
//   3. instance A restarts on its own disk: it restores only the tail B wrote.
// The input topics are not read again in 2 or 3: consumption resumes at the committed offsets.
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { startEmbeddedKafka, type EmbeddedKafka } from '../infra/kafka/embedded-kafka.ts';
import { loadCodecs, type Codecs } from '../lib/codec/avro-codec.ts';
import { CHAMPION_CHALLENGER, defineExperiment } from '../lib/contracts/experiment-defaults.ts';
import { topicNames, topicSpecs, type TopicNames } from '../lib/contracts/topics.ts';
import type { LogProducer, OutRecord } from '../lib/event-log/event-log.ts';
import { KafkaEventLog } from '../lib/event-log/kafka-event-log.ts';
import { createLogger } from '../lib/log/logger.ts';
import { openRocksDbStore } from '../lib/store/rocksdb-store.ts';
import {
  startAggregator,
  type RunningAggregator,
} from '../services/aggregator/build-aggregator.ts';

const PARTITIONS = 4;

export interface RestoreRow {
  /** Pending joins held in the state when the takeover happens. */
  readonly pending: number;
  readonly changelogRecords: number;
  /** Folding the N predictions into pending joins (instance A). */
  readonly foldPerSecond: number;
  /** Empty disk: time the runner spent restoring all partitions, and records restored. */
  readonly fullRestoreMs: number;
  readonly fullRestoredRecords: number;
  /** Joining the N labels on the instance that restored (rewards published, counts updated). */
  readonly joinsPerSecond: number;
  /** Surviving disk: restore of the tail the other instance wrote. */
  readonly tailRestoreMs: number;
  readonly tailRestoredRecords: number;
}

async function waitUntil(check: () => boolean, what: string, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`restore benchmark: timed out on ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function produceAll(
  producer: LogProducer,
  count: number,
  make: (i: number) => OutRecord,
): Promise<void> {
  const chunk = 5_000;
  for (let i = 0; i < count; i += chunk)
    await producer.send(Array.from({ length: Math.min(chunk, count - i) }, (_, j) => make(i + j)));
}

/** A pending-join benchmark prediction: request p<i> of 'spam-filter', variants alternating. */
export function predictionRecord(
  topics: TopicNames,
  codecs: Codecs,
  i: number,
  t0: number,
): OutRecord {
  const requestId = `p${i}`;
  const variant = i % 2 === 0 ? 'champion' : 'challenger';
  return {
    topic: topics.predictions,
    key: requestId,
    value: codecs.prediction.encode({
      requestId,
      experiment: 'spam-filter',
      requestedVariant: variant,
      invokedVariant: variant,
      output: Buffer.from('{"label":"spam","score":0.91}'),
      outputContentType: 'application/json',
      predictedLabel: 'spam',
      latencyMs: 2,
      error: null,
      propensity: 0.5,
      snapshotVersion: -1,
      policy: 'static-weights',
      requestTime: t0 + i,
      eventTime: t0 + i,
      allocation: [
        { variant: 'champion', probability: 0.5 },
        { variant: 'challenger', probability: 0.5 },
      ],
      shadowVariants: [],
      shadowOf: null,
    }),
  };
}

async function measureOne(
  eventLog: KafkaEventLog,
  runDir: string,
  pending: number,
): Promise<RestoreRow> {
  const prefix = `restore-${randomUUID().slice(0, 8)}.`;
  const topics = topicNames(prefix);
  const codecs = loadCodecs();
  const logger = createLogger('bench', 'warn');
  await eventLog.ensureTopics(topicSpecs(topics, PARTITIONS));
  const experiment = defineExperiment({
    experiment: 'spam-filter',
    variants: CHAMPION_CHALLENGER,
    warmUpRewards: 0,
    attributionWindowMs: 7 * 86_400_000,
    graceMs: 0,
    updatedAt: Date.now(),
  });
  const producer = await eventLog.createProducer();
  try {
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
    await produceAll(producer, pending, (i) => predictionRecord(topics, codecs, i, t0));

    const start = async (
      disk: string,
    ): Promise<{ aggregator: RunningAggregator; close: () => Promise<void> }> => {
      const store = await openRocksDbStore(disk);
      const aggregator = await startAggregator({
        eventLog,
        store,
        codecs,
        topics,
        groupId: `${prefix}aggregator`,
        transactionalId: `${prefix}aggregator-${randomUUID()}`,
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
    const limit = 60 * 60_000;
    const diskA = join(runDir, `${prefix}a`);
    const a = await start(diskA);
    const f0 = performance.now();
    await waitUntil(() => a.aggregator.stats.predictions >= pending, 'folding', limit);
    const foldPerSecond = pending / ((performance.now() - f0) / 1000);
    await a.close();

    const b = await start(join(runDir, `${prefix}b`));
    await waitUntil(() => b.aggregator.runnerStats.restores >= PARTITIONS, 'full restore', limit);
    const fullRestoreMs = b.aggregator.runnerStats.restoreMs;
    const fullRestoredRecords = b.aggregator.runnerStats.restoredRecords;
    await produceAll(producer, pending, (i) => ({
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
    const j0 = performance.now();
    await waitUntil(() => b.aggregator.stats.rewards >= pending, 'joins', limit);
    const joinsPerSecond = pending / ((performance.now() - j0) / 1000);
    await b.close();

    const a2 = await start(diskA);
    await waitUntil(() => a2.aggregator.runnerStats.restores >= PARTITIONS, 'tail restore', limit);
    const row: RestoreRow = {
      pending,
      changelogRecords: (await eventLog.fetchOffsets(topics.aggregatorChangelog)).reduce(
        (sum, o) => sum + Number(BigInt(o.high) - BigInt(o.low)),
        0,
      ),
      foldPerSecond,
      fullRestoreMs,
      fullRestoredRecords,
      joinsPerSecond,
      tailRestoreMs: a2.aggregator.runnerStats.restoreMs,
      tailRestoredRecords: a2.aggregator.runnerStats.restoredRecords,
    };
    await a2.close();
    return row;
  } finally {
    await producer.close();
  }
}

export async function runRestoreBench(
  sizes: readonly number[],
  brokersGiven: readonly string[],
): Promise<RestoreRow[]> {
  const runDir = await mkdtemp(join(tmpdir(), 'dynab-restore-'));
  let kafka: EmbeddedKafka | null = null;
  let brokers = [...brokersGiven];
  if (brokers.length === 0) {
    kafka = await startEmbeddedKafka({ dataDir: join(runDir, 'kafka') });
    brokers = kafka.brokers;
  }
  const eventLog = new KafkaEventLog({ brokers, clientId: 'dynab-restore-bench' });
  try {
    await eventLog.waitUntilReady(60_000);
    const rows: RestoreRow[] = [];
    for (const size of sizes) rows.push(await measureOne(eventLog, runDir, size));
    return rows;
  } finally {
    await eventLog.close().catch(() => undefined);
    await kafka?.stop();
    await rm(runDir, { recursive: true, force: true });
  }
}
