// Kafka's own ceiling on a broker, measured by Kafka's own tools (kafka-tools of the broker's
// release): what its Java producer and consumer move per second, and what one record's round trip
// costs, at the record sizes the pipeline sends. The pipeline's numbers are read against these.
//
//   producer   ProducerPerformance, unthrottled, acks=all, a tuned batch (TUNED_PRODUCER_PROPS),
//              into a fresh topic with the given partition count
//   consumer   ConsumerPerformance reading those records back from the start of the topic
//   latency    EndToEndLatency: send one record (acks=all), wait for the ack, poll it back; repeat
//
// Sizes: a fixed record size, or the served spam mails themselves (`writeServedMailsPayloadFile`):
// the bodies the pipeline puts in its requests, picked at random per record by the producer tool.
// EndToEndLatency only sends fixed-size records, so it runs at the mails' mean size.
import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { KAFKA_VERSION } from '../infra/kafka/embedded-kafka.ts';
import {
  KAFKA_TOOL,
  resolveKafkaToolsClasspath,
  runKafkaTool,
  type KafkaToolOutput,
} from '../infra/kafka/kafka-tools.ts';
import { loadSpamCorpus, splitCorpus } from '../services/local-endpoint/spam-corpus.ts';
import {
  parseConsumerPerformance,
  parseEndToEndLatency,
  parseProducerPerformance,
  type ConsumerPerformanceSummary,
  type EndToEndLatencySummary,
  type ProducerPerformanceSummary,
} from './kafka-tool-output.ts';

/**
 * The producer settings of the ceiling runs (bootstrap.servers is added per run).
 * - acks=all: what the pipeline asks for (Kafka 4's idempotent producer needs it anyway).
 * - batch.size 128 KiB instead of 16 KiB: the default batch holds 64 records of 256 B or about
 *   three mails, so a saturated producer would send many small requests; a larger batch amortises
 *   each request's fixed cost, as a throughput-tuned producer does.
 * - linger.ms 10 (default 5): waits a little longer for a batch to fill when the producer is not
 *   saturated; unthrottled, batches fill before the linger expires and it costs nothing.
 * - compression none: the pipeline's event log does not compress by default, so both move the
 *   same bytes.
 */
export const TUNED_PRODUCER_PROPS: Readonly<Record<string, string>> = Object.freeze({
  acks: 'all',
  'batch.size': String(128 * 1024),
  'linger.ms': '10',
  'compression.type': 'none',
});

/** Where the tools run. */
export interface KafkaToolsTarget {
  readonly brokers: readonly string[];
  /** From resolveKafkaToolsClasspath; resolved from the default jar cache when omitted. */
  readonly classpath?: string;
  /** JVM heap of each tool (default 256m). */
  readonly heap?: string;
  /** Per tool run (default 10 minutes). */
  readonly timeoutMs?: number;
}

/** Record payloads: a fixed size, or real payloads read from a file (see writeServedMailsPayloadFile). */
export type CeilingPayload =
  | { readonly kind: 'fixed'; readonly bytes: number }
  | {
      readonly kind: 'file';
      readonly path: string;
      /** A Java regular expression that separates the payloads in the file. */
      readonly delimiterPattern: string;
      readonly count: number;
      /** Mean payload size in bytes (UTF-8). */
      readonly meanBytes: number;
    };

export interface ToolRun {
  /** The command as run (classpath shown as $KAFKA_TOOLS_CP). */
  readonly command: string;
  readonly elapsedMs: number;
}

export interface ProducerPerformanceRun extends ProducerPerformanceSummary, ToolRun {
  readonly topic: string;
  readonly partitions: number;
  /** Mean bytes per record actually sent (from the tool's MB/s and records/s). */
  readonly meanRecordBytes: number;
}

export interface ConsumerPerformanceRun extends ConsumerPerformanceSummary, ToolRun {
  readonly topic: string;
}

export interface EndToEndLatencyRun extends EndToEndLatencySummary, ToolRun {
  readonly topic: string;
  readonly messages: number;
  readonly recordBytes: number;
}

async function run(
  target: KafkaToolsTarget,
  mainClass: (typeof KAFKA_TOOL)[keyof typeof KAFKA_TOOL],
  args: readonly string[],
): Promise<KafkaToolOutput> {
  return runKafkaTool(mainClass, args, {
    classpath: target.classpath ?? (await resolveKafkaToolsClasspath()),
    ...(target.heap === undefined ? {} : { heap: target.heap }),
    ...(target.timeoutMs === undefined ? {} : { timeoutMs: target.timeoutMs }),
  });
}

/** Creates a topic with Kafka's own topic tool (replication factor 1 unless told). */
export async function createTopic(
  target: KafkaToolsTarget,
  topic: string,
  partitions: number,
  replicationFactor = 1,
): Promise<ToolRun> {
  const { command, elapsedMs } = await run(target, KAFKA_TOOL.topics, [
    '--bootstrap-server',
    target.brokers.join(','),
    '--create',
    '--topic',
    topic,
    '--partitions',
    String(partitions),
    '--replication-factor',
    String(replicationFactor),
  ]);
  return { command, elapsedMs };
}

export interface ProducerPerformanceOptions {
  readonly records: number;
  readonly payload: CeilingPayload;
  /** Partitions of the fresh topic the records go to. */
  readonly partitions: number;
  /** Topic name; a fresh `kafka-ceiling-<id>` when omitted. It must not exist yet. */
  readonly topic?: string;
  /** Producer properties on top of TUNED_PRODUCER_PROPS (these win). */
  readonly producerProps?: Readonly<Record<string, string>>;
}

/**
 * Creates a fresh topic and runs ProducerPerformance into it, unthrottled
 * (`--throughput -1`), with TUNED_PRODUCER_PROPS.
 */
export async function runProducerPerformance(
  target: KafkaToolsTarget,
  options: ProducerPerformanceOptions,
): Promise<ProducerPerformanceRun> {
  const topic = options.topic ?? `kafka-ceiling-${randomUUID().slice(0, 8)}`;
  await createTopic(target, topic, options.partitions);
  const props = {
    ...TUNED_PRODUCER_PROPS,
    ...options.producerProps,
    'bootstrap.servers': target.brokers.join(','),
  };
  const payloadArgs =
    options.payload.kind === 'fixed'
      ? ['--record-size', String(options.payload.bytes)]
      : [
          '--payload-file',
          options.payload.path,
          '--payload-delimiter',
          options.payload.delimiterPattern,
        ];
  const output = await run(target, KAFKA_TOOL.producerPerformance, [
    '--topic',
    topic,
    '--num-records',
    String(options.records),
    ...payloadArgs,
    '--throughput',
    '-1',
    '--producer-props',
    ...Object.entries(props).map(([key, value]) => `${key}=${value}`),
  ]);
  const summary = parseProducerPerformance(output.stdout);
  if (summary.records !== options.records)
    throw new Error(
      `ProducerPerformance sent ${summary.records} records, not ${options.records}:\n${output.stdout}`,
    );
  if (options.payload.kind === 'file' && summary.payloadsRead !== options.payload.count)
    throw new Error(
      `ProducerPerformance split ${options.payload.path} into ${summary.payloadsRead} payloads, not ${options.payload.count}`,
    );
  return {
    ...summary,
    topic,
    partitions: options.partitions,
    meanRecordBytes: (summary.mibPerSecond * 2 ** 20) / summary.recordsPerSecond,
    command: output.command,
    elapsedMs: output.elapsedMs,
  };
}

export interface ConsumerPerformanceOptions {
  readonly topic: string;
  /** How many records to read; the run fails if the topic runs dry first. */
  readonly records: number;
  /** Give up when no record arrives for this long (the tool's --timeout; default 30 s). */
  readonly idleTimeoutMs?: number;
}

/** Runs ConsumerPerformance from the start of the topic, in a fresh consumer group. */
export async function runConsumerPerformance(
  target: KafkaToolsTarget,
  options: ConsumerPerformanceOptions,
): Promise<ConsumerPerformanceRun> {
  const output = await run(target, KAFKA_TOOL.consumerPerformance, [
    '--bootstrap-server',
    target.brokers.join(','),
    '--topic',
    options.topic,
    '--messages',
    String(options.records),
    '--group',
    `kafka-ceiling-${randomUUID().slice(0, 8)}`,
    '--timeout',
    String(options.idleTimeoutMs ?? 30_000),
  ]);
  const summary = parseConsumerPerformance(output.stdout);
  // On an idle timeout the tool warns and still prints (and exits 0) with what it read.
  if (summary.records !== options.records)
    throw new Error(
      `ConsumerPerformance read ${summary.records} records of ${options.topic}, not ${options.records}:\n${output.stdout}`,
    );
  return { ...summary, topic: options.topic, command: output.command, elapsedMs: output.elapsedMs };
}

export interface EndToEndLatencyOptions {
  readonly messages: number;
  readonly recordBytes: number;
  /** Topic; a fresh one when omitted, which the tool creates with 1 partition, replication 1. */
  readonly topic?: string;
  /** Producer acks; the tool accepts 1 or all. Default all. */
  readonly acks?: '1' | 'all';
}

/**
 * Runs EndToEndLatency: each record is sent and acknowledged, then polled back by a consumer
 * (fetch.max.wait.ms 0) before the next one, so every sample is one unloaded round trip.
 */
export async function runEndToEndLatency(
  target: KafkaToolsTarget,
  options: EndToEndLatencyOptions,
): Promise<EndToEndLatencyRun> {
  const topic = options.topic ?? `kafka-ceiling-e2e-${randomUUID().slice(0, 8)}`;
  // Positional in 4.1: broker_list topic num_messages producer_acks message_size_bytes.
  const output = await run(target, KAFKA_TOOL.endToEndLatency, [
    target.brokers.join(','),
    topic,
    String(options.messages),
    options.acks ?? 'all',
    String(options.recordBytes),
  ]);
  return {
    ...parseEndToEndLatency(output.stdout),
    topic,
    messages: options.messages,
    recordBytes: options.recordBytes,
    command: output.command,
    elapsedMs: output.elapsedMs,
  };
}

/**
 * Separates the mails in the payload file. The producer tool splits the file with a Java regular
 * expression (a Scanner delimiter); `\n` in it is a newline and `=`, `-` and letters are literal.
 * The default is a newline, which every mail contains.
 */
const MAIL_BOUNDARY = '\n=====dynab-mail-boundary=====\n';
const MAIL_BOUNDARY_PATTERN = String.raw`\n=====dynab-mail-boundary=====\n`;

/**
 * Writes the served half of the spam corpus to `dir` as a payload file for ProducerPerformance:
 * each mail body as the pipeline sends it (UTF-8 bytes of the text), separated by a boundary
 * that no mail contains.
 */
export async function writeServedMailsPayloadFile(
  dir: string,
): Promise<Extract<CeilingPayload, { kind: 'file' }>> {
  const { serve } = splitCorpus(loadSpamCorpus());
  const bodies = serve.map((mail) => mail.text);
  const content = bodies.join(MAIL_BOUNDARY);
  // The tool reads the file as UTF-8 text and re-encodes each payload, so only bodies that are
  // well-formed text arrive byte for byte; a lone surrogate would be replaced on write.
  const wellFormed = Buffer.from(content, 'utf8').toString('utf8') === content;
  if (content.split(MAIL_BOUNDARY).length !== bodies.length || !wellFormed)
    throw new Error('the served mails cannot be written as one payload file with this boundary');
  const path = join(dir, 'served-mails.txt');
  await writeFile(path, content, 'utf8');
  const bytes = bodies.reduce((sum, body) => sum + Buffer.byteLength(body, 'utf8'), 0);
  return {
    kind: 'file',
    path,
    delimiterPattern: MAIL_BOUNDARY_PATTERN,
    count: bodies.length,
    meanBytes: bytes / bodies.length,
  };
}

export interface CeilingSize {
  /** For tables, e.g. "fixed-size" or "served spam mails" (the size is added). */
  readonly label: string;
  readonly payload: CeilingPayload;
  /** Records for the producer and the consumer runs. */
  readonly records: number;
}

export interface KafkaCeilingOptions extends KafkaToolsTarget {
  readonly sizes: readonly CeilingSize[];
  /** Partitions of each producer/consumer topic (default 4, as the pipeline benchmark). */
  readonly partitions?: number;
  /** Round trips per EndToEndLatency run (default 2,000). */
  readonly latencyMessages?: number;
  readonly onProgress?: (message: string) => void;
}

export interface KafkaCeilingRow {
  readonly label: string;
  /** Fixed size, or the payload file's mean (also the EndToEndLatency record size, rounded). */
  readonly recordBytes: number;
  readonly producer: ProducerPerformanceRun;
  readonly consumer: ConsumerPerformanceRun;
  readonly latency: EndToEndLatencyRun;
}

export interface KafkaCeilingReport {
  readonly kafkaVersion: string;
  readonly producerProps: Readonly<Record<string, string>>;
  readonly partitions: number;
  readonly rows: readonly KafkaCeilingRow[];
}

/** Runs producer, consumer and round-trip latency for each size, one tool at a time. */
export async function measureKafkaCeiling(
  options: KafkaCeilingOptions,
): Promise<KafkaCeilingReport> {
  const progress = options.onProgress ?? (() => undefined);
  const partitions = options.partitions ?? 4;
  const target: KafkaToolsTarget = {
    ...options,
    classpath: options.classpath ?? (await resolveKafkaToolsClasspath(undefined, progress)),
  };
  const rows: KafkaCeilingRow[] = [];
  for (const size of options.sizes) {
    const recordBytes = size.payload.kind === 'fixed' ? size.payload.bytes : size.payload.meanBytes;
    progress(
      `${size.label}: ProducerPerformance, ${size.records} records, ${partitions} partitions`,
    );
    const producer = await runProducerPerformance(target, {
      records: size.records,
      payload: size.payload,
      partitions,
    });
    progress(`${size.label}: ConsumerPerformance, ${size.records} records`);
    const consumer = await runConsumerPerformance(target, {
      topic: producer.topic,
      records: size.records,
    });
    const messages = options.latencyMessages ?? 2_000;
    progress(`${size.label}: EndToEndLatency, ${messages} round trips`);
    const latency = await runEndToEndLatency(target, {
      messages,
      recordBytes: Math.round(recordBytes),
    });
    rows.push({ label: size.label, recordBytes, producer, consumer, latency });
  }
  return { kafkaVersion: KAFKA_VERSION, producerProps: TUNED_PRODUCER_PROPS, partitions, rows };
}

const formatNumber = (value: number, digits = 0): string =>
  value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

/** The report as a Markdown table, one row per size. */
export function formatKafkaCeilingTable(report: KafkaCeilingReport): string {
  const lines = [
    '| records | producer records/s | producer MiB/s | producer send→ack avg / p50 / p99 (queued) | consumer records/s (with group join) | consumer records/s (fetching) | round trip avg / p50 / p99 / p99.9 |',
    '|---|---:|---:|---:|---:|---:|---:|',
  ];
  for (const row of report.rows) {
    const { producer: p, consumer: c, latency: l } = row;
    lines.push(
      `| ${row.label} (${formatNumber(row.recordBytes)} B) | ${formatNumber(p.recordsPerSecond)} | ${formatNumber(p.mibPerSecond, 1)} | ${formatNumber(p.latencyMs.avg)} / ${formatNumber(p.latencyMs.p50)} / ${formatNumber(p.latencyMs.p99)} ms | ${formatNumber(c.recordsPerSecond)} | ${formatNumber(c.fetchRecordsPerSecond)} | ${formatNumber(l.avgMs, 1)} / ${formatNumber(l.p50Ms)} / ${formatNumber(l.p99Ms)} / ${formatNumber(l.p999Ms)} ms |`,
    );
  }
  return lines.join('\n');
}
