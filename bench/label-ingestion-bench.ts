// Label ingestion rate, from a Kafka topic and from Kinesis (the kinesalite emulator), each beside
// the rate at which the same source is read with no mapping work (a handler that returns nothing:
// same runner, same transactions and checkpoints, no decoding, mapping or label encoding), in
// one run on one broker. Each measure reads a backlog written beforehand, on fresh topics; the
// two modes alternate twice.
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbeddedKafka, type EmbeddedKafka } from '../infra/kafka/embedded-kafka.ts';
import { loadCodecs } from '../lib/codec/avro-codec.ts';
import { topicNames, topicSpecs, type TopicNames } from '../lib/contracts/topics.ts';
import type { EventLog, OutRecord } from '../lib/event-log/event-log.ts';
import { KafkaEventLog } from '../lib/event-log/kafka-event-log.ts';
import { createLogger } from '../lib/log/logger.ts';
import { startLabelIngestion } from '../services/label-ingestion/build-label-ingestion.ts';
import { kafkaLabelSource } from '../services/label-ingestion/kafka-source.ts';
import {
  createKinesisClient,
  kinesisShardReader,
} from '../services/label-ingestion/kinesis/kinesis-shard-reader.ts';
import {
  ensureStream,
  putRecords,
  startLocalKinesis,
} from '../services/label-ingestion/kinesis/kinesis-local.ts';
import { kinesisLabelSource } from '../services/label-ingestion/kinesis-source.ts';
import type { LabelSource, RunningSource } from '../services/label-ingestion/label-source.ts';
import { checkMapping } from '../services/label-ingestion/load-mapping.ts';

export interface IngestionRow {
  readonly source: 'kafka' | 'kinesis';
  readonly mode: 'read only' | 'mapped';
  readonly records: number;
  readonly labels: number;
  readonly seconds: number;
}

export interface LabelIngestionBenchOptions {
  readonly kafkaRecords: number;
  readonly kinesisRecords: number;
  readonly shards: number;
  readonly partitions: number;
  readonly brokers: readonly string[];
}

const MAPPING = {
  version: 1,
  source: 'bench-app-log',
  requestId: '$.context.requestId',
  eventTime: { path: '$.at', format: 'epoch-ms' },
  filter: [{ path: '$.env', equals: 'prod' }],
  rules: [
    { name: 'click', when: [{ path: '$.event', equals: 'click' }], reward: 1 },
    { name: 'spam', when: [{ path: '$.event', equals: 'mark_spam' }], truth: 'spam' },
  ],
};
const EVENTS = ['click', 'mark_spam', 'view', 'scroll'];
/** Each mode twice, interleaved, so warm-up and machine load fall on both alike. */
const MODES = ['read only', 'mapped', 'read only', 'mapped'] as const;

/** An app-log line of about 200 bytes; half of them make a label. */
function logLine(i: number): string {
  return JSON.stringify({
    env: 'prod',
    event: EVENTS[i % EVENTS.length],
    context: { requestId: `r-${i}`, page: '/inbox', session: `s-${i % 977}` },
    at: 1_796_600_000_000 + i,
    agent: 'Mozilla/5.0 (X11; Linux x86_64)',
  });
}

const logger = createLogger('bench', 'silent');
const codecs = loadCodecs();

async function freshTopics(eventLog: EventLog, partitions: number): Promise<TopicNames> {
  const topics = topicNames(`bench-${randomUUID().slice(0, 8)}.`);
  await eventLog.ensureTopics(topicSpecs(topics, partitions));
  return topics;
}

async function until(done: () => boolean): Promise<void> {
  while (!done()) await new Promise((resolve) => setTimeout(resolve, 10));
}

async function measure(
  source: LabelSource,
  mode: IngestionRow['mode'],
  topics: TopicNames,
  records: number,
): Promise<{ seconds: number; labels: number }> {
  const started = performance.now();
  if (mode === 'read only') {
    const running: RunningSource = await source.start(() => []);
    await until(() => running.stats.records >= records);
    const seconds = (performance.now() - started) / 1000;
    await running.stop();
    return { seconds, labels: 0 };
  }
  const running = await startLabelIngestion({
    source,
    loaded: checkMapping(MAPPING, 'bench'),
    codecs,
    topics,
    maxRecordBytes: 1024 * 1024,
    logger,
    now: Date.now,
  });
  await until(() => running.stats.records >= records);
  const seconds = (performance.now() - started) / 1000;
  const labels = running.stats.labels;
  await running.stop();
  return { seconds, labels };
}

async function kafkaRows(eventLog: EventLog, options: LabelIngestionBenchOptions) {
  const rows: IngestionRow[] = [];
  for (const mode of MODES) {
    const topics = await freshTopics(eventLog, options.partitions);
    const producer = await eventLog.createProducer();
    for (let i = 0; i < options.kafkaRecords; i += 1000) {
      const chunk: OutRecord[] = [];
      for (let j = i; j < Math.min(options.kafkaRecords, i + 1000); j++) {
        chunk.push({ topic: topics.appLogs, key: `u-${j % 1000}`, value: Buffer.from(logLine(j)) });
      }
      await producer.send(chunk);
    }
    await producer.close();
    const source = kafkaLabelSource({
      eventLog,
      codecs,
      topic: topics.appLogs,
      groupId: `${topics.appLogs}-bench`,
      transactionalId: `${topics.appLogs}-bench-tx`,
      deadLetterTopic: topics.deadLetters,
      logger,
      now: Date.now,
    });
    const result = await measure(source, mode, topics, options.kafkaRecords);
    rows.push({ source: 'kafka', mode, records: options.kafkaRecords, ...result });
  }
  return rows;
}

async function kinesisRows(eventLog: EventLog, options: LabelIngestionBenchOptions) {
  const rows: IngestionRow[] = [];
  const local = await startLocalKinesis();
  const client = createKinesisClient({
    region: 'us-east-1',
    endpoint: local.endpoint,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  try {
    for (const mode of MODES) {
      const topics = await freshTopics(eventLog, options.partitions);
      const stream = `${topics.appLogs}-stream`;
      await ensureStream(client, stream, options.shards);
      const lines = Array.from({ length: options.kinesisRecords }, (_, i) => ({
        data: logLine(i),
        partitionKey: `u-${i % 1000}`,
      }));
      await putRecords(client, stream, lines);
      const source = kinesisLabelSource({
        reader: kinesisShardReader(client, stream),
        eventLog,
        codecs,
        checkpointTopic: topics.labelSourceCheckpoints,
        groupId: `${stream}-bench`,
        transactionalId: `${stream}-bench-tx`,
        deadLetterTopic: topics.deadLetters,
        logger,
        now: Date.now,
        pollIntervalMs: 0,
        maxRecords: 1000,
      });
      const result = await measure(source, mode, topics, options.kinesisRecords);
      rows.push({ source: 'kinesis', mode, records: options.kinesisRecords, ...result });
    }
  } finally {
    client.destroy();
    await local.stop();
  }
  return rows;
}

export async function runLabelIngestionBench(
  options: LabelIngestionBenchOptions,
): Promise<IngestionRow[]> {
  const runDir = await mkdtemp(join(tmpdir(), 'dynab-ingestion-bench-'));
  let kafka: EmbeddedKafka | null = null;
  let brokers = [...options.brokers];
  if (brokers.length === 0) {
    kafka = await startEmbeddedKafka({ dataDir: join(runDir, 'kafka') });
    brokers = kafka.brokers;
  }
  const eventLog = new KafkaEventLog({ brokers, clientId: 'dynab-ingestion-bench' });
  try {
    await eventLog.waitUntilReady(60_000);
    return [...(await kafkaRows(eventLog, options)), ...(await kinesisRows(eventLog, options))];
  } finally {
    await eventLog.close().catch(() => undefined);
    await kafka?.stop();
    await rm(runDir, { recursive: true, force: true });
  }
}
