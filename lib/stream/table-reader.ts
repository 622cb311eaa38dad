// Reads a compacted topic from the beginning into memory, keeping the latest value per key
// (a KTable, in Kafka Streams terms). Every instance reads the whole topic: each router needs
// every experiment and every partial posterior. Undecodable records are reported, not fatal.
import { randomUUID } from 'node:crypto';
import type { EventLog, LogConsumer, LogRecord } from '../event-log/event-log.ts';

export interface TableReaderOptions<T> {
  readonly eventLog: EventLog;
  readonly topic: string;
  readonly decode: (record: LogRecord) => T;
  /** Called after each batch with the keys that changed; null values mean deleted (tombstone). */
  readonly onChange?: (changed: ReadonlyMap<string, T | null>) => void;
  readonly onInvalid?: (record: LogRecord, error: unknown) => void;
  readonly groupPrefix: string;
}

export interface TableReader<T> {
  get(key: string): T | undefined;
  values(): IterableIterator<T>;
  /** Key and latest value of every row. */
  entries(): IterableIterator<[string, T]>;
  /** Resolves once everything written before the call has been read. */
  waitForCatchUp(timeoutMs: number): Promise<void>;
  stop(): Promise<void>;
}

export async function startTableReader<T>(options: TableReaderOptions<T>): Promise<TableReader<T>> {
  const rows = new Map<string, T>();
  const positions = new Map<number, bigint>();
  const consumer: LogConsumer = await options.eventLog.createConsumer({
    // A throw-away group: the table is rebuilt from the beginning at every start.
    groupId: `${options.groupPrefix}-${randomUUID()}`,
    topics: [options.topic],
    fromBeginning: true,
    maxWaitTimeMs: 50,
  });
  await consumer.run(
    (batch) => {
      const changed = new Map<string, T | null>();
      for (const record of batch.records) {
        const key = record.key?.toString() ?? '';
        if (record.value === null) {
          rows.delete(key);
          changed.set(key, null);
        } else {
          try {
            const value = options.decode(record);
            rows.set(key, value);
            changed.set(key, value);
          } catch (error) {
            options.onInvalid?.(record, error);
          }
        }
        positions.set(record.partition, BigInt(record.offset) + 1n);
      }
      if (changed.size > 0) options.onChange?.(changed);
    },
    {
      onProgress: (_topic, partition, nextOffset) => {
        const next = BigInt(nextOffset);
        if (next > (positions.get(partition) ?? 0n)) positions.set(partition, next);
      },
    },
  );

  return {
    get: (key) => rows.get(key),
    values: () => rows.values(),
    entries: () => rows.entries(),
    async waitForCatchUp(timeoutMs) {
      const targets = await options.eventLog.fetchOffsets(options.topic);
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const behind = targets.some(
          (t) =>
            BigInt(t.high) > BigInt(t.low) &&
            (positions.get(t.partition) ?? BigInt(t.low)) < BigInt(t.high),
        );
        if (!behind) return;
        if (Date.now() > deadline)
          throw new Error(`table ${options.topic} did not catch up in ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    },
    stop: () => consumer.stop(),
  };
}
