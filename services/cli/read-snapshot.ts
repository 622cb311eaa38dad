// Reads a keyed topic once, from the beginning to its current end, into a map of the latest
// value per key (tombstones delete), then stops: a one-shot table read for the CLI.
import type { EventLog, LogRecord } from '../../lib/event-log/event-log.ts';
import { startTableReader } from '../../lib/stream/table-reader.ts';

export interface SnapshotOptions<T> {
  readonly eventLog: EventLog;
  readonly topic: string;
  readonly decode: (value: Uint8Array) => T;
  /** Called for a record that does not decode; it is skipped. */
  readonly onInvalid?: (record: LogRecord, error: unknown) => void;
  readonly timeoutMs?: number;
}

export async function readSnapshot<T>(options: SnapshotOptions<T>): Promise<Map<string, T>> {
  const reader = await startTableReader<T>({
    eventLog: options.eventLog,
    topic: options.topic,
    decode: (record) => options.decode(record.value ?? new Uint8Array()),
    ...(options.onInvalid !== undefined ? { onInvalid: options.onInvalid } : {}),
    groupPrefix: 'dynab-cli',
  });
  try {
    await reader.waitForCatchUp(options.timeoutMs ?? 30_000);
    return new Map(reader.entries());
  } finally {
    await reader.stop();
  }
}
