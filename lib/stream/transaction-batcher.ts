// Group commit for exactly-once read-process-write: the outputs and next offsets of many
// partition batches share one Kafka transaction (a coalescer whose run is one transaction). A
// transaction costs several broker round trips whatever it carries (add partitions, produce, add offsets, commit offsets, end), so paying for
// one per partition batch bounds throughput by round trips; paying for one per "everything that
// was ready" lets the batch grow with the load: while a transaction is in flight, the batches
// that finish processing queue up and all go into the next one.
//
// Semantics are those of one transaction per batch: a submission resolves only once its records
// and offsets are committed, and every submission of a failed transaction is rejected, so the
// caller re-reads those records (their offsets were never committed).
import type { LogProducer, OutRecord, TopicPartitionOffset } from '../event-log/event-log.ts';
import { createCoalescer } from './coalescer.ts';

export interface TransactionBatcher {
  /** Resolves when `records` and `offsets` are committed in a transaction; rejects if it failed. */
  submit(records: readonly OutRecord[], offsets: readonly TopicPartitionOffset[]): Promise<void>;
  /** Counters for logs and benchmarks. */
  readonly stats: Readonly<{ transactions: number; submissions: number; records: number }>;
}

export interface TransactionBatcherOptions {
  readonly producer: LogProducer;
  readonly groupId: string;
  /**
   * Yields once before a transaction starts so that batches finishing in the same turn of the
   * event loop (every partition of one fetch) join it. Injected for tests; default setImmediate.
   */
  readonly yieldOnce?: () => Promise<void>;
  /**
   * Runs before each transaction; if it throws, the transaction is not started and its
   * submissions are rejected (LogConsumer.confirmMembership: an evicted member commits nothing).
   */
  readonly beforeCommit?: () => Promise<void>;
  /** Called after each committed transaction with its duration in ms (a metrics histogram). */
  readonly onCommitted?: (ms: number) => void;
}

/** Merges offsets so each topic-partition appears once, with the highest next offset. */
export function mergeOffsets(
  offsets: readonly TopicPartitionOffset[],
): readonly TopicPartitionOffset[] {
  const byPartition = new Map<string, TopicPartitionOffset>();
  for (const entry of offsets) {
    const key = `${entry.topic}\u0000${entry.partition}`;
    const seen = byPartition.get(key);
    if (seen === undefined || BigInt(entry.offset) > BigInt(seen.offset))
      byPartition.set(key, entry);
  }
  return [...byPartition.values()];
}

export function createTransactionBatcher(options: TransactionBatcherOptions): TransactionBatcher {
  const stats = { transactions: 0, submissions: 0, records: 0 };
  const coalescer = createCoalescer<{
    readonly records: readonly OutRecord[];
    readonly offsets: readonly TopicPartitionOffset[];
  }>(
    async (items) => {
      const records = items.flatMap((item) => item.records);
      await options.beforeCommit?.();
      const started = performance.now();
      await options.producer.sendWithOffsets(
        records,
        options.groupId,
        mergeOffsets(items.flatMap((item) => item.offsets)),
      );
      options.onCommitted?.(performance.now() - started);
      stats.transactions++;
      stats.submissions += items.length;
      stats.records += records.length;
    },
    options.yieldOnce === undefined ? {} : { yieldOnce: options.yieldOnce },
  );
  return {
    stats,
    submit: (records, offsets) => coalescer.submit({ records, offsets }),
  };
}
