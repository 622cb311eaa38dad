// The small port over Kinesis that the Kinesis label source needs: list shards, get an iterator
// after a sequence number, read records. The AWS SDK adapter (kinesis-shard-reader.ts) is the
// only code that imports @aws-sdk/client-kinesis.
import type { ShardInfo } from '../core/shard-plan.ts';

export interface ShardRecord {
  readonly sequenceNumber: string;
  readonly partitionKey: string;
  readonly data: Uint8Array;
  /** ApproximateArrivalTimestamp, epoch ms. */
  readonly arrivalTime: number;
}

export interface ShardBatch {
  readonly records: readonly ShardRecord[];
  /** Null once a closed shard has been read to its end. */
  readonly nextIterator: string | null;
  readonly millisBehindLatest: number;
}

/**
 * Kinds of failure: an expired iterator is renewed at once; throttling and any other failed call
 * (`failed`) are retried after a backoff.
 */
export type ShardReadFailure = 'expired-iterator' | 'throttled' | 'failed';

export class ShardReadError extends Error {
  readonly kind: ShardReadFailure;
  constructor(kind: ShardReadFailure, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ShardReadError';
    this.kind = kind;
  }
}

export interface ShardReader {
  readonly stream: string;
  listShards(): Promise<readonly ShardInfo[]>;
  /** An iterator just after `afterSequenceNumber`, or at the oldest record when null. */
  shardIterator(shardId: string, afterSequenceNumber: string | null): Promise<string>;
  getRecords(iterator: string, limit: number): Promise<ShardBatch>;
}
