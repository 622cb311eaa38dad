// Reads a keyed topic once, from the beginning to its current end, into a map of the latest
// value per key (tombstones delete), then stops: a one-shot table read for the CLI.
//
// Why not startTableReader + waitForCatchUp: waitForCatchUp compares the offset after the last
// delivered record with the partition's end offset. When the log ends with a transaction
// marker (the decider writes decisions, statistics and promotions transactionally) the marker
// holds the last offset but is never delivered, so that comparison never succeeds and the wait
// times out. Here a partition also counts as read to its end once a fetch has reported an end
// offset at or beyond the target and then nothing more has arrived for `settleMs`.
import { randomUUID } from 'node:crypto';
import type { EventLog, LogRecord } from '../../lib/event-log/event-log.ts';

export interface SnapshotOptions<T> {
  readonly eventLog: EventLog;
  readonly topic: string;
  readonly decode: (value: Uint8Array) => T;
  /** Called for a record that does not decode; it is skipped. */
  readonly onInvalid?: (record: LogRecord, error: unknown) => void;
  readonly timeoutMs?: number;
  /** Quiet time after the end was reported, for logs that end in transaction markers. */
  readonly settleMs?: number;
}

export async function readSnapshot<T>(options: SnapshotOptions<T>): Promise<Map<string, T>> {
  const { eventLog, topic } = options;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const settleMs = options.settleMs ?? 500;
  const rows = new Map<string, T>();
  const deadline = Date.now() + timeoutMs;
  const targets = (await fetchOffsets(eventLog, topic, deadline))
    .filter((t) => BigInt(t.high) > BigInt(t.low))
    .map((t) => ({ partition: t.partition, high: BigInt(t.high) }));
  if (targets.length === 0) return rows;

  /** Per partition: the offset after the last delivered record. */
  const positions = new Map<number, bigint>();
  /** Partitions a fetch has reported an end offset at or beyond the target for. */
  const endSeen = new Set<number>();
  let lastBatchAt = Date.now();
  const consumer = await eventLog.createConsumer({
    groupId: `dynab-cli-${randomUUID()}`,
    topics: [topic],
    fromBeginning: true,
    maxWaitTimeMs: 50,
  });
  try {
    await consumer.run((batch) => {
      for (const record of batch.records) {
        const key = record.key?.toString() ?? '';
        if (record.value === null) {
          rows.delete(key);
        } else {
          try {
            rows.set(key, options.decode(record.value));
          } catch (error) {
            options.onInvalid?.(record, error);
          }
        }
        positions.set(batch.partition, BigInt(record.offset) + 1n);
      }
      const target = targets.find((t) => t.partition === batch.partition);
      if (target !== undefined && BigInt(batch.highWatermark) >= target.high) {
        endSeen.add(batch.partition);
      }
      lastBatchAt = Date.now();
    });
    for (;;) {
      const settled = Date.now() - lastBatchAt >= settleMs;
      const done = targets.every(
        (t) =>
          (positions.get(t.partition) ?? -1n) >= t.high || (settled && endSeen.has(t.partition)),
      );
      if (done) return rows;
      if (Date.now() > deadline) {
        throw new Error(`could not read topic ${topic} to its end within ${timeoutMs} ms`);
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  } finally {
    await consumer.stop();
  }
}

const isRetriable = (error: unknown): boolean =>
  typeof error === 'object' &&
  error !== null &&
  (error as { retriable?: unknown }).retriable === true;

/**
 * The end offsets, retrying errors the client marks retriable: right after the topics were
 * created the broker may answer "not the leader" for a moment, and the admin client does not
 * retry that itself.
 */
async function fetchOffsets(
  eventLog: EventLog,
  topic: string,
  deadline: number,
): Promise<{ partition: number; low: string; high: string }[]> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await eventLog.fetchOffsets(topic);
    } catch (error) {
      if (!isRetriable(error) || Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.min(1000, 50 * 2 ** attempt)));
    }
  }
}
