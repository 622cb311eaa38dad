// The generic runner for stateless processors (router, inference): consume → process →
// produce → commit. A processor maps one input record (or a whole batch) to the records to emit;
// the runner owns concurrency, retries with backoff, dead letters and the transactions that make
// outputs and consumed offsets visible together (exactly-once read-process-write). Every assigned
// partition is consumed at once, and the batches that are ready together share one transaction.
import type { DeadLettered } from '../contracts/events.ts';
import { toWellFormed } from '../contracts/record-limits.ts';
import { DynabError, toDynabError } from '../errors/catalogue.ts';
import type {
  ConsumerOptions,
  EventLog,
  LogBatch,
  LogConsumer,
  LogProducer,
  LogRecord,
  OutRecord,
} from '../event-log/event-log.ts';
import type { Logger } from '../log/logger.ts';
import { discardMetrics, type Metrics } from '../metrics/metrics.ts';
import type { Readiness } from '../metrics/readiness.ts';
import { RUNNER_SERIES, runnerSeries, type RunnerSeries } from '../metrics/series.ts';
import { createTransactionBatcher } from './transaction-batcher.ts';

export interface Processor {
  /** Handles one record. Throws a DynabError when the record cannot be processed. */
  process(record: LogRecord): Promise<readonly OutRecord[]> | readonly OutRecord[];
  /**
   * Optional: handles many records at once (e.g. one model call for many requests). Entry i of
   * the result belongs to records[i]: the records to emit, or the DynabError that sends that
   * record alone to the dead letters. The processor does its own retries here; the runner does
   * not call `process` for records handed to `processBatch`.
   */
  processBatch?(
    records: readonly LogRecord[],
  ): Promise<readonly (readonly OutRecord[] | DynabError)[]>;
}

export interface ProcessorRunnerOptions {
  readonly service: string;
  readonly eventLog: EventLog;
  readonly groupId: string;
  readonly topics: readonly string[];
  readonly deadLetterTopic: string;
  /** Unique per instance; Kafka fences zombie instances that reuse it. */
  readonly transactionalId: string;
  /** Records of one batch processed at the same time (the per-record path only). */
  readonly concurrency: number;
  /** Partition batches processed at the same time (default DEFAULT_CONCURRENT_PARTITIONS). */
  readonly concurrentPartitions?: number;
  /** Fetch sizing: larger fetches under load mean more records per transaction. */
  readonly fetch?: Pick<ConsumerOptions, 'maxBytesPerPartition' | 'maxWaitTimeMs' | 'minBytes'>;
  /** Attempts for retriable failures before the record is dead-lettered. */
  readonly maxAttempts: number;
  readonly encodeDeadLetter: (letter: DeadLettered) => Buffer;
  readonly logger: Logger;
  readonly now: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  /** Called when consumption stopped for good; the process should exit so it gets restarted. */
  readonly onFatal?: (error: Error) => void;
  /** Where the runner's series go (records processed, dead letters, lag, transactions). */
  readonly metrics?: Metrics;
  /** Gets a condition that holds while the consumer is in its group with its assignment. */
  readonly readiness?: Readiness;
}

export interface RunnerStats {
  processed: number;
  deadLettered: number;
  /** Partition batches handled. */
  batches: number;
  /** Kafka transactions committed: each carries the batches that were ready together. */
  transactions: number;
}

/**
 * Partitions whose batches are processed at the same time. Their outputs and offsets share
 * transactions (transaction-batcher.ts), so more partitions per fetch means fewer round trips
 * per record; a member owning fewer partitions simply uses fewer.
 */
export const DEFAULT_CONCURRENT_PARTITIONS = 64;

export interface RunningProcessor {
  readonly stats: Readonly<RunnerStats>;
  stop(): Promise<void>;
}

/** Longest reason written to a dead letter, in characters; the rest is cut. */
export const MAX_DEAD_LETTER_REASON = 4096;

/**
 * The reason as a dead letter carries it. Reasons quote what the input held (ids, names), so
 * they are cut to a bounded length, and lone surrogates are replaced by U+FFFD: Avro strings are
 * UTF-8, and avsc writes a lone surrogate as bytes that are not, which readers reject.
 */
function deadLetterReason(message: string): string {
  const cut = message.length - MAX_DEAD_LETTER_REASON;
  // Room for the note, so the whole reason stays within the bound.
  const kept = cut > 0 ? message.slice(0, MAX_DEAD_LETTER_REASON - 40) : message;
  const note = cut > 0 ? `… (${message.length - kept.length} characters cut)` : '';
  return toWellFormed(kept) + note;
}

/**
 * Most bytes of the original key and value a dead letter carries (the key counts twice: record
 * key and field). The dead-letters topic takes 4 MiB records (contracts/topics.ts); an input
 * from a topic configured for larger records is cut to fit, or its dead letter would be
 * rejected by the broker on every retry.
 */
export const MAX_DEAD_LETTER_SOURCE_BYTES = 3 * 1024 * 1024;
const CUT_KEY_BYTES = 64 * 1024;

function originalBytes(record: LogRecord): {
  key: Buffer | null;
  value: Buffer | null;
  note: string;
} {
  const keyBytes = record.key?.byteLength ?? 0;
  const valueBytes = record.value?.byteLength ?? 0;
  if (2 * keyBytes + valueBytes <= MAX_DEAD_LETTER_SOURCE_BYTES) {
    return { key: record.key, value: record.value, note: '' };
  }
  const key = record.key?.subarray(0, CUT_KEY_BYTES) ?? null;
  const room = MAX_DEAD_LETTER_SOURCE_BYTES - 2 * (key?.byteLength ?? 0);
  const value = record.value?.subarray(0, room) ?? null;
  return {
    key,
    value,
    note: ` (key of ${keyBytes} and value of ${valueBytes} bytes cut to ${key?.byteLength ?? 0} and ${value?.byteLength ?? 0})`,
  };
}

/**
 * Builds the dead-letter record for a failed input record; the original key and bytes are kept
 * as bytes (cut only beyond MAX_DEAD_LETTER_SOURCE_BYTES), and every string is valid UTF-8
 * whatever the input held.
 */
export function buildDeadLetter(
  record: LogRecord,
  error: DynabError,
  service: string,
  topic: string,
  failedAt: number,
  encode: (letter: DeadLettered) => Buffer,
): OutRecord {
  const original = originalBytes(record);
  const letter: DeadLettered = {
    sourceTopic: record.topic,
    sourcePartition: record.partition,
    sourceOffset: record.offset,
    key: original.key,
    value: original.value,
    errorCode: error.code,
    reason: deadLetterReason(error.message) + original.note,
    service,
    failedAt,
  };
  return {
    topic,
    key: original.key,
    value: encode(letter),
    headers: {
      [DEAD_LETTER_CODE_HEADER]: error.code,
      'dynab-source-topic': record.topic,
      'dynab-service': service,
    },
  };
}

/** Header of every dead letter naming its error code (read back to count committed ones). */
export const DEAD_LETTER_CODE_HEADER = 'dynab-error-code';

/**
 * Counts the dead letters among committed outputs and sets each consumed partition's lag: what
 * both runners record once a transaction committed (so a retried batch is never counted twice).
 */
export function recordCommitted(
  series: RunnerSeries,
  outputs: readonly OutRecord[],
  batches: readonly LogBatch[],
): void {
  for (const output of outputs) {
    const code = output.headers?.[DEAD_LETTER_CODE_HEADER];
    if (code !== undefined) series.deadLetters.labels(code).inc();
  }
  for (const batch of batches) {
    const last = batch.records[batch.records.length - 1];
    if (last === undefined) continue;
    // kafkajs reports the high watermark: the offset the next record will get.
    const lag = Number(BigInt(batch.highWatermark) - BigInt(last.offset) - 1n);
    series.lag.labels(batch.topic, String(batch.partition)).set(Math.max(0, lag));
  }
}

/** Readiness of a group member: unmet until the first assignment, and after a crash or stop. */
export function memberReadiness(
  readiness: Readiness | undefined,
  groupId: string,
): { assigned(): void; down(reason: string): void } {
  const condition = readiness?.condition(`consumer group ${groupId}: partitions not assigned yet`);
  return {
    assigned: () => condition?.set(true),
    down: (reason) => condition?.set(false, `consumer group ${groupId}: ${reason}`),
  };
}

/** The one log line of every service for a record sent to the dead letters. */
export function warnDeadLettered(logger: Logger, record: LogRecord, error: DynabError): void {
  logger.warn(
    {
      topic: record.topic,
      partition: record.partition,
      offset: record.offset,
      code: error.code,
      reason: error.message,
    },
    'dead-lettering record',
  );
}

interface ConcurrentMap<T, R> {
  readonly items: readonly T[];
  readonly fn: (item: T) => Promise<R>;
  readonly results: R[];
  next: number;
}

/** One of mapWithConcurrency's workers: takes the next item until none is left. */
async function mapWorker<T, R>(work: ConcurrentMap<T, R>): Promise<void> {
  for (;;) {
    const index = work.next++;
    if (index >= work.items.length) return;
    work.results[index] = await work.fn(work.items[index] as T);
  }
}

async function mapWithConcurrency<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  // Workers of a function made once, not closures made per batch: such a closure dies with the
  // batch, and its optimised code with it at the next full collection (V8 keeps that code only
  // weakly), so it was compiled again and again.
  const work: ConcurrentMap<T, R> = { items, fn, results: new Array<R>(items.length), next: 0 };
  const workers: Promise<void>[] = [];
  for (let i = 0; i < Math.min(limit, items.length); i++) workers.push(mapWorker(work));
  await Promise.all(workers);
  return work.results;
}

export async function startProcessorRunner(
  options: ProcessorRunnerOptions,
  processor: Processor,
): Promise<RunningProcessor> {
  const { logger } = options;
  // Registered before anything is awaited: the service is not ready from this call on.
  const member = memberReadiness(options.readiness, options.groupId);
  const sleep =
    options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const stats: RunnerStats = { processed: 0, deadLettered: 0, batches: 0, transactions: 0 };
  const producer: LogProducer = await options.eventLog.createProducer({
    transactionalId: options.transactionalId,
  });
  const consumer: LogConsumer = await options.eventLog.createConsumer({
    groupId: options.groupId,
    topics: options.topics,
    fromBeginning: true,
    concurrentPartitions: options.concurrentPartitions ?? DEFAULT_CONCURRENT_PARTITIONS,
    ...(options.fetch ?? {}),
  });

  const deadLetterOf = (record: LogRecord, error: DynabError): readonly OutRecord[] => {
    warnDeadLettered(logger, record, error);
    stats.deadLettered++;
    return [
      buildDeadLetter(
        record,
        error,
        options.service,
        options.deadLetterTopic,
        options.now(),
        options.encodeDeadLetter,
      ),
    ];
  };

  const processOne = async (record: LogRecord): Promise<readonly OutRecord[]> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await processor.process(record);
      } catch (thrown) {
        const error = toDynabError(thrown);
        const fields = {
          topic: record.topic,
          partition: record.partition,
          offset: record.offset,
          code: error.code,
        };
        if (error.retriable && attempt < options.maxAttempts) {
          logger.warn({ ...fields, attempt, err: error }, 'retrying record');
          await sleep(Math.min(5_000, 100 * 2 ** (attempt - 1)));
          continue;
        }
        return deadLetterOf(record, error);
      }
    }
  };

  const processAll = async (records: readonly LogRecord[]): Promise<(readonly OutRecord[])[]> => {
    if (processor.processBatch === undefined)
      return mapWithConcurrency(records, options.concurrency, processOne);
    const results = await processor.processBatch(records);
    // A loop, not a callback made per batch (whose optimised code V8 keeps only weakly).
    const outputs: (readonly OutRecord[])[] = [];
    for (let i = 0; i < records.length; i++) {
      const record = records[i];
      if (record === undefined) continue;
      const result = results[i];
      outputs.push(
        result === undefined || result instanceof DynabError
          ? deadLetterOf(
              record,
              result ??
                new DynabError('INTERNAL', 'processBatch returned no result for the record'),
            )
          : result,
      );
    }
    return outputs;
  };

  const metrics = options.metrics ?? discardMetrics;
  const series = runnerSeries(metrics);
  metrics.counterFrom(RUNNER_SERIES.recordsProcessed, () => stats.processed);
  const transactionSeconds = series.transactionSeconds.labels();
  const transactions = createTransactionBatcher({
    producer,
    groupId: options.groupId,
    beforeCommit: () => consumer.confirmMembership(),
    onCommitted: (ms) => transactionSeconds.observe(ms / 1000),
  });
  const handleBatch = async (batch: LogBatch): Promise<void> => {
    const outputs = await processAll(batch.records);
    const last = batch.records[batch.records.length - 1];
    if (last === undefined) return;
    const records = outputs.flat();
    await transactions.submit(records, [
      {
        topic: batch.topic,
        partition: batch.partition,
        offset: (BigInt(last.offset) + 1n).toString(),
      },
    ]);
    stats.processed += batch.records.length;
    stats.batches++;
    stats.transactions = transactions.stats.transactions;
    recordCommitted(series, records, [batch]);
  };

  const owned = new Set<string>();
  await consumer.run(handleBatch, {
    onJoined: (assignment) => {
      // The lag of a partition this member no longer owns is another member's to report.
      const now = new Set(assignment.map((a) => `${a.topic}\u0000${a.partition}`));
      for (const key of owned) {
        if (now.has(key)) continue;
        const [topic = '', partition = ''] = key.split('\u0000');
        series.lag.remove(topic, partition);
        owned.delete(key);
      }
      for (const key of now) owned.add(key);
      member.assigned();
    },
    onCrash: (error) => {
      member.down(`consumer crashed: ${error.message}`);
      logger.error({ err: error }, 'consumer crashed');
      options.onFatal?.(error);
    },
  });

  return {
    stats,
    async stop() {
      member.down('stopping');
      await consumer.stop();
      await producer.close();
    },
  };
}
